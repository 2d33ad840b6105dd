//! `tokenrig serve` end to end: the real binary on a loopback port, driven
//! over HTTP like an outside client would. Codes come from the OTP core with
//! the fixture fleet's keys.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};

const C100: &str = "1909107966482";
const C100_KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const USER: &str = "RSSMRA85T10A562S";
const USER_CODE: &str = "LIC4X7Q9";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inventory")
        .join(name)
}

fn hotp(counter: u64) -> String {
    OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(C100_KEY).expect("hex"),
    )
    .hotp(counter, Digits::SIX)
    .to_string()
}

/// A server on a fresh SQLite store holding the fleet, with a user bound
/// to the C100.
fn fleet_server(dir: &tempfile::TempDir) -> Server {
    let db = format!("sqlite:{}", dir.path().join("serve.db").display());
    let server = Server::start(&db);
    let (status, body) = server.import(&fixture("fleet.csv"));
    assert_eq!((status, &body), (201, &json!({"imported": 5})));
    let user = json!({
        "username": USER, "phone": "+393331234567",
        "user_code": USER_CODE, "password": "correct horse battery staple"
    });
    let bytes = serde_json::to_vec(&user).expect("json");
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/users",
        Some(("application/json", &bytes)),
    );
    assert_eq!(status, 201, "{body}");
    let device = serde_json::to_vec(&json!({"serial": C100})).expect("json");
    let (status, body) = server.as_admin(
        "POST",
        &format!("/v1/admin/users/{USER}/devices"),
        Some(("application/json", &device)),
    );
    assert_eq!(status, 201, "{body}");
    server
}

fn validate(server: &Server, otp: &str) -> Value {
    let (status, body) = server.post("/v1/validate", &json!({"user": USER, "otp": otp}));
    assert_eq!(status, 200, "{body}");
    body
}

fn verdict(accepted: bool, reason: &str) -> Value {
    json!({"accepted": accepted, "reason": reason})
}

fn token(server: &Server) -> Value {
    server.token(C100)
}

#[test]
fn validate_window_edges_replay_lockout_and_unlock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = fleet_server(&dir);
    // Look-ahead window of 10: counters 0..=9 from a fresh token.
    assert_eq!(validate(&server, &hotp(10)), verdict(false, "bad_otp"));
    assert_eq!(validate(&server, &hotp(9)), verdict(true, "ok"));
    assert_eq!(validate(&server, &hotp(9)), verdict(false, "replayed"));
    assert_eq!(validate(&server, &hotp(5)), verdict(false, "replayed"));
    // By serial as well as by user.
    let (_, body) = server.post("/v1/validate", &json!({"serial": C100, "otp": hotp(19)}));
    assert_eq!(body, verdict(true, "ok"));
    assert_eq!(token(&server)["next_counter"], 20);

    // Lockout after 10 consecutive failures (3 so far: bad, two replays;
    // the accept at 19 reset them).
    for _ in 0..10 {
        assert_eq!(validate(&server, "000000")["accepted"], false);
    }
    assert_eq!(validate(&server, &hotp(20)), verdict(false, "locked"));
    assert_eq!(token(&server)["locked"], true);
    let (status, unlocked) =
        server.as_admin("POST", &format!("/v1/admin/tokens/{C100}/unlock"), None);
    assert_eq!(status, 200, "{unlocked}");
    assert_eq!(
        (unlocked["locked"].clone(), unlocked["failures"].clone()),
        (json!(false), json!(0))
    );
    assert_eq!(validate(&server, &hotp(20)), verdict(true, "ok"));

    // Unknown subjects are answers, not errors.
    let (status, body) = server.post(
        "/v1/validate",
        &json!({"user": "BNCGVN80A01H501J", "otp": "123456"}),
    );
    assert_eq!((status, body), (200, verdict(false, "unknown_user")));
    let deviceless = serde_json::to_vec(&json!({
        "username": "BNCGVN80A01H501J", "phone": "+393337654321",
        "user_code": "CARDBRUNO", "password": "correct horse battery staple"
    }))
    .expect("json");
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/users",
        Some(("application/json", &deviceless)),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post(
        "/v1/validate",
        &json!({"user": "BNCGVN80A01H501J", "otp": "123456"}),
    );
    assert_eq!((status, body), (200, verdict(false, "no_active_token")));
    let (status, body) = server.post(
        "/v1/validate",
        &json!({"serial": "1000000000009", "otp": "123456"}),
    );
    assert_eq!(
        (status, body["reason"].clone()),
        (200, json!("unknown_serial"))
    );

    // Every decision is in the audit log, and no code is.
    let (status, audit) = server.as_admin("GET", "/v1/admin/audit?limit=1000", None);
    assert_eq!(status, 200);
    let shown = audit.to_string();
    assert!(
        !shown.contains(&hotp(9)) && !shown.contains(&hotp(20)),
        "{shown}"
    );
    assert!(
        audit
            .as_array()
            .expect("rows")
            .iter()
            .any(|r| r["action"] == "unlock")
    );

    let (_, metrics) = server.get_text("/metrics");
    assert!(
        metrics.contains(
            r#"tokenrig_decisions_total{action="validate",outcome="rejected",reason="replayed"} 2"#
        ),
        "{metrics}"
    );
    assert!(server.stop().success(), "graceful shutdown exits 0");
}

#[test]
fn resync_by_user_code_and_serial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = fleet_server(&dir);
    let resync = |body: Value| {
        let (status, body) = server.post("/v1/resync", &body);
        assert_eq!(status, 200, "{body}");
        body
    };
    assert_eq!(
        resync(json!({"user_code": USER_CODE, "otp1": hotp(501), "otp2": hotp(500)})),
        json!({"synchronised": false, "reason": "reversed"})
    );
    assert_eq!(
        resync(json!({"user_code": USER_CODE, "otp1": hotp(500), "otp2": hotp(502)})),
        json!({"synchronised": false, "reason": "not_consecutive"})
    );
    assert_eq!(
        resync(json!({"user_code": USER_CODE, "otp1": hotp(500), "otp2": hotp(501)})),
        json!({"synchronised": true, "reason": "ok"})
    );
    assert_eq!(validate(&server, &hotp(501)), verdict(false, "replayed"));
    assert_eq!(validate(&server, &hotp(502)), verdict(true, "ok"));
    assert_eq!(
        resync(json!({"serial": C100, "otp1": hotp(1200), "otp2": hotp(1201)})),
        json!({"synchronised": true, "reason": "ok"})
    );
    assert_eq!(
        resync(json!({"user_code": "NOSUCH99", "otp1": hotp(1), "otp2": hotp(2)})),
        json!({"synchronised": false, "reason": "unknown_user_code"})
    );
}

#[test]
fn malformed_requests_get_one_line_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = fleet_server(&dir);
    let before = token(&server);
    let cases: Vec<(&str, &[u8], u16)> = vec![
        ("application/json", b"{not json", 400),
        ("application/json", br#"{"user": 42, "otp": "123456"}"#, 422),
        ("application/json", br#"{"user": "RSSMRA85T10A562S"}"#, 422),
        ("application/json", br#"{"otp": "123456"}"#, 422),
        (
            "application/json",
            br#"{"user": "RSSMRA85T10A562S", "serial": "1909107966482", "otp": "1"}"#,
            422,
        ),
        (
            "application/json",
            br#"{"user": "RSSMRA85T10A562X", "otp": "123456"}"#,
            422,
        ),
        (
            "application/json",
            br#"{"user": "RSSMRA85T10A562S", "otp": "123456", "extra": 1}"#,
            422,
        ),
        (
            "text/plain",
            br#"{"user": "RSSMRA85T10A562S", "otp": "123456"}"#,
            415,
        ),
    ];
    for (content_type, body, expected) in cases {
        let (status, answer) = server.post_raw("/v1/validate", content_type, body);
        let shown = String::from_utf8_lossy(body);
        assert_eq!(status, expected, "{shown} -> {answer}");
        let message = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    let huge = format!(r#"{{"user": "{USER}", "otp": "{}"}}"#, "1".repeat(100_000));
    let (status, answer) = server.post_raw("/v1/validate", "application/json", huge.as_bytes());
    assert_eq!(status, 413, "{answer}");
    let (status, _) = server.post_raw("/v1/nowhere", "application/json", b"{}");
    assert_eq!(status, 404);
    // A query or a path segment that cannot be read answers the same
    // one-line JSON error, not axum's plain text (found by the http fuzz
    // target).
    for (method, path) in [
        ("GET", "/v1/admin/audit?limit=x"),
        ("GET", "/v1/admin/tokens?user=a&user=b"),
        ("POST", "/v1/admin/tokens/%FF/unlock"),
    ] {
        let (status, answer) = server.as_admin(method, path, None);
        assert_eq!(status, 400, "{method} {path}: {answer}");
        let message = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: not the JSON error: {answer}"));
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    assert_eq!(token(&server), before, "no request changed the token");
}

#[test]
fn admin_routes_refuse_without_the_right_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("auth.db").display());
    let csv = std::fs::read(fixture("fleet.csv")).expect("fleet");
    let server = Server::start(&db);
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let (status, body) = server.admin("GET", "/v1/admin/tokens", token, None);
        assert_eq!(status, 401, "{token:?}: {body}");
        let (status, _) = server.admin("POST", "/v1/admin/import", token, Some(("text/csv", &csv)));
        assert_eq!(status, 401);
    }
    let (status, tokens) = server.admin("GET", "/v1/admin/tokens", Some(ADMIN_TOKEN), None);
    assert_eq!((status, tokens), (200, json!([])), "nothing was imported");
    drop(server);

    // No token configured at all: the admin API is off, whatever is sent.
    let server = Server::start_with(&db, &[]);
    let (status, body) = server.admin("GET", "/v1/admin/tokens", Some(ADMIN_TOKEN), None);
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().expect("error").contains("disabled"));
    // The public API still works.
    let (status, _) = server.get_text("/healthz");
    assert_eq!(status, 200);
}

#[test]
fn shutdown_under_load_loses_no_accepted_code() {
    const CLIENTS: u64 = 16;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("shutdown.db").display());
    let server = std::sync::Arc::new(Server::start(&db));
    let key_hex = |token: u64| format!("{:02x}", token + 0x20).repeat(20);
    let serial = |token: u64| format!("19000000001{token:02}");
    let mut csv = String::from("serial,kind,key,digits,step\n");
    for token in 0..CLIENTS {
        csv.push_str(&format!("{},c100,{},6,\n", serial(token), key_hex(token)));
    }
    let (status, _) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(status, 201);

    // Each client submits its token's codes in order until the server is
    // gone; it counts the accepts it was told about.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|token| {
            let server = std::sync::Arc::clone(&server);
            let key = OtpKey::new(
                Algorithm::Sha1,
                &SecretKey::from_hex(&key_hex(token)).expect("hex"),
            );
            let serial = serial(token);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_idle_connections(0)
                    .build()
                    .into();
                let mut accepted = 0u64;
                loop {
                    let otp = key.hotp(accepted, Digits::SIX).to_string();
                    let sent = agent
                        .post(format!("{}/v1/validate", server.url))
                        .send_json(json!({"serial": serial, "otp": otp}));
                    let Ok(mut response) = sent else {
                        return accepted;
                    };
                    let Ok(body) = response.body_mut().read_to_string() else {
                        return accepted;
                    };
                    assert!(body.contains(r#""accepted":true"#), "{body}");
                    accepted += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(400));
    server.signal_stop();
    let accepted: Vec<u64> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let server = std::sync::Arc::into_inner(server).expect("clients are done");
    assert!(server.stop().success(), "graceful shutdown exits 0");
    assert!(accepted.iter().sum::<u64>() > 0, "the load ran");

    // Every accept a client heard of is durable, and nothing beyond it was
    // committed without an answer: each counter equals its client's count.
    let server = Server::start(&db);
    for token in 0..CLIENTS {
        let row = server.token(&serial(token));
        assert_eq!(row["next_counter"], accepted[token as usize], "{row}");
    }
}
