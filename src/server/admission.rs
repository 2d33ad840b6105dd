//! Admission at the door: how many decision requests (validate, resync,
//! the replacement steps) may be inside the server at once.
//!
//! The store queue is bounded (`pool.rs`), but above saturation that bound
//! alone does not bound latency: requests pile up before the queue, read,
//! parsed and waiting for a core, and each one admitted makes the others
//! wait longer. So the same number that sizes the queue also caps the
//! requests in flight; one past it is refused at once (503 `overloaded`
//! with `Retry-After`) before its body is read, which costs the server
//! almost nothing and keeps an admitted request's wait near
//! `limit / throughput` however many clients push.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::AppState;
use super::error::ApiError;
use super::pool::PoolError;

/// The permits decision requests hold while inside the server.
pub(super) struct Admission {
    permits: Arc<Semaphore>,
}

impl Admission {
    pub(super) fn new(limit: usize) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(limit)),
        }
    }
}

/// Middleware on the decision routes: a permit for the request's whole
/// life, or the overload answer at once.
pub(super) async fn admit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match Arc::clone(&state.admission.permits).try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::from(PoolError::Overloaded).into_response(),
    }
}
