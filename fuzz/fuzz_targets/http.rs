//! Every request body and query the HTTP API reads, through the real
//! router in process (`tokenrig::server::router` over an SQLite store):
//! whatever arrives, the answer is never a 500, and it is one JSON object.
//!
//! The first byte picks the route, the second the path parameter; the rest
//! is the body (or the query). The store keeps what earlier inputs wrote,
//! as a long-running server does: a fleet imported, one user holding a
//! token, one replacement started, then whatever the fuzzer adds.

#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tokenrig::server::{self, ServeConfig};
use tokenrig::store::{SecretSource, StoreSecret};
use tokenrig::verifier::Policy;
use tower::ServiceExt;
use zeroize::Zeroizing;

const ADMIN: &str = "fuzz-admin-token-0123456789abcdef";
const USER: &str = "RSSMRA85T10A562S";
const SERIAL: &str = "1909107966482";
const FLEET: &str = include_str!("../../fixtures/inventory/fleet.csv");

/// (method, path with `{}` for the parameter, admin, body is a query).
const ROUTES: [(&str, &str, bool, bool); 12] = [
    ("POST", "/v1/validate", false, false),
    ("POST", "/v1/resync", false, false),
    ("POST", "/v1/admin/users", true, false),
    ("POST", "/v1/admin/users/{}/devices", true, false),
    ("POST", "/v1/admin/tokens/{}/unlock", true, false),
    ("POST", "/v1/admin/clock", true, false),
    ("POST", "/v1/replacements", false, false),
    ("POST", "/v1/replacements/{}/sms-code", false, false),
    ("POST", "/v1/replacements/{}/device", false, false),
    ("POST", "/v1/replacements/{}/otps", false, false),
    ("GET", "/v1/admin/audit?{}", true, true),
    ("GET", "/v1/admin/tokens?{}", true, true),
];

struct Rig {
    runtime: tokio::runtime::Runtime,
    router: Router,
    attempt: String,
    _dir: tempfile::TempDir,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = server::open(ServeConfig {
            db_url: format!("sqlite:{}", dir.path().join("fuzz.db").display()),
            secret: SecretSource::Given(StoreSecret::from_bytes([7; 32])),
            policy: Policy::default(),
            admin_token: Some(Zeroizing::new(ADMIN.to_owned())),
            fast_workers: None,
            queue_depth: None,
            rate_limit: None,
            sms: None,
            test_clock: true,
        })
        .expect("store opens");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let router = server::router(state);
        let setup = [
            ("/v1/admin/import", "text/csv", FLEET.to_owned()),
            (
                "/v1/admin/users",
                "application/json",
                format!(
                    r#"{{"username": "{USER}", "phone": "+393331234567", "user_code": "CARDANNA1", "password": "correct horse battery staple"}}"#
                ),
            ),
            (
                &format!("/v1/admin/users/{USER}/devices"),
                "application/json",
                format!(r#"{{"serial": "{SERIAL}"}}"#),
            ),
        ];
        for (path, kind, body) in setup {
            let (status, answer) = runtime.block_on(send(&router, "POST", path, true, kind, body.into()));
            assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
        }
        let (status, answer) = runtime.block_on(send(
            &router,
            "POST",
            "/v1/replacements",
            false,
            "application/json",
            format!(
                r#"{{"user": "{USER}", "password": "correct horse battery staple", "old_serial": "{SERIAL}"}}"#
            )
            .into(),
        ));
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let attempt = serde_json::from_str::<serde_json::Value>(&answer).expect("json")["id"]
            .as_str()
            .expect("an attempt id")
            .to_owned();
        Rig {
            runtime,
            router,
            attempt,
            _dir: dir,
        }
    })
}

async fn send(
    router: &Router,
    method: &str,
    path: &str,
    admin: bool,
    kind: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(path);
    if admin {
        request = request.header(header::AUTHORIZATION, format!("Bearer {ADMIN}"));
    }
    if !kind.is_empty() {
        request = request.header(header::CONTENT_TYPE, kind);
    }
    let mut request = request.body(Body::from(body)).expect("a request");
    let peer: SocketAddr = "192.0.2.1:40000".parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Bytes as a path segment or query: unreserved characters kept, every
/// other byte percent-encoded, so the URI is always valid.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~=&".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [route, param, rest @ ..] = data else {
        return;
    };
    let rig = rig();
    let (method, template, admin, is_query) = ROUTES[usize::from(*route) % ROUTES.len()];
    // The parameter: one that exists, or bytes of the input (then not
    // part of the body).
    let (param, body) = match param % 4 {
        0 => (USER.to_owned(), rest),
        1 => (SERIAL.to_owned(), rest),
        2 => (rig.attempt.clone(), rest),
        _ => {
            let n = usize::from(param / 4).min(rest.len());
            (encode(&rest[..n]), &rest[n..])
        }
    };
    let (path, body) = if is_query {
        (template.replace("{}", &encode(body)), Vec::new())
    } else {
        (template.replace("{}", &param), body.to_vec())
    };
    // Mostly JSON; sometimes no or another Content-Type.
    let kind = match route / 64 {
        0 | 1 => "application/json",
        2 => "",
        _ => "text/plain",
    };
    let (status, answer) = rig
        .runtime
        .block_on(send(&rig.router, method, &path, admin, kind, body));
    assert!(
        !status.is_server_error(),
        "{method} {path}: {status} {answer}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("{method} {path}: {status}: not JSON ({e}): {answer:?}"));
    assert!(parsed.is_object() || parsed.is_array(), "{answer}");
    assert!(!answer.contains('\n'), "one line: {answer:?}");
});
