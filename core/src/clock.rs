//! Time as an input: the only source of "now" below the CLI.
//!
//! TOTP codes, drift windows and lockout timers all depend on the time, so
//! every layer takes a [`Clock`] instead of reading the wall clock. Tests and
//! simulations hand in a [`VirtualClock`] and can age a token by years in
//! microseconds, deterministically; only the CLI builds a [`SystemClock`].
//! A time token's own quartz clock is a [`DriftingClock`] over either of them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point in time: nanoseconds since the Unix epoch.
///
/// A `u64` of nanoseconds reaches the year 2554, far beyond any token's
/// life, and keeps arithmetic integer and exact (TOTP steps, drift).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixTime(u64);

impl UnixTime {
    pub const EPOCH: UnixTime = UnixTime(0);
    /// The last representable instant, in the year 2554.
    pub const MAX: UnixTime = UnixTime(u64::MAX);

    /// `secs` seconds after the epoch; saturates at [`UnixTime::MAX`]
    /// (seconds past 2554). Use [`UnixTime::checked_from_secs`] for input
    /// that may be out of range.
    pub const fn from_secs(secs: u64) -> UnixTime {
        UnixTime(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// `secs` seconds after the epoch, or `None` past the year 2554.
    pub const fn checked_from_secs(secs: u64) -> Option<UnixTime> {
        match secs.checked_mul(NANOS_PER_SEC) {
            Some(nanos) => Some(UnixTime(nanos)),
            None => None,
        }
    }

    pub const fn from_nanos(nanos: u64) -> UnixTime {
        UnixTime(nanos)
    }

    /// Whole seconds since the epoch, rounded down: the Unix time TOTP uses.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The nanoseconds past the last whole second.
    pub const fn subsec_nanos(self) -> u32 {
        (self.0 % NANOS_PER_SEC) as u32
    }

    pub fn checked_add(self, d: Duration) -> Option<UnixTime> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(UnixTime)
    }

    pub fn saturating_add(self, d: Duration) -> UnixTime {
        self.checked_add(d).unwrap_or(UnixTime::MAX)
    }

    pub fn checked_sub(self, d: Duration) -> Option<UnixTime> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_sub(nanos).map(UnixTime)
    }

    /// How long after `earlier` this instant is; `None` if it is before.
    pub fn duration_since(self, earlier: UnixTime) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_nanos)
    }
}

impl fmt::Display for UnixTime {
    /// Seconds with nine decimals, e.g. `1234567890.000000000s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}s", self.as_secs(), self.subsec_nanos())
    }
}

/// Where time comes from. `Send + Sync` so a clock can be shared by the
/// tokens of a fleet and a server's tasks; `Debug` so the types holding one
/// can derive it.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> UnixTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The operating system's wall clock. The one place `SystemTime::now()` is
/// called; a wall clock set before 1970 reads as the epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        UnixTime::EPOCH.saturating_add(since_epoch)
    }
}

/// A clock that moves only when told to. Clones are handles to the same
/// time, so a test can keep one and give another to the tokens under test.
#[derive(Clone)]
pub struct VirtualClock {
    nanos: Arc<AtomicU64>,
}

impl VirtualClock {
    pub fn new(start: UnixTime) -> Self {
        VirtualClock {
            nanos: Arc::new(AtomicU64::new(start.as_nanos())),
        }
    }

    /// Moves time forward by `d`, saturating at [`UnixTime::MAX`]: never
    /// backwards, so code that expects monotonic time can be aged safely.
    pub fn advance(&self, d: Duration) {
        let step = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // Release/Acquire: a thread that reads the new time also sees what
        // the advancing thread did before advancing it.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(step))
            });
    }

    /// Jumps to `t`, which may be in the past: this models a wall clock
    /// being reset, and is how tests check that a reset is survived.
    pub fn set(&self, t: UnixTime) {
        self.nanos.store(t.as_nanos(), Ordering::Release);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VirtualClock").field(&self.now()).finish()
    }
}

const PPB_PER_PPM: f64 = 1_000.0;
const PPB_PER_UNIT: i128 = 1_000_000_000;

/// How fast a quartz clock runs relative to true time, in parts per billion.
///
/// Given in ppm (how datasheets state it) but stored as an integer number of
/// ppb, so the drift of a clock after any time is exact integer arithmetic
/// and the same on every machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Drift {
    ppb: i64,
}

/// Why a drift was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriftError {
    #[error("drift must be a finite number of ppm")]
    NotFinite,
    #[error("drift of {0} ppm is outside ±1000000 ppm (a clock that stops or runs backwards)")]
    OutOfRange(f64),
}

impl Drift {
    pub const ZERO: Drift = Drift { ppb: 0 };
    /// ±1 000 000 ppm: at -1e6 ppm the clock stands still; beyond it, time
    /// would run backwards, which no quartz does.
    pub const MAX_PPM: f64 = 1_000_000.0;

    /// A drift in ppm (positive: the clock runs fast), rounded to the
    /// nearest ppb.
    pub fn from_ppm(ppm: f64) -> Result<Drift, DriftError> {
        if !ppm.is_finite() {
            return Err(DriftError::NotFinite);
        }
        if ppm.abs() > Self::MAX_PPM {
            return Err(DriftError::OutOfRange(ppm));
        }
        // In range: |ppm * 1000| <= 1e9, exactly representable as i64.
        Ok(Drift {
            ppb: (ppm * PPB_PER_PPM).round() as i64,
        })
    }

    pub fn as_ppb(self) -> i64 {
        self.ppb
    }

    pub fn as_ppm(self) -> f64 {
        self.ppb as f64 / PPB_PER_PPM
    }
}

/// How far a clock was off when it was set: positive means ahead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClockOffset {
    nanos: i64,
}

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset { nanos: 0 };

    pub const fn from_nanos(nanos: i64) -> ClockOffset {
        ClockOffset { nanos }
    }

    /// Saturates at about ±292 years, far beyond any real offset.
    pub const fn from_secs(secs: i64) -> ClockOffset {
        ClockOffset {
            nanos: secs.saturating_mul(NANOS_PER_SEC as i64),
        }
    }

    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }
}

/// A token's own quartz clock: it was set `offset` away from the base clock
/// at `reference`, and since then gains `drift` of every elapsed nanosecond.
///
/// `now = reference + offset + elapsed + elapsed * ppb / 10^9`, where
/// `elapsed` is the base clock's time since `reference` (negative if the
/// base is set back before it); the drift term is rounded toward zero and the
/// result clamped to the representable range.
#[derive(Clone, Debug)]
pub struct DriftingClock {
    base: Arc<dyn Clock>,
    reference: UnixTime,
    drift: Drift,
    offset: ClockOffset,
}

impl DriftingClock {
    /// A clock that starts drifting now, by the base clock.
    pub fn new(base: Arc<dyn Clock>, drift: Drift, offset: ClockOffset) -> Self {
        let reference = base.now();
        Self::with_reference(base, drift, offset, reference)
    }

    /// A clock that has been drifting since `reference` (e.g. the day the
    /// token left the factory).
    pub fn with_reference(
        base: Arc<dyn Clock>,
        drift: Drift,
        offset: ClockOffset,
        reference: UnixTime,
    ) -> Self {
        DriftingClock {
            base,
            reference,
            drift,
            offset,
        }
    }

    pub fn drift(&self) -> Drift {
        self.drift
    }

    pub fn offset(&self) -> ClockOffset {
        self.offset
    }

    pub fn reference(&self) -> UnixTime {
        self.reference
    }
}

impl Clock for DriftingClock {
    fn now(&self) -> UnixTime {
        // i128 holds every intermediate: |elapsed| < 2^64, |ppb| <= 10^9 < 2^30.
        let reference = i128::from(self.reference.as_nanos());
        let elapsed = i128::from(self.base.now().as_nanos()) - reference;
        let gained = elapsed * i128::from(self.drift.ppb) / PPB_PER_UNIT;
        let nanos = reference + i128::from(self.offset.nanos) + elapsed + gained;
        let clamped = nanos.clamp(0, i128::from(u64::MAX));
        UnixTime::from_nanos(u64::try_from(clamped).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    fn drifting(start: UnixTime, ppm: f64, offset: ClockOffset) -> (VirtualClock, DriftingClock) {
        let base = VirtualClock::new(start);
        let drift = Drift::from_ppm(ppm).expect("test drift is valid");
        let clock = DriftingClock::new(Arc::new(base.clone()), drift, offset);
        (base, clock)
    }

    #[test]
    fn unix_time_conversions_and_display() {
        let t = UnixTime::from_secs(1_234_567_890);
        assert_eq!(t.as_nanos(), 1_234_567_890_000_000_000);
        assert_eq!(t.to_string(), "1234567890.000000000s");
        let later = t.saturating_add(Duration::from_millis(1500));
        assert_eq!(later.as_secs(), 1_234_567_891);
        assert_eq!(later.to_string(), "1234567891.500000000s");
        assert_eq!(later.duration_since(t), Some(Duration::from_millis(1500)));
        assert_eq!(t.duration_since(later), None);
        assert_eq!(UnixTime::from_secs(u64::MAX), UnixTime::MAX);
        assert_eq!(UnixTime::checked_from_secs(u64::MAX), None);
        assert_eq!(UnixTime::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(UnixTime::MAX.saturating_add(Duration::MAX), UnixTime::MAX);
        assert_eq!(UnixTime::EPOCH.checked_sub(Duration::from_nanos(1)), None);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > UnixTime::from_secs(1_577_836_800));
    }

    #[test]
    fn virtual_clock_clones_share_time() {
        let clock = VirtualClock::new(UnixTime::from_secs(100));
        let other = clock.clone();
        clock.advance(Duration::from_secs(5));
        assert_eq!(other.now(), UnixTime::from_secs(105));
        other.set(UnixTime::from_secs(7));
        assert_eq!(clock.now(), UnixTime::from_secs(7));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), UnixTime::MAX);
        assert_eq!(
            format!("{other:?}"),
            "VirtualClock(UnixTime(18446744073709551615))"
        );
    }

    #[test]
    fn twenty_ppm_fast_gains_630_72_seconds_a_year() {
        let start = UnixTime::from_secs(1_700_000_000);
        let (base, clock) = drifting(start, 20.0, ClockOffset::ZERO);
        base.advance(YEAR);
        let expected = start
            .saturating_add(YEAR)
            .saturating_add(Duration::from_millis(630_720));
        assert_eq!(clock.now(), expected);
    }

    #[test]
    fn negative_drift_loses_time() {
        let start = UnixTime::from_secs(1_700_000_000);
        let (base, clock) = drifting(start, -15.5, ClockOffset::ZERO);
        base.advance(YEAR);
        // 31 536 000 s * 15.5e-6 = 488.808 s slow.
        let expected = start
            .saturating_add(YEAR)
            .checked_sub(Duration::from_millis(488_808));
        assert_eq!(Some(clock.now()), expected);
    }

    #[test]
    fn offset_applies_from_the_start_and_clamps_at_the_epoch() {
        let start = UnixTime::from_secs(1_000);
        let (_, ahead) = drifting(start, 0.0, ClockOffset::from_secs(90));
        assert_eq!(ahead.now(), UnixTime::from_secs(1_090));
        let (_, behind) = drifting(start, 0.0, ClockOffset::from_secs(-5_000));
        assert_eq!(behind.now(), UnixTime::EPOCH);
    }

    #[test]
    fn explicit_reference_counts_drift_from_then() {
        let base = VirtualClock::new(UnixTime::from_secs(2_000_000));
        let clock = DriftingClock::with_reference(
            Arc::new(base),
            Drift::from_ppm(500.0).expect("valid"),
            ClockOffset::ZERO,
            UnixTime::from_secs(1_000_000),
        );
        assert_eq!(clock.now(), UnixTime::from_secs(2_000_500));
    }

    #[test]
    fn drift_outside_the_physical_range_is_refused() {
        assert_eq!(Drift::from_ppm(f64::NAN), Err(DriftError::NotFinite));
        assert_eq!(Drift::from_ppm(f64::INFINITY), Err(DriftError::NotFinite));
        assert_eq!(
            Drift::from_ppm(-1_000_000.5),
            Err(DriftError::OutOfRange(-1_000_000.5))
        );
        assert_eq!(
            Drift::from_ppm(-1_000_000.0).map(Drift::as_ppb),
            Ok(-1_000_000_000)
        );
        assert_eq!(Drift::from_ppm(0.0004).map(Drift::as_ppb), Ok(0));
        assert_eq!(Drift::from_ppm(2.5).map(Drift::as_ppm), Ok(2.5));
    }

    proptest! {
        #[test]
        fn zero_drift_follows_the_base(start in 0u64..1 << 62, steps in prop::collection::vec(0u64..1 << 40, 0..20)) {
            let (base, clock) = drifting(UnixTime::from_nanos(start), 0.0, ClockOffset::ZERO);
            for step in steps {
                base.advance(Duration::from_nanos(step));
                prop_assert_eq!(clock.now(), base.now());
            }
        }

        #[test]
        fn drifting_time_never_runs_backwards(
            ppb in -1_000_000_000i64..=1_000_000_000,
            steps in prop::collection::vec(0u64..1 << 50, 1..20),
        ) {
            let base = VirtualClock::new(UnixTime::from_secs(1_700_000_000));
            let drift = Drift::from_ppm(ppb as f64 / 1_000.0).expect("in range");
            let clock = DriftingClock::new(Arc::new(base.clone()), drift, ClockOffset::ZERO);
            let mut last = clock.now();
            for step in steps {
                base.advance(Duration::from_nanos(step));
                let now = clock.now();
                prop_assert!(now >= last);
                last = now;
            }
        }
    }
}
