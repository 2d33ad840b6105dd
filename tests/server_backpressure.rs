//! Backpressure: a full store queue refuses at once, runs nothing and
//! writes nothing. First on a `Pool` held busy by a job that waits for the
//! test, then through the real `tokenrig serve --queue-depth 1` with its
//! store worker stuck behind a write lock the test holds on the SQLite file:
//! there the in-flight limit (the queue depth) refuses at the door.

mod support;

use serde_json::{Value, json};
use support::server::{STORE_KEY, Server};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig::server::pool::{Batching, Pool, PoolError};
use tokenrig::service::Service;
use tokenrig::store::{SecretSource, Store, StoreSecret};
use tokenrig::verifier::Policy;

#[tokio::test]
async fn a_full_queue_refuses_a_job_without_running_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("pool.db").display());
    let secret = SecretSource::Given(StoreSecret::from_hex(STORE_KEY).expect("hex key"));
    let pool = Pool::start("test", 1, Batching::Off, 1, || {
        Ok(Service::new(
            Store::open_with(&db, &secret)?,
            Policy::default(),
        ))
    })
    .expect("pool starts");

    // The one worker runs a job that waits for `release`.
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let mut holding = Box::pin(pool.run(move |_| {
        let _ = started_tx.send(());
        let _ = released.recv();
        Ok("held")
    }));
    // Polled once, a job is in the queue; the rest happens on the worker.
    tokio::select! {
        biased;
        _ = &mut holding => panic!("the held job finished early"),
        () = std::future::ready(()) => {}
    }
    started.await.expect("the worker took the held job");
    let mut queued = Box::pin(pool.run(|_| Ok("queued")));
    tokio::select! {
        biased;
        _ = &mut queued => panic!("the queued job ran while the worker was held"),
        () = std::future::ready(()) => {}
    }

    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refused = pool
        .run({
            let ran = std::sync::Arc::clone(&ran);
            move |_| {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok("refused")
            }
        })
        .await;
    assert!(matches!(refused, Err(PoolError::Overloaded)), "{refused:?}");

    release.send(()).expect("worker waits");
    assert_eq!(holding.await.expect("held job"), "held");
    assert_eq!(queued.await.expect("queued job"), "queued");
    drop(pool);
    assert!(
        !ran.load(std::sync::atomic::Ordering::SeqCst),
        "the refused job never ran"
    );
}

const TOKENS: u64 = 16;

fn serial(token: u64) -> String {
    format!("19000000002{token:02}")
}

fn key_hex(token: u64) -> String {
    format!("{:02x}", token + 0x40).repeat(20)
}

fn first_code(token: u64) -> String {
    OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(&key_hex(token)).expect("hex"),
    )
    .hotp(0, Digits::SIX)
    .to_string()
}

/// One validation: status, `Retry-After` and the JSON body.
fn validate(server: &Server, token: u64) -> (u16, Option<String>, Value) {
    server.post_retry_after(
        "/v1/validate",
        &json!({"serial": serial(token), "otp": first_code(token)}),
    )
}

#[test]
fn serve_answers_503_with_retry_after_when_its_queue_is_full_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backpressure.db");
    let db = format!("sqlite:{}", path.display());
    let server = std::sync::Arc::new(Server::start_full(
        &db,
        &["--queue-depth", "1"],
        &[("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)],
    ));
    let mut csv = String::from("serial,kind,key,digits,step\n");
    for token in 0..TOKENS {
        csv.push_str(&format!("{},c100,{},6,\n", serial(token), key_hex(token)));
    }
    let (status, _) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(status, 201);

    // While the test holds SQLite's write lock, the worker's batch waits
    // at BEGIN IMMEDIATE: one request in flight, the rest refused at once.
    let lock = rusqlite::Connection::open(&path).expect("sqlite opens");
    lock.execute_batch("BEGIN IMMEDIATE")
        .expect("write lock taken");
    let (answers_tx, answers) = std::sync::mpsc::channel();
    let clients: Vec<_> = (0..TOKENS)
        .map(|token| {
            let (server, answers_tx) = (std::sync::Arc::clone(&server), answers_tx.clone());
            std::thread::spawn(move || {
                let _ = answers_tx.send((token, validate(&server, token)));
            })
        })
        .collect();
    // Nothing can be accepted while the lock is held, so the first answer
    // is a refusal.
    let first = answers.recv().expect("an answer");
    assert_eq!(first.1.0, 503, "{first:?}");
    lock.execute_batch("ROLLBACK").expect("write lock released");
    for client in clients {
        client.join().expect("client");
    }
    drop(answers_tx);
    let all: Vec<_> = std::iter::once(first).chain(answers).collect();
    assert_eq!(all.len() as u64, TOKENS);

    let mut refused = Vec::new();
    for (token, (status, retry_after, body)) in &all {
        match status {
            200 => assert_eq!(body, &json!({"accepted": true, "reason": "ok"})),
            503 => {
                assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
                assert_eq!(body["reason"], "overloaded", "{body}");
                assert!(body["error"].as_str().is_some_and(|e| !e.contains('\n')));
                refused.push(*token);
            }
            other => panic!("token {token}: HTTP {other}: {body}"),
        }
    }

    // A refused code was never decided: offered again, it is accepted.
    for token in &refused {
        let (status, _, body) = validate(&server, *token);
        assert_eq!(
            (status, &body),
            (200, &json!({"accepted": true, "reason": "ok"}))
        );
    }
    let (_, audit) = server.as_admin("GET", "/v1/admin/audit?limit=1000", None);
    let checks: Vec<_> = audit
        .as_array()
        .expect("audit array")
        .iter()
        .filter(|row| row["action"] == "check")
        .collect();
    assert_eq!(checks.len() as u64, TOKENS, "one decision per token");
    assert!(checks.iter().all(|row| row["outcome"] == "accepted"));

    let (_, metrics) = server.get_text("/metrics");
    let shed = format!(
        "tokenrig_shed_requests_total{{route=\"/v1/validate\"}} {}",
        refused.len()
    );
    assert!(metrics.contains(&shed), "{shed} not in:\n{metrics}");
}
