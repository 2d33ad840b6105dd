//! A per-source rate limit on the decision routes and on RADIUS: how fast
//! one source may guess.
//!
//! Lockout bounds the guesses on one token (`Policy::max_failures`), but a
//! guesser spreading its tries over many tokens, or stopping one short of
//! the limit until the owner's next login resets the count, is bounded
//! only by how fast it may ask. Each source IP has a token bucket: `rate`
//! requests a second, `burst` at once. A request over it is answered 429
//! with `Retry-After` and reason `rate_limited`, before its body is read,
//! and decides nothing. `docs/security.md` turns the rate into a bound.
//!
//! Over RADIUS the packet comes from a NAS speaking for many users, so the
//! source there is the station the NAS names (`server/radius.rs` keys the
//! same [`Limiter`] by NAS and Calling-Station-Id, else User-Name).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// The stable reason code of a refusal for going too fast.
pub const RATE_LIMITED: &str = "rate_limited";

/// Sources remembered at most; past it, full buckets (sources idle long
/// enough to have their whole burst back) are forgotten, and while every
/// remembered source is still busy a new one is refused: a flood of
/// addresses can neither grow the map without end nor reset anyone's
/// bucket. IPv6 sources count by /64, the block one subscriber holds.
const MAX_SOURCES: usize = 100_000;

/// The key an HTTP source is counted under.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let block = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(block.into())
            }
        },
    }
}

/// How fast one source may ask: `per_second` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    /// `R` or `R/B`: R requests a second, bursts of B (default 2 × R, at
    /// least 1).
    fn from_str(s: &str) -> Result<RateLimit, String> {
        let (rate, burst) = match s.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (s, None),
        };
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| {
                    format!("{what} {text:?} is not a positive number (expected R or R/BURST)")
                })
        };
        let per_second = number(rate, "rate")?;
        let burst = match burst {
            Some(b) => number(b, "burst")?,
            None => (2.0 * per_second).max(1.0),
        };
        if burst < 1.0 {
            return Err(format!("burst {burst} lets no request through: at least 1"));
        }
        Ok(RateLimit { per_second, burst })
    }
}

/// Marks a response refused for the rate, for the metrics layer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limited;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every source seen, by the key a source is counted under.
pub(super) struct Limiter<K = IpAddr> {
    limit: RateLimit,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> Limiter<K> {
    pub(super) fn new(limit: RateLimit) -> Limiter<K> {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request's token for `source` at `now`: `Ok`, or the
    /// seconds until one is back.
    pub(super) fn take(&self, source: K, now: Instant) -> Result<(), f64> {
        let RateLimit { per_second, burst } = self.limit;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(&source) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst
            });
            if buckets.len() >= MAX_SOURCES {
                return Err(1.0 / per_second);
            }
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - bucket.tokens) / per_second)
        }
    }
}

/// Middleware on the decision routes, outside admission: a source over its
/// rate is refused before it can take a place in the queue.
pub(super) async fn limit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &state.rate else {
        return next.run(request).await;
    };
    match limiter.take(source_key(peer.ip()), Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            // Whole seconds, rounded up: never a hint that is too early.
            let seconds = wait.ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
            let mut response = ApiError {
                retry_after: Some(seconds),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests from this address; retry later",
                )
                .with_reason(RATE_LIMITED)
            }
            .into_response();
            response.extensions_mut().insert(Limited);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(s: &str) -> Limiter<IpAddr> {
        Limiter::new(s.parse().expect("a rate"))
    }

    #[test]
    fn a_burst_then_the_rate() {
        let l = limiter("2/3");
        let t = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(l.take(ip, t), Ok(()));
        }
        let wait = l.take(ip, t).expect_err("burst spent");
        assert!((wait - 0.5).abs() < 1e-9, "{wait}");
        // Half a second later one request is back, not two.
        let later = t + Duration::from_millis(500);
        assert_eq!(l.take(ip, later), Ok(()));
        assert!(l.take(ip, later).is_err());
        // Sources are counted apart.
        assert_eq!(l.take("192.0.2.2".parse().expect("ip"), later), Ok(()));
    }

    #[test]
    fn rates_parse_or_say_why() {
        assert_eq!(
            "5".parse::<RateLimit>(),
            Ok(RateLimit {
                per_second: 5.0,
                burst: 10.0
            })
        );
        assert_eq!(
            "0.1".parse::<RateLimit>(),
            Ok(RateLimit {
                per_second: 0.1,
                burst: 1.0
            })
        );
        for bad in ["", "0", "-1", "x", "5/0", "5/0.5", "NaN"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_flood_of_sources_is_bounded_and_resets_nobody() {
        let l = limiter("1/1");
        let t = Instant::now();
        let first: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(l.take(first, t), Ok(()));
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let _ = l.take(IpAddr::from(((i + 1) << 8).to_be_bytes()), t);
        }
        let held = l.buckets.lock().expect("lock").len();
        assert_eq!(held, MAX_SOURCES);
        // The flood did not give the first source its burst back.
        assert!(l.take(first, t).is_err());
        // Once the flood's buckets refill, new sources get in again.
        let later = t + Duration::from_secs(2);
        assert_eq!(l.take("203.0.113.9".parse().expect("ip"), later), Ok(()));
    }

    #[test]
    fn ipv6_sources_count_by_64() {
        let l = limiter("1/1");
        let t = Instant::now();
        assert_eq!(
            l.take(source_key("2001:db8:1:2::1".parse().expect("ip")), t),
            Ok(())
        );
        assert!(
            l.take(source_key("2001:db8:1:2:ffff::9".parse().expect("ip")), t)
                .is_err()
        );
        assert_eq!(
            l.take(source_key("2001:db8:1:3::1".parse().expect("ip")), t),
            Ok(())
        );
        // An IPv4 client through a dual-stack socket is its IPv4 address.
        assert_eq!(
            l.take(source_key("192.0.2.1".parse().expect("ip")), t),
            Ok(())
        );
        assert!(
            l.take(source_key("::ffff:192.0.2.1".parse().expect("ip")), t)
                .is_err()
        );
    }
}
