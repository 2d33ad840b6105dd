//! `GET /metrics`: Prometheus text exposition (prometheus-client).
//!
//! Requests by route and status, decisions by action, outcome and reason,
//! RADIUS packets by result and reason, requests shed because a store queue was full, and a latency histogram. Labels are route templates and reason codes,
//! never user input, so the label sets stay small and hold no secret.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RadiusLabels {
    result: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    action: &'static str,
    outcome: &'static str,
    reason: &'static str,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    shed: Family<RouteLabels, Counter>,
    rate_limited: Family<RouteLabels, Counter>,
    radius: Family<RadiusLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

/// 50 µs to ~26 s, doubling: a request refused at once and one that waited
/// out an overloaded queue both land in a bucket of their own.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

impl Metrics {
    pub fn new() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        let shed = Family::<RouteLabels, Counter>::default();
        let rate_limited = Family::<RouteLabels, Counter>::default();
        let radius = Family::<RadiusLabels, Counter>::default();
        let latency: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let mut registry = Registry::with_prefix("tokenrig");
        registry.register(
            "http_requests",
            "HTTP requests by route template and status",
            requests.clone(),
        );
        registry.register(
            "decisions",
            "Verifier decisions by action (validate, resync), outcome and reason",
            decisions.clone(),
        );
        registry.register(
            "shed_requests",
            "Requests refused (503, reason overloaded) because a store queue was full, by route template",
            shed.clone(),
        );
        registry.register(
            "rate_limited_requests",
            "Requests refused (429, reason rate_limited) because their source went over --rate-limit, by route template",
            rate_limited.clone(),
        );
        registry.register(
            "radius_packets",
            "RADIUS Access-Requests by result (accept, reject, resent: a retransmission answered from the cache, dropped) and reason (the reason code, or why it was dropped)",
            radius.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response inside the server, by route template and status",
            latency.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            decisions,
            shed,
            rate_limited,
            radius,
            latency,
        }
    }

    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn shed(&self, route: &str) {
        self.shed
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .inc();
    }

    pub fn rate_limited(&self, route: &str) {
        self.rate_limited
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .inc();
    }

    pub fn radius(&self, result: &'static str, reason: &'static str) {
        self.radius
            .get_or_create(&RadiusLabels { result, reason })
            .inc();
    }

    pub fn decision(&self, action: &'static str, accepted: bool, reason: &'static str) {
        self.decisions
            .get_or_create(&DecisionLabels {
                action,
                outcome: if accepted { "accepted" } else { "rejected" },
                reason,
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
