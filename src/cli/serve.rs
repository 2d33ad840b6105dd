//! `tokenrig serve`: the verifier over HTTP until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokenrig::device::SerialLayout;
use tokenrig::server::{self, Clients, RadiusListener, RateLimit, ServeConfig, SmsDelivery};
use tokenrig::service::Retry;
use tokenrig::sms::Webhook;
use tokenrig::store::SecretSource;
use tokenrig::verifier::Policy;
use zeroize::Zeroizing;

use super::db::DbArgs;
use super::{CliError, Context};

/// The environment variable holding the admin API's bearer token.
const ADMIN_TOKEN_ENV: &str = "TOKENRIG_ADMIN_TOKEN";

#[derive(Debug, Args)]
#[command(after_help = "\
The first line on stdout is `listening on http://ADDR` (with the real port
when --listen asks for port 0). Logs go to stderr; RUST_LOG=debug shows each
request. The admin API (/v1/admin/...) needs a bearer token from
--admin-token-file or TOKENRIG_ADMIN_TOKEN and is refused without one.

Overload is an answer: when --queue-depth requests already wait for the
store workers, the next is refused at once with 503, Retry-After: 1 and
{\"error\": ..., \"reason\": \"overloaded\"}; nothing is written for it.
/metrics counts these as tokenrig_shed_requests_total.

With --radius ADDR, Access-Requests (RFC 2865) are answered on that UDP
address too, from the clients in --radius-clients (TOML, mode 0600; see
docs/radius.md); the next line on stdout is then `radius on udp://ADDR`.

Examples:
  tokenrig serve --db /var/lib/tokenrig/store.db --listen 0.0.0.0:8080
  tokenrig serve --radius 0.0.0.0:1812 --radius-clients /etc/tokenrig/radius-clients.toml
  TOKENRIG_STORE_KEY=... tokenrig serve --db postgres://tokenrig@db/tokenrig")]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address and port to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// File holding the admin API's bearer token (first line)
    #[arg(long, value_name = "PATH")]
    admin_token_file: Option<PathBuf>,
    /// Deliver SMS codes as JSON {"id","phone","text"} POSTs to this URL
    /// (header Idempotency-Key = id; retried with backoff, at least once)
    /// instead of keeping them in the store's outbox
    #[arg(long, value_name = "URL")]
    sms_webhook: Option<String>,
    /// How long one webhook POST may take, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300), requires = "sms_webhook")]
    sms_timeout: u64,
    /// Let the admin API set the clock decisions are made at (POST
    /// /v1/admin/clock), for conformance runs that age tokens; never in
    /// production
    #[arg(long)]
    test_clock: bool,
    /// Store worker threads for validate/resync [default: 1 on SQLite, 8 on PostgreSQL]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    /// Decision requests (validate, resync, replacement steps) that may be
    /// in the server at once, waiting for the store workers or being
    /// answered; one more is refused at once with 503 and Retry-After
    /// [default: workers × 1024 on SQLite (two 512-job batches each),
    /// workers × 64 on PostgreSQL]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    queue_depth: Option<u32>,
    /// Which serials a user may type as the new device of a replacement:
    /// `provider`, the seed provider's 13 digits whose first tells the
    /// kind (1 event, 2 time), checked against the inventory's model; or
    /// `any`, where the inventory alone says the kind. Imports, validation
    /// and the admin API take any serial (1–40 printable ASCII characters)
    /// either way
    #[arg(long, value_name = "LAYOUT", default_value_t = SerialLayout::Provider)]
    serial_layout: SerialLayout,
    /// Decision requests (validate, resync, replacement steps) one source
    /// address may make: R a second on average, bursts of B (default 2 × R).
    /// Over it the answer is 429 with Retry-After and reason rate_limited,
    /// nothing decided. IPv6 sources count by /64. Over --radius the same
    /// rate holds per station (Calling-Station-Id, else User-Name) of each
    /// NAS; over it the answer is Access-Reject, Reply-Message
    /// rate_limited. docs/security.md turns it into a bound on guessing
    /// [default: no limit]
    #[arg(long, value_name = "R[/B]")]
    rate_limit: Option<RateLimit>,
    /// Also answer RADIUS Access-Requests on this UDP address (port 0: any
    /// free port, printed)
    #[arg(long, value_name = "ADDR", requires = "radius_clients")]
    radius: Option<SocketAddr>,
    /// The RADIUS clients and their shared secrets (TOML, readable by its
    /// owner only; docs/radius.md)
    #[arg(long, value_name = "PATH", requires = "radius")]
    radius_clients: Option<PathBuf>,
}

pub fn run(a: ServeArgs) -> Result<(), CliError> {
    init_logging();
    let admin_token = admin_token(a.admin_token_file.as_deref())?;
    if admin_token.is_none() {
        tracing::warn!("no admin token: the admin API refuses every request");
    }
    let timeout = Duration::from_secs(a.sms_timeout);
    let sms = match &a.sms_webhook {
        Some(url) => Some(SmsDelivery {
            gateway: Arc::new(Webhook::new(url, timeout).input("--sms-webhook")?),
            retry: Retry::for_timeout(timeout),
        }),
        None => None,
    };
    let clients = a
        .radius_clients
        .as_deref()
        .map(radius_clients)
        .transpose()?;
    let state = server::open(ServeConfig {
        db_url: a.db.url()?,
        secret: SecretSource::Default,
        policy: Policy {
            serial_layout: a.serial_layout,
            ..Policy::default()
        },
        admin_token,
        fast_workers: a.workers.map(usize::from),
        queue_depth: a.queue_depth.map(|n| n as usize),
        rate_limit: a.rate_limit,
        sms,
        test_clock: a.test_clock,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", a.listen))
        })?;
        let local = listener.local_addr()?;
        let mut lines = vec![format!("listening on http://{local}")];
        let radius = match (a.radius, clients) {
            (Some(addr), Some(clients)) => {
                let socket = tokio::net::UdpSocket::bind(addr).await.map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot listen on udp {addr}: {e}"))
                })?;
                let bound = socket.local_addr()?;
                lines.push(format!("radius on udp://{bound}"));
                tracing::info!(%bound, clients = clients.len(), "answering RADIUS");
                Some(RadiusListener { socket, clients })
            }
            _ => None,
        };
        super::write_lines(lines)?;
        tracing::info!(%local, "serving");
        server::serve(listener, radius, state, shutdown_signal()).await?;
        tracing::info!("stopped: in-flight requests finished");
        Ok::<(), CliError>(())
    })
}

/// `--admin-token-file` (its first line), else `TOKENRIG_ADMIN_TOKEN`.
fn admin_token(file: Option<&std::path::Path>) -> Result<Option<Zeroizing<String>>, CliError> {
    let token = match file {
        Some(path) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .failed(format!("--admin-token-file {}", path.display()))?,
            );
            Zeroizing::new(text.lines().next().unwrap_or("").trim().to_owned())
        }
        None => match std::env::var(ADMIN_TOKEN_ENV) {
            Ok(token) => Zeroizing::new(token.trim().to_owned()),
            Err(_) => return Ok(None),
        },
    };
    if token.len() < 16 {
        return Err(CliError::Usage(
            "the admin token must be at least 16 characters".to_owned(),
        ));
    }
    Ok(Some(token))
}

/// `--radius-clients`: refused when group or others may read it, since it
/// holds every client's shared secret.
fn radius_clients(path: &std::path::Path) -> Result<Clients, CliError> {
    use std::os::unix::fs::PermissionsExt;
    let what = format!("--radius-clients {}", path.display());
    let mode = std::fs::metadata(path).failed(&what)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(CliError::Usage(format!(
            "{what} is readable by others (mode {:o}); chmod 600 it",
            mode & 0o777
        )));
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).failed(&what)?);
    Clients::parse(&text).input(what)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
