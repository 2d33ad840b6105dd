//! `tokenrig serve`: the verifier as an HTTP/JSON service (axum on tokio).
//!
//! Routes are listed once, in [`ROUTES`], and documented in
//! `openapi/tokenrig.json`; a test holds the two equal. Handlers parse and
//! check input, then hand the work to a [`pool::Pool`] of store workers:
//! `fast` (validate, resync, reads; batched commits on SQLite) and `slow`
//! (anything that hashes a password or imports a file; never batched, so a
//! 50 ms argon2 never holds the SQLite write lock).
//!
//! With `--radius`, `radius.rs` answers RADIUS Access-Requests on UDP
//! through the same pools and `Service` calls as `/v1/validate`.
//!
//! The server reads the wall clock here, at its edge (like the CLI), and
//! passes `now` down; nothing below does.

mod admin;
mod admission;
mod api;
mod error;
mod metrics;
pub mod pool;
mod radius;
mod rate;
mod replacement;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock, UnixTime, VirtualClock};
use crate::service::{Dispatcher, Retry, Service};
use crate::sms::SmsGateway;
use crate::store::{SecretSource, Store, StoreError, StoreUrl};
use crate::verifier::Policy;

pub use error::ApiError;
use metrics::Metrics;
use pool::{Batching, Pool};
pub use radius::{Clients, ClientsError, RadiusListener};
pub use rate::RateLimit;

/// One route: the router is built from [`route_table`] alone, so the list
/// [`routes`] returns (and the OpenAPI test checks) is the router.
struct Route {
    method: &'static str,
    path: &'static str,
    handler: MethodRouter<Arc<AppState>>,
    access: Access,
}

/// Who may call a route, and whether it passes [`admission`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Health and metrics: never refused for load, so overload stays visible.
    Probe,
    /// Decisions anyone may ask for, admitted up to the in-flight limit.
    Decision,
    /// The admin API, behind the bearer token.
    Admin,
}

fn route_table() -> Vec<Route> {
    let route = |access| {
        move |method, path, handler| Route {
            method,
            path,
            handler,
            access,
        }
    };
    let (probe, open, admin) = (
        route(Access::Probe),
        route(Access::Decision),
        route(Access::Admin),
    );
    vec![
        probe("GET", "/healthz", get(healthz)),
        probe("GET", "/metrics", get(metrics)),
        open("POST", "/v1/validate", post(api::validate)),
        open("POST", "/v1/resync", post(api::resync)),
        admin(
            "POST",
            "/v1/admin/import",
            post(admin::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        ),
        admin("POST", "/v1/admin/users", post(admin::add_user)),
        admin(
            "POST",
            "/v1/admin/users/{user}/devices",
            post(admin::assign),
        ),
        admin(
            "POST",
            "/v1/admin/tokens/{serial}/unlock",
            post(admin::unlock),
        ),
        admin("GET", "/v1/admin/tokens", get(admin::tokens)),
        admin("GET", "/v1/admin/audit", get(admin::audit)),
        admin("GET", "/v1/admin/sms-outbox", get(replacement::outbox)),
        admin("GET", "/v1/admin/clock", get(admin::clock)),
        admin("POST", "/v1/admin/clock", post(admin::set_clock)),
        open("POST", "/v1/replacements", post(replacement::start)),
        open(
            "POST",
            "/v1/replacements/{id}/sms-code",
            post(replacement::sms_code),
        ),
        open(
            "POST",
            "/v1/replacements/{id}/device",
            post(replacement::device),
        ),
        open(
            "POST",
            "/v1/replacements/{id}/otps",
            post(replacement::otps),
        ),
    ]
}

/// Every route served, as (method, path template), in table order.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    route_table().iter().map(|r| (r.method, r.path)).collect()
}

/// JSON bodies are small; a bigger one is refused before it is read whole.
const JSON_BODY_LIMIT: usize = 16 * 1024;
/// Inventory files can hold many thousand tokens.
pub const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// How `serve` is set up.
pub struct ServeConfig {
    pub db_url: String,
    pub secret: SecretSource,
    pub policy: Policy,
    /// `None`: the admin API refuses every request.
    pub admin_token: Option<Zeroizing<String>>,
    /// Store workers for validate/resync; default by backend.
    pub fast_workers: Option<usize>,
    /// Jobs that may wait for those workers before requests are refused
    /// with 503; default [`pool::default_queue_depth`].
    pub queue_depth: Option<usize>,
    /// How fast one source may ask for decisions; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Where SMS codes go: `None` keeps them in the store's outbox (its
    /// destination); a gateway gets them from a dispatcher thread.
    pub sms: Option<SmsDelivery>,
    /// Let `POST /v1/admin/clock` set the time decisions are made at. For
    /// test rigs only: anyone with the admin token could replay codes.
    pub test_clock: bool,
}

/// What every handler shares.
pub struct AppState {
    admission: admission::Admission,
    rate: Option<rate::Limiter>,
    fast: Pool,
    slow: Pool,
    admin_token: Option<Zeroizing<String>>,
    metrics: Metrics,
    clock: ServerClock,
    _dispatcher: Option<Dispatcher>,
    _checkpointer: Option<Checkpointer>,
}

/// A gateway and how the dispatcher retries it.
pub struct SmsDelivery {
    pub gateway: Arc<dyn SmsGateway>,
    pub retry: Retry,
}

/// SQLite only: a thread that checkpoints the write-ahead log every
/// [`CHECKPOINT_EVERY`], so the request workers (which defer theirs) never
/// stall a batch on one. Stops when dropped.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

impl Checkpointer {
    fn start(store: Store) -> Result<Checkpointer, StoreError> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".to_owned())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) = store.checkpoint() {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
                // One last time, so a clean shutdown leaves a short log.
                let _ = store.checkpoint();
            })
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the server decides at: the wall clock, or with `--test-clock` a
/// clock the admin API sets (conformance runs that age tokens by years).
enum ServerClock {
    System,
    Test(VirtualClock),
}

impl AppState {
    fn now(&self) -> UnixTime {
        match &self.clock {
            ServerClock::System => SystemClock.now(),
            ServerClock::Test(clock) => clock.now(),
        }
    }
}

/// Opens the store pools (so a bad URL, key or schema fails before the
/// socket is bound) and returns the shared state.
pub fn open(config: ServeConfig) -> Result<Arc<AppState>, StoreError> {
    let sqlite = matches!(StoreUrl::parse(&config.db_url)?, StoreUrl::Sqlite(_));
    // SQLite has one writer at a time: one fast worker batching commits.
    // PostgreSQL takes writers in parallel and groups their WAL flushes.
    let (fast_workers, batching) = if sqlite {
        (config.fast_workers.unwrap_or(1), Batching::UpTo(512))
    } else {
        (config.fast_workers.unwrap_or(8), Batching::Off)
    };
    // The dispatcher on its own connection, on the wall clock: retries
    // are about a real network, whatever time decisions are made at.
    let (dispatcher, wake) = match config.sms {
        Some(sms) => {
            let store = Store::open_with(&config.db_url, &config.secret)?;
            let (dispatcher, wake) =
                Dispatcher::start(store, sms.gateway, Arc::new(SystemClock), sms.retry)?;
            (Some(dispatcher), Some(wake))
        }
        None => (None, None),
    };
    let open = || {
        let store = Store::open_with(&config.db_url, &config.secret)?;
        store.defer_checkpoints()?;
        let service = Service::new(store, config.policy.clone());
        Ok(match &wake {
            Some(wake) => service.dispatching(wake.clone()),
            None => service,
        })
    };
    let fast_depth = config
        .queue_depth
        .unwrap_or_else(|| pool::default_queue_depth(fast_workers, batching));
    let fast = Pool::start("store-fast", fast_workers, batching, fast_depth, open)?;
    let slow_depth = pool::default_queue_depth(2, Batching::Off);
    let slow = Pool::start("store-slow", 2, Batching::Off, slow_depth, open)?;
    let checkpointer = if sqlite {
        Some(Checkpointer::start(Store::open_with(
            &config.db_url,
            &config.secret,
        )?)?)
    } else {
        None
    };
    Ok(Arc::new(AppState {
        admission: admission::Admission::new(fast_depth),
        rate: config.rate_limit.map(rate::Limiter::new),
        fast,
        slow,
        admin_token: config.admin_token,
        metrics: Metrics::new(),
        clock: if config.test_clock {
            tracing::warn!("--test-clock: the admin API sets the time decisions are made at");
            ServerClock::Test(VirtualClock::new(SystemClock.now()))
        } else {
            ServerClock::System
        },
        _dispatcher: dispatcher,
        _checkpointer: checkpointer,
    }))
}

/// The whole API.
pub fn router(state: Arc<AppState>) -> Router {
    let (mut probes, mut decisions, mut admin) = (Router::new(), Router::new(), Router::new());
    for route in route_table() {
        let group = match route.access {
            Access::Probe => &mut probes,
            Access::Decision => &mut decisions,
            Access::Admin => &mut admin,
        };
        *group = std::mem::take(group).route(route.path, route.handler);
    }
    // Layers run outside in: the rate limit first, then admission.
    let decisions = decisions
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            admission::admit,
        ))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            rate::limit,
        ));
    let admin = admin.route_layer(middleware::from_fn_with_state(
        Arc::clone(&state),
        admin::require_admin,
    ));
    probes
        .merge(decisions)
        .merge(admin)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .with_state(state)
}

/// Serves HTTP, and RADIUS when `radius` is given, until `shutdown`
/// resolves; then lets in-flight requests finish on both.
pub async fn serve(
    listener: TcpListener,
    radius: Option<RadiusListener>,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let radius_task = radius.map(|radius| {
        tokio::spawn(radius::serve_radius(
            radius,
            Arc::clone(&state),
            until_stopped(),
        ))
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let app = router(state);
    let http = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(until_stopped())
    .await;
    if let Some(task) = radius_task {
        task.await.map_err(std::io::Error::other)??;
    }
    http
}

async fn healthz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    // A round trip through a store worker: healthy means able to answer.
    state.fast.run(|v| v.ping()).await?;
    Ok("ok\n")
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "no such route")
}

/// Counts and times every request by its route template.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let response = next.run(request).await;
    if response.extensions().get::<error::Shed>().is_some() {
        state.metrics.shed(&route);
    }
    if response.extensions().get::<rate::Limited>().is_some() {
        state.metrics.rate_limited(&route);
    }
    state
        .metrics
        .request(&route, response.status().as_u16(), started.elapsed());
    response
}
