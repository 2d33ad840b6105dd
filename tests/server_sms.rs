//! SMS delivery through the outbox against the real `tokenrig serve`
//! (issue 12 item 2): a webhook that hangs holds up no request, and a
//! server killed with SIGKILL between an attempt's commit and its SMS's
//! delivery delivers it after a restart, under the same idempotency key,
//! with a code that completes the flow's next step.
//!
//! The webhooks are loopback listeners in the test: one that accepts
//! connections and never answers, one that answers 200 and records each
//! request. Waits poll against a deadline and fail saying what they
//! waited for; nothing asserts a time.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fleet::*;
use support::server::Server;

/// How long a test waits for the dispatcher before it fails: past a
/// claim left by a killed server (timeout + 5 s) with room to spare.
const DEADLINE: Duration = Duration::from_secs(30);
/// A webhook that accepts every connection and never answers: each
/// delivery try hangs until the server's `--sms-timeout`.
struct HungWebhook {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl HungWebhook {
    fn start() -> HungWebhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        thread::spawn(move || {
            // Held open, never read from nor written to.
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        HungWebhook { url, accepted }
    }

    /// Waits until a delivery try has connected: the dispatcher is now
    /// (or was) stuck on this webhook.
    fn wait_for_a_try(&self) {
        wait_for("a delivery try to reach the hung webhook", || {
            (self.accepted.load(Ordering::SeqCst) > 0).then_some(())
        });
    }
}

/// One request the recording webhook got.
#[derive(Clone, Debug)]
struct Received {
    idempotency_key: Option<String>,
    body: Value,
}

/// A webhook answering 200 to every request, recording each.
struct RecordingWebhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl RecordingWebhook {
    fn start() -> RecordingWebhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // A malformed request is not recorded, and then the
                // wait for the delivery says so.
                if let Some(request) = answer(stream) {
                    log.lock().expect("log").push(request);
                }
            }
        });
        RecordingWebhook { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

/// Reads one request off `stream`, answers 200, returns what it carried.
fn answer(stream: TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let (mut length, mut idempotency_key) = (0, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "idempotency-key" => idempotency_key = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    reader
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .ok()?;
    Some(Received {
        idempotency_key,
        body: serde_json::from_slice(&body).ok()?,
    })
}

/// Polls `done` until it gives a value; fails after [`DEADLINE`] naming
/// what it waited for.
fn wait_for<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("sms.db").display())
}

/// `serve` delivering SMS to `webhook`, each try given `timeout` seconds.
fn serve(db: &str, webhook: &str, timeout: &str) -> Server {
    Server::start_full(
        db,
        &["--sms-webhook", webhook, "--sms-timeout", timeout],
        &[("TOKENRIG_ADMIN_TOKEN", support::server::ADMIN_TOKEN)],
    )
}

/// The fleet, Anna holding the first C100.
fn set_up(server: &Server) {
    import_fleet(server);
    add_user(server, &ANNA, &C100_A);
}

/// Starts a replacement; the SMS is queued for the dispatcher. Returns
/// the attempt id.
fn start(server: &Server, person: &Person, old: &Token) -> String {
    let body = start_replacement(server, person, old);
    assert_eq!(body["sms_sent"], "queued", "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// The one message to `phone`.
fn only_message(server: &Server, phone: &str) -> Value {
    let messages = outbox(server, phone);
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages[0].clone()
}

fn validate(server: &Server, serial: &str, otp: &str) -> Value {
    let (status, body) = server.post("/v1/validate", &json!({"serial": serial, "otp": otp}));
    assert_eq!(status, 200, "{body}");
    body
}

fn verdict(accepted: bool, reason: &str) -> Value {
    json!({"accepted": accepted, "reason": reason})
}

#[test]
fn a_hung_webhook_holds_up_no_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let webhook = HungWebhook::start();
    let server = serve(&db_url(&dir), &webhook.url, "2");
    set_up(&server);
    add_user(&server, &BRUNO, &C200_A);

    // Answered with the message queued, not after the timeout times the
    // tries it would take to give up on the webhook.
    let id = start(&server, &ANNA, &C100_A);
    assert_eq!(id.len(), 32);
    webhook.wait_for_a_try();

    // The dispatcher is stuck on the webhook; everything else answers.
    assert_eq!(
        validate(&server, C100_A.serial, &C100_A.hotp(0)),
        verdict(true, "ok")
    );
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", EXTRA.as_bytes())),
    );
    assert_eq!((status, body), (201, json!({"imported": 1})));
    add_user(&server, &CARLA, &EXTRA_C100);
    for _ in 0..10 {
        assert_eq!(
            validate(&server, EXTRA_C100.serial, "000000")["accepted"],
            false
        );
    }
    assert_eq!(
        validate(&server, EXTRA_C100.serial, &EXTRA_C100.hotp(0)),
        verdict(false, "locked")
    );
    let (status, unlocked) = server.as_admin(
        "POST",
        &format!("/v1/admin/tokens/{}/unlock", EXTRA_C100.serial),
        None,
    );
    assert_eq!(status, 200, "{unlocked}");
    assert_eq!(unlocked["locked"], false, "{unlocked}");
    assert_eq!(
        validate(&server, EXTRA_C100.serial, &EXTRA_C100.hotp(0)),
        verdict(true, "ok")
    );
    // Another attempt queues behind the stuck one.
    start(&server, &CARLA, &EXTRA_C100);

    // Anna's message is tried and still queued: the webhook never answered.
    let message = wait_for("Anna's message to be tried", || {
        let message = only_message(&server, ANNA.phone);
        (message["tries"].as_u64() >= Some(1)).then_some(message)
    });
    assert_eq!(message["status"], "queued", "{message}");
    let key = message["key"].as_str().expect("a key");
    assert_eq!(key.len(), 32, "{message}");
    assert_ne!(key, id, "the key is not the attempt id");
    let carla = only_message(&server, CARLA.phone);
    assert_eq!(carla["status"], "queued", "{carla}");
    assert_ne!(carla["key"], message["key"]);

    // Shutdown is not held by the hung try either (at most its timeout).
    assert!(server.stop().success());
}

#[test]
fn a_server_killed_between_commit_and_delivery_delivers_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db_url(&dir);
    let hung = HungWebhook::start();
    let server = serve(&db, &hung.url, "1");
    set_up(&server);
    let id = start(&server, &ANNA, &C100_A);
    // The attempt and its SMS are committed; the first try is under way
    // (claimed until its timeout plus 5 s) and will not finish.
    hung.wait_for_a_try();
    let queued = only_message(&server, ANNA.phone);
    assert_eq!(queued["status"], "queued", "{queued}");
    let key = queued["key"].as_str().expect("a key").to_owned();
    let code = queued["code"].as_str().expect("a code").to_owned();
    let killed = server.kill9();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed),
        Some(9),
        "{killed:?}"
    );

    let receiver = RecordingWebhook::start();
    let server = serve(&db, &receiver.url, "1");
    let sent = wait_for("the message to be sent after the restart", || {
        let message = only_message(&server, ANNA.phone);
        (message["status"] == "sent").then_some(message)
    });
    assert_eq!(sent["key"], key.as_str(), "the same message: {sent}");
    assert_eq!(sent["code"], code.as_str());
    let tries = sent["tries"].as_u64().expect("tries");
    assert!(tries >= 2, "the killed try counts: {sent}");

    // At least once, and every copy under the one key.
    let received = receiver.received();
    assert!(!received.is_empty(), "the receiver got nothing");
    let text = sent["text"].as_str().expect("text");
    assert!(text.contains(&code), "the text carries the code");
    for request in &received {
        assert_eq!(request.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(
            request.body,
            json!({"id": key, "phone": ANNA.phone, "text": text}),
        );
    }

    // The code as delivered takes the flow's next step.
    let (status, body) = server.post(
        &format!("/v1/replacements/{id}/sms-code"),
        &json!({"code": code}),
    );
    assert_eq!((status, body), (200, json!({"next": "device"})));
    assert!(server.stop().success());
}
