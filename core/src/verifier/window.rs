//! Searching a token's codes over a range of counters (or time steps).
//!
//! Each candidate costs one HOTP with the precomputed key and one integer
//! comparison: submitted codes are parsed once, and nothing is allocated per
//! candidate, so a 1,000-code resync stays around a tenth of a millisecond.

use super::state::TokenConfig;

/// The last counter the verifier accepts: after it, `next_counter` would
/// have to be `u64::MAX + 1` (see [`TokenState`](super::TokenState)).
pub(super) const LAST_ACCEPTABLE: u64 = u64::MAX - 1;

/// An inclusive, non-empty range of counters within `0..=LAST_ACCEPTABLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub lo: u64,
    pub hi: u64,
}

impl Span {
    /// `len` counters from `start` forward, cut at the last acceptable one.
    pub fn forward(start: u64, len: u64) -> Option<Span> {
        let hi = start
            .saturating_add(len.checked_sub(1)?)
            .min(LAST_ACCEPTABLE);
        (start <= hi).then_some(Span { lo: start, hi })
    }

    /// The `len` counters just before `end` (exclusive), if any.
    pub fn before(end: u64, len: u64) -> Option<Span> {
        let hi = end.checked_sub(1)?.min(LAST_ACCEPTABLE);
        let lo = end.saturating_sub(len);
        (len > 0 && lo <= hi).then_some(Span { lo, hi })
    }

    /// `centre - radius ..= centre + radius`, clipped to the acceptable
    /// counters. `centre` is wide because it is a step plus a signed drift.
    pub fn around(centre: i128, radius: u64) -> Option<Span> {
        let radius = i128::from(radius);
        let lo = (centre - radius).max(0);
        let hi = (centre + radius).min(i128::from(LAST_ACCEPTABLE));
        let lo = u64::try_from(lo).ok()?;
        let hi = u64::try_from(hi).ok()?;
        (lo <= hi).then_some(Span { lo, hi })
    }

    /// The counters in ascending order.
    pub fn ascending(self) -> std::ops::RangeInclusive<u64> {
        self.lo..=self.hi
    }

    /// The counters ordered by distance from `centre`, the earlier first on
    /// a tie: when two steps show the same code, the one nearer the expected
    /// step is the likelier.
    pub fn nearest_first(self, centre: i128) -> impl Iterator<Item = u64> {
        let (lo, hi) = (i128::from(self.lo), i128::from(self.hi));
        let reach = (centre - lo).max(hi - centre).max(0);
        (0..=reach)
            .flat_map(move |d| [Some(centre - d), (d > 0).then_some(centre + d)])
            .flatten()
            .filter(move |c| (lo..=hi).contains(c))
            .filter_map(|c| u64::try_from(c).ok())
    }
}

/// Where a single code was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Single {
    /// At this unspent counter.
    Fresh(u64),
    /// Only at spent counters.
    Spent,
    NotFound,
}

/// Looks for `value` over `counters`, preferring the first unspent match.
pub(super) fn find_single(
    config: &TokenConfig,
    counters: impl Iterator<Item = u64>,
    spent_below: u64,
    value: u32,
) -> Single {
    let mut spent = false;
    for counter in counters {
        if config.code_at(counter).value() == value {
            if counter >= spent_below {
                return Single::Fresh(counter);
            }
            spent = true;
        }
    }
    if spent {
        Single::Spent
    } else {
        Single::NotFound
    }
}

/// Where two codes, meant to be consecutive, were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pair {
    /// `first` at this counter and `second` at the next, both unspent.
    Fresh(u64),
    /// Consecutive, but the first is spent.
    Spent,
    /// `second` immediately before `first`, both unspent.
    Reversed,
    /// Both present among the unspent counters, not one after the other.
    Apart,
    /// At least one of them is not among the unspent counters.
    NotFound,
}

/// Scans `span` once, ascending, computing each code once, for `first`
/// followed immediately by `second`. Returns at the first unspent pair.
pub(super) fn find_pair(
    config: &TokenConfig,
    span: Span,
    spent_below: u64,
    first: u32,
    second: u32,
) -> Pair {
    let (mut spent, mut reversed, mut seen_first, mut seen_second) = (false, false, false, false);
    let mut previous: Option<u32> = None;
    for counter in span.ascending() {
        let code = config.code_at(counter).value();
        if let Some(prev) = previous {
            // `previous` is set only after the first iteration: counter >= 1.
            let prev_counter = counter - 1;
            let prev_fresh = prev_counter >= spent_below;
            if prev == first && code == second {
                if prev_fresh {
                    return Pair::Fresh(prev_counter);
                }
                spent = true;
            }
            reversed |= prev_fresh && prev == second && code == first;
        }
        if counter >= spent_below {
            seen_first |= code == first;
            seen_second |= code == second;
        }
        previous = Some(code);
    }
    if spent {
        Pair::Spent
    } else if reversed {
        Pair::Reversed
    } else if seen_first && seen_second {
        Pair::Apart
    } else {
        Pair::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_spans_stop_short_of_u64_max() {
        assert_eq!(Span::forward(5, 10), Some(Span { lo: 5, hi: 14 }));
        assert_eq!(Span::forward(5, 0), None);
        assert_eq!(
            Span::forward(u64::MAX - 3, 10),
            Some(Span {
                lo: u64::MAX - 3,
                hi: LAST_ACCEPTABLE
            })
        );
        assert_eq!(Span::forward(u64::MAX, 10), None);
    }

    #[test]
    fn before_spans_stop_at_zero() {
        assert_eq!(Span::before(15, 10), Some(Span { lo: 5, hi: 14 }));
        assert_eq!(Span::before(3, 10), Some(Span { lo: 0, hi: 2 }));
        assert_eq!(Span::before(0, 10), None);
        assert_eq!(Span::before(3, 0), None);
    }

    #[test]
    fn around_clips_both_ends() {
        assert_eq!(Span::around(100, 1), Some(Span { lo: 99, hi: 101 }));
        assert_eq!(Span::around(0, 2), Some(Span { lo: 0, hi: 2 }));
        assert_eq!(Span::around(-5, 2), None);
        assert_eq!(Span::around(-2, 2), Some(Span { lo: 0, hi: 0 }));
        let top = i128::from(u64::MAX);
        assert_eq!(
            Span::around(top, 1),
            Some(Span {
                lo: u64::MAX - 1,
                hi: LAST_ACCEPTABLE
            })
        );
    }

    #[test]
    fn nearest_first_alternates_outward() {
        let order: Vec<u64> = Span { lo: 8, hi: 12 }.nearest_first(10).collect();
        assert_eq!(order, [10, 9, 11, 8, 12]);
        let clipped: Vec<u64> = Span { lo: 0, hi: 2 }.nearest_first(0).collect();
        assert_eq!(clipped, [0, 1, 2]);
        let off_centre: Vec<u64> = Span { lo: 0, hi: 1 }.nearest_first(-1).collect();
        assert_eq!(off_centre, [0, 1]);
    }
}
