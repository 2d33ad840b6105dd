//! `serve --rate-limit`: one source over its rate is answered 429 with
//! `Retry-After` before anything is decided, counted in `/metrics`; the
//! admin API is not limited.

mod support;

use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};

const SERIAL: &str = "ZZ0000000001";
const KEY: &str = "3132333435363738393031323334353637383930";

fn code(counter: u64) -> String {
    OtpKey::new(Algorithm::Sha1, &SecretKey::from_hex(KEY).expect("hex"))
        .hotp(counter, Digits::SIX)
        .to_string()
}

/// Status, `Retry-After` and body of one validation.
fn validate(server: &Server, otp: &str) -> (u16, Option<String>, Value) {
    server.post_retry_after("/v1/validate", &json!({"serial": SERIAL, "otp": otp}))
}

#[test]
fn a_source_over_its_rate_is_refused_with_429_and_nothing_decided() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("rate.db").display());
    // A burst of 3, then one request every 10 s: the test never waits
    // for a refill.
    let server = Server::start_full(
        &db,
        &["--rate-limit", "0.1/3"],
        &[("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let csv = format!("serial,kind,key,digits,step\n{SERIAL},c100,{KEY},6,\n");
    let (status, body) = server.as_admin(
        "POST",
        "/v1/admin/import",
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(status, 201, "{body}");

    for counter in 0..3 {
        let (status, _, body) = validate(&server, &code(counter));
        assert_eq!((status, &body["reason"]), (200, &json!("ok")), "{body}");
    }
    let (status, retry_after, body) = validate(&server, &code(3));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["reason"], "rate_limited");
    assert!(body["error"].as_str().is_some_and(|e| !e.contains('\n')));
    let wait: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=10).contains(&wait), "{wait}");

    // The admin API is not limited, and shows the refused code decided
    // nothing: the token's counter is where the third accept left it.
    let (status, tokens) = server.as_admin("GET", "/v1/admin/tokens", None);
    assert_eq!(status, 200);
    let token = &tokens.as_array().expect("array")[0];
    assert_eq!(token["serial"], SERIAL);
    assert_eq!(token["failures"], 0, "{token}");
    let (_, audit) = server.as_admin("GET", "/v1/admin/audit?limit=100", None);
    let checks = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|row| row["action"] == "check")
        .count();
    assert_eq!(checks, 3);

    let (_, metrics) = server.get_text("/metrics");
    assert!(
        metrics.contains("tokenrig_rate_limited_requests_total{route=\"/v1/validate\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_malformed_rate_is_one_line_and_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(["serve", "--rate-limit", "5/0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--rate-limit"), "{stderr}");
}
