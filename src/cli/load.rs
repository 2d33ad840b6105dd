//! `tokenrig load`: drives `POST /v1/validate` of a running verifier with
//! many concurrent clients and reports throughput and latency.
//!
//! The work is real: it imports its own fresh C100 tokens through the admin
//! API, and every request carries the token's next valid code, so each one
//! is an accept with a durable commit. A client owns its tokens, so no two
//! requests race on one code; anything but `accepted` counts as an error,
//! except a refusal for overload (503, reason `overloaded`): that is the
//! server shedding load as meant, counted apart, and its code is offered
//! again (nothing was written for it, so it must still be accepted).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokenrig::device::{Model, keygen};
use tokenrig::otp::{Algorithm, Digits, OtpKey};

use super::{CliError, Context, write_lines};

#[derive(Debug, Args)]
#[command(after_help = "\
Example (a server started with TOKENRIG_ADMIN_TOKEN set):
  tokenrig load --url http://127.0.0.1:8080 --clients 256 --duration 10

Closed loop (the default) finds the most the server sustains: each client
sends its next request when the last is answered, so latency is mostly
queueing (clients / throughput). --rate R offers a fixed R requests/s
instead, the way independent users arrive, and shows the latency at that
load. Prints requests/s and latency percentiles; exit 1 if any request
failed or was not accepted. A 503 with reason `overloaded` is shed, not
failed: reported on its own line; in closed loop the client then waits
the answer's Retry-After, in open loop the next request keeps its time.")]
pub struct LoadArgs {
    /// Base URL of the verifier
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent clients (each keeps one connection)
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    clients: u32,
    /// Tokens to import and spread over the clients (at least --clients)
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    tokens: u32,
    /// Seconds to measure, after one second of warm-up
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    duration: u32,
    /// Total requests per second to offer, spread evenly over the clients
    /// (open loop: latency counts from each request's scheduled time, so a
    /// slow server cannot hide its queue). Default: as fast as answers come
    #[arg(long, value_name = "PER_SECOND", value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
    /// Admin bearer token for the import [default: $TOKENRIG_ADMIN_TOKEN]
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TOKENRIG_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: String,
}

/// How long a closed-loop client waits after a refusal: the server's
/// `Retry-After`, which it always sets to one second.
const RETRY_AFTER: Duration = Duration::from_secs(1);

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One token as the load generator sees it: serial, key and next counter.
struct LoadToken {
    serial: String,
    key: OtpKey,
    counter: u64,
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    /// Refusals for overload, and how long each took to come back.
    shed_latencies_us: Vec<u32>,
    /// Accepts since the start, warm-up included: what the server's audit
    /// log must hold.
    accepted_all: u64,
    errors: u64,
    first_error: Option<String>,
}

pub fn run(a: LoadArgs) -> Result<(), CliError> {
    if a.tokens < a.clients {
        return Err(CliError::Usage(format!(
            "--tokens ({}) must be at least --clients ({}): a client owns its tokens",
            a.tokens, a.clients
        )));
    }
    let url = a.url.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client: HttpClient = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(a.clients as usize)
            .build_http();
        let tokens = import_tokens(&client, &url, &a.admin_token, a.tokens).await?;
        write_lines([format!(
            "imported {} tokens; {} clients, 1 s warm-up, {} s measured",
            tokens.len(),
            a.clients,
            a.duration
        )])?;

        let started = Instant::now();
        let warm_until = started + Duration::from_secs(1);
        let stop_at = warm_until + Duration::from_secs(u64::from(a.duration));
        let url = Arc::new(url);
        let mut shares: Vec<Vec<LoadToken>> = (0..a.clients).map(|_| Vec::new()).collect();
        for (i, token) in tokens.into_iter().enumerate() {
            shares[i % a.clients as usize].push(token);
        }
        // Each client's share of --rate: one request every `period`.
        let period = a
            .rate
            .map(|rate| Duration::from_secs_f64(f64::from(a.clients) / f64::from(rate)));
        let tasks: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(i, share)| {
                let (client, url) = (client.clone(), Arc::clone(&url));
                // Spread the clients' start times over one period.
                let offset = period.map(|p| p.mul_f64(i as f64 / f64::from(a.clients)));
                let pacing = period.zip(offset);
                tokio::spawn(drive(client, url, share, pacing, warm_until, stop_at))
            })
            .collect();
        let mut total = Tally::default();
        for task in tasks {
            let tally = task
                .await
                .map_err(|e| CliError::Io(std::io::Error::other(e)))?;
            total.latencies_us.extend(tally.latencies_us);
            total.shed_latencies_us.extend(tally.shed_latencies_us);
            total.accepted_all += tally.accepted_all;
            total.errors += tally.errors;
            total.first_error = total.first_error.or(tally.first_error);
        }
        report(&mut total, a.duration, a.clients)
    })
}

/// Imports `n` fresh C100 tokens (random keys, serials from a seed unique
/// to this run) and returns them.
async fn import_tokens(
    client: &HttpClient,
    url: &str,
    admin_token: &str,
    n: u32,
) -> Result<Vec<LoadToken>, CliError> {
    // Fresh serials each run, so a rerun against the same server imports.
    let seed = tokenrig::clock::Clock::now(&tokenrig::clock::SystemClock).as_nanos();
    let mut csv = String::from("serial,kind,key,digits,step\n");
    let mut tokens = Vec::with_capacity(n as usize);
    for index in 0..u64::from(n) {
        let serial = keygen::serial_from_seed(Model::C100, seed, index);
        let key = keygen::random_key(20).map_err(CliError::failure)?;
        csv.push_str(&format!(
            "{},c100,{},6,\n",
            serial.as_str(),
            data_encoding::HEXLOWER.encode(key.as_bytes())
        ));
        tokens.push(LoadToken {
            serial: serial.as_str().to_owned(),
            key: OtpKey::new(Algorithm::Sha1, &key),
            counter: 0,
        });
    }
    let request = Request::post(format!("{url}/v1/admin/import"))
        .header(CONTENT_TYPE, "text/csv")
        .header(AUTHORIZATION, format!("Bearer {admin_token}"))
        .body(Full::new(Bytes::from(csv)))
        .input("--url")?;
    let (status, body) = send(client, request).await?;
    if status != 201 {
        return Err(CliError::Io(std::io::Error::other(format!(
            "importing the load tokens failed: HTTP {status}: {}",
            body.lines().next().unwrap_or("")
        ))));
    }
    Ok(tokens)
}

async fn send(
    client: &HttpClient,
    request: Request<Full<Bytes>>,
) -> Result<(u16, String), CliError> {
    let response = client.request(request).await.failed("request failed")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .failed("reading a response")?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One client: round-robin over its tokens, each request the token's next
/// code, until `stop_at`. Latencies count only after `warm_until`. Paced
/// (`Some((period, offset))`): one request per period, latency measured
/// from when it was due; else back to back.
async fn drive(
    client: HttpClient,
    url: Arc<String>,
    mut tokens: Vec<LoadToken>,
    pacing: Option<(Duration, Duration)>,
    warm_until: Instant,
    stop_at: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let endpoint = format!("{url}/v1/validate");
    let mut next = 0;
    let mut ticks = pacing.map(|(period, offset)| {
        tokio::time::interval_at(tokio::time::Instant::now() + offset, period)
    });
    loop {
        let sent = match &mut ticks {
            Some(ticks) => ticks.tick().await.into_std(),
            None => Instant::now(),
        };
        if sent >= stop_at {
            return tally;
        }
        let count = tokens.len();
        let token = &mut tokens[next];
        next = (next + 1) % count;
        let otp = token.key.hotp(token.counter, Digits::SIX);
        let body = format!(r#"{{"serial":"{}","otp":"{otp}"}}"#, token.serial);
        let request = Request::post(endpoint.as_str())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)));
        let outcome = match request {
            Ok(request) => send(&client, request).await,
            Err(e) => Err(CliError::Usage(e.to_string())),
        };
        let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        let measured = sent >= warm_until;
        if let Ok((503, body)) = &outcome
            && body.contains(r#""reason":"overloaded""#)
        {
            // The same code goes out again: the refusal wrote nothing.
            if measured {
                tally.shed_latencies_us.push(took);
            }
            if ticks.is_none() {
                tokio::time::sleep_until((Instant::now() + RETRY_AFTER).min(stop_at).into()).await;
            }
            continue;
        }
        token.counter += 1;
        let accepted = matches!(&outcome, Ok((200, body)) if body.contains(r#""accepted":true"#));
        if accepted {
            tally.accepted_all += 1;
        }
        if !measured {
            continue;
        }
        match outcome {
            Ok(_) if accepted => tally.latencies_us.push(took),
            Ok((status, body)) => {
                tally.errors += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("HTTP {status}: {}", body.trim()));
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// The `p`th percentile of sorted microseconds, in milliseconds.
fn percentile(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

fn report(total: &mut Tally, seconds: u32, clients: u32) -> Result<(), CliError> {
    total.latencies_us.sort_unstable();
    total.shed_latencies_us.sort_unstable();
    let (latencies, shed) = (&total.latencies_us, &total.shed_latencies_us);
    let accepted = latencies.len();
    let mut lines = vec![
        format!(
            "{:.0} validations/s ({accepted} accepted in {seconds} s, {clients} clients, {} shed, {} errors)",
            accepted as f64 / f64::from(seconds),
            shed.len(),
            total.errors
        ),
        format!(
            "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(latencies, 50.0),
            percentile(latencies, 90.0),
            percentile(latencies, 99.0),
            percentile(latencies, 100.0)
        ),
        format!(
            "shed (503 overloaded): {} ({:.0}/s), answered in ms: p50 {:.2}  p99 {:.2}",
            shed.len(),
            shed.len() as f64 / f64::from(seconds),
            percentile(shed, 50.0),
            percentile(shed, 99.0)
        ),
        format!("accepted in all (warm-up included): {}", total.accepted_all),
    ];
    if let Some(first) = &total.first_error {
        lines.push(format!("first error: {first}"));
    }
    write_lines(lines)?;
    if total.errors > 0 {
        return Err(CliError::Io(std::io::Error::other(format!(
            "{} requests failed",
            total.errors
        ))));
    }
    Ok(())
}
