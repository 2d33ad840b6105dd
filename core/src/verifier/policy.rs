//! The tunable numbers of verification, with where each default comes from.

use std::time::Duration;

use crate::device::SerialLayout;
use crate::otp::TimeStep;

const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: Duration = Duration::from_secs(60);

/// How lenient the verifier is: windows, resync reach, lockout, the
/// replacement flow's timers.
///
/// | field | default | source |
/// | --- | --- | --- |
/// | [`event_window`](Self::event_window) | 10 codes | privacyIDEA `count_window`; RFC 4226 §7.4 (look-ahead parameter *s*) |
/// | [`time_window`](Self::time_window) | ±1 step around the learned drift | RFC 6238 §5.2 (at most one step of network delay) |
/// | [`learn_drift`](Self::learn_drift) | on | RFC 6238 §6 (record the drift in steps and adjust for it on the next validation) |
/// | [`event_resync_window`](Self::event_resync_window) | 1,000 codes | privacyIDEA `SyncWindow` |
/// | [`time_resync_span`](Self::time_resync_span) | ±24 h, in the token's steps | tokenrig (design brief) |
/// | [`max_failures`](Self::max_failures) | 10 consecutive | privacyIDEA failcounter |
/// | [`serial_layout`](Self::serial_layout) | the provider layout: 13 digits, `1` event, `2` time | the seed flows (`../shared/seeds/README.md`); `any` for other deployments |
/// | [`replacement`](Self::replacement) | SMS code 5 min, 3 tries; attempt 15 min; new time token's OTP within ±10 steps | design brief; the attempt bound and the ±10 steps (field drift of 7–8 steps after years unused) are tokenrig's |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How many codes an event token is searched over on validate, forward
    /// only: `next_counter ..= next_counter + event_window - 1`. Also how
    /// far back a correct code is still recognised as a replay.
    pub event_window: u64,
    /// Steps accepted on either side of a time token's expected step
    /// (`step(now) + drift_steps`); also how far a replay is recognised.
    pub time_window: u64,
    /// Whether an accepted time code re-learns the token's drift
    /// (`drift_steps` becomes the accepted step minus the verifier's), so
    /// the window follows a fast or slow quartz for years. Off, only a
    /// two-OTP resync (or a replacement) sets the drift: the recovery path
    /// must still be able to find a token, and `tokenrig simulate` measures
    /// what a verifier that never learns costs.
    pub learn_drift: bool,
    /// How many codes a two-OTP event resync searches, forward only:
    /// `next_counter ..= next_counter + event_resync_window - 1`.
    pub event_resync_window: u64,
    /// How much token time a two-OTP time resync searches on either side
    /// of `now`; converted to steps per token by
    /// [`time_resync_steps`](Self::time_resync_steps).
    pub time_resync_span: Duration,
    /// Consecutive failures that lock a token.
    pub max_failures: u32,
    /// Which serials a user may type where the serial must tell the kind
    /// (the replacement flow): under [`SerialLayout::Provider`] a typed
    /// serial must be in the 13-digit layout and its prefix must match the
    /// inventory's model. Imports, validation and admin commands take any
    /// serial whatever the layout: there the inventory says the kind.
    pub serial_layout: SerialLayout,
    pub replacement: ReplacementPolicy,
}

/// The timers of the device-replacement flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacementPolicy {
    /// An SMS code is accepted while `now < sent_at + sms_code_validity`.
    pub sms_code_validity: Duration,
    /// Wrong SMS codes (typos included) before the attempt fails.
    pub sms_code_tries: u32,
    /// A whole attempt must finish within this, so a half-done replacement
    /// left in an open session cannot be resumed days later.
    pub attempt_validity: Duration,
    /// Steps searched on either side of `now` for the single OTP of a new
    /// time token. Not the ±24 h resync span: one 6-digit code over 2,881
    /// steps would be guessed 0.3 % of the time; ±10 steps (≈ 2e-5 a
    /// guess) still covers the 7–8 steps a fob drifts in years on a shelf.
    pub time_otp_steps: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            event_window: 10,
            time_window: 1,
            learn_drift: true,
            event_resync_window: 1_000,
            time_resync_span: DAY,
            max_failures: 10,
            serial_layout: SerialLayout::Provider,
            replacement: ReplacementPolicy::default(),
        }
    }
}

impl Default for ReplacementPolicy {
    fn default() -> Self {
        ReplacementPolicy {
            sms_code_validity: 5 * MINUTE,
            sms_code_tries: 3,
            attempt_validity: 15 * MINUTE,
            time_otp_steps: 10,
        }
    }
}

impl Policy {
    /// The time resync radius in steps of `step`, rounded up so the whole
    /// span is covered: 1,440 steps of 60 s or 2,880 of 30 s for 24 h.
    pub fn time_resync_steps(&self, step: TimeStep) -> u64 {
        self.time_resync_span.as_secs().div_ceil(step.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = Policy::default();
        assert_eq!(p.event_window, 10);
        assert_eq!(p.time_window, 1);
        assert!(p.learn_drift);
        assert_eq!(p.event_resync_window, 1_000);
        assert_eq!(p.max_failures, 10);
        assert_eq!(p.replacement.sms_code_validity, Duration::from_secs(300));
        assert_eq!(p.replacement.sms_code_tries, 3);
    }

    #[test]
    fn a_day_of_steps_depends_on_the_step() {
        let p = Policy::default();
        assert_eq!(p.time_resync_steps(TimeStep::SECONDS_60), 1_440);
        assert_eq!(p.time_resync_steps(TimeStep::SECONDS_30), 2_880);
        let odd = TimeStep::from_secs(7).expect("non-zero");
        assert_eq!(p.time_resync_steps(odd), 12_343);
    }
}
