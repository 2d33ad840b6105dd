//! Crash consistency under load: `tokenrig serve` is killed with SIGKILL
//! at a random moment while 8 clients validate, 10 rounds, on SQLite and on
//! PostgreSQL. After each restart the newest code every client heard
//! accepted is refused as a replay (an accept that was answered was
//! committed), and at the end each token's accepted validations in the
//! audit log are at least those heard and at most one more per round (the
//! request in flight at the kill, committed but never answered).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use support::postgres::PgCluster;
use support::server::Server;
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};

const ROUNDS: usize = 10;
const CLIENTS: u64 = 8;

fn serial(client: u64) -> String {
    format!("ZZCRASH-{client:03}")
}

fn code(client: u64, counter: u64) -> String {
    let key = format!("{:02x}", client + 0x60).repeat(20);
    OtpKey::new(Algorithm::Sha1, &SecretKey::from_hex(&key).expect("hex"))
        .hotp(counter, Digits::SIX)
        .to_string()
}

/// One validation on a fresh connection; `None` when the server is gone
/// (refused, reset, or no answer within the timeout).
fn validate(url: &str, client: u64, counter: u64) -> Option<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/validate"))
        .send_json(json!({"serial": serial(client), "otp": code(client, counter)}))
        .ok()?;
    response.body_mut().read_json().ok()
}

/// A small deterministic generator for the kill delays, so a failing
/// round can be replayed.
fn delays(mut x: u64) -> impl Iterator<Item = Duration> {
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(Duration::from_millis(30 + x % 400))
    })
}

/// What one client heard over a round: the counters accepted, and the
/// next counter to send.
fn client(url: String, id: u64, mut next: u64, stop: Arc<AtomicBool>) -> (Vec<u64>, u64) {
    let mut accepted = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let counter = next;
        // Sent: whether or not it is answered, this code may be spent.
        next += 1;
        match validate(&url, id, counter) {
            Some(body) if body["reason"] == "ok" => accepted.push(counter),
            Some(body) => panic!("client {id}, counter {counter}: {body}"),
            None => break,
        }
    }
    (accepted, next)
}

fn crash_rounds(db: &str) {
    let mut csv = String::from("serial,kind,key,digits,step\n");
    for id in 0..CLIENTS {
        let key = format!("{:02x}", id + 0x60).repeat(20);
        csv.push_str(&format!("{},c100,{key},6,\n", serial(id)));
    }
    let mut server = Server::start(db);
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(status, 201, "{body}");

    let mut next = vec![0u64; CLIENTS as usize];
    let mut heard: Vec<Vec<u64>> = vec![Vec::new(); CLIENTS as usize];
    let mut delay = delays(0x5eed_c0de);
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let (url, stop, from) = (server.url.clone(), Arc::clone(&stop), next[id as usize]);
                thread::spawn(move || client(url, id, from, stop))
            })
            .collect();
        thread::sleep(delay.next().expect("endless"));
        assert!(!server.kill9().success(), "round {round}: killed");
        stop.store(true, Ordering::Relaxed);
        for (id, handle) in clients.into_iter().enumerate() {
            let (accepted, after) = handle.join().expect("client");
            heard[id].extend(accepted);
            next[id] = after;
        }

        server = Server::start(db);
        for id in 0..CLIENTS {
            let Some(&last) = heard[id as usize].last() else {
                continue;
            };
            let body = validate(&server.url, id, last).expect("restarted server answers");
            assert_eq!(
                body["reason"], "replayed",
                "round {round}: client {id}'s accepted counter {last} was lost: {body}"
            );
        }
    }

    let total: usize = heard.iter().map(Vec::len).sum();
    assert!(total > 0, "no validation was accepted before any kill");
    println!("{total} accepts answered over {ROUNDS} kills");
    let (_, audit) = server.as_admin("GET", "/v1/admin/audit?limit=10000", None);
    let rows = audit.as_array().expect("audit rows");
    for id in 0..CLIENTS {
        let logged = rows
            .iter()
            .filter(|r| {
                r["action"] == "check" && r["outcome"] == "accepted" && r["serial"] == serial(id)
            })
            .count();
        let answered = heard[id as usize].len();
        assert!(
            (answered..=answered + ROUNDS).contains(&logged),
            "client {id}: {answered} accepts heard, {logged} in the audit log"
        );
    }
}

#[test]
fn sigkill_under_load_loses_no_answered_accept_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    crash_rounds(&format!("sqlite:{}", dir.path().join("crash.db").display()));
}

#[test]
fn sigkill_under_load_loses_no_answered_accept_on_postgres() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    crash_rounds(&cluster.create_database("crash"));
}
