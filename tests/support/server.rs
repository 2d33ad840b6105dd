//! The real `tokenrig serve` binary on a free loopback port, and a small
//! blocking JSON client for it. The server is stopped with SIGTERM on drop
//! (and must exit cleanly: that is the graceful shutdown under test), or
//! killed with SIGKILL by a crash test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The store key every test server uses (64 hex characters).
pub const STORE_KEY: &str = "9e1f5a7c3b2d4e6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f";
/// The admin bearer token test servers accept.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct Server {
    child: Option<Child>,
    pub url: String,
    /// The UDP address of `--radius`, when started with it.
    pub radius: Option<std::net::SocketAddr>,
    agent: ureq::Agent,
}

impl Server {
    /// Starts `tokenrig serve --db <db>` with the admin token configured.
    pub fn start(db: &str) -> Server {
        Server::start_with(db, &[("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)])
    }

    /// Starts it with extra environment (e.g. no admin token at all).
    pub fn start_with(db: &str, env: &[(&str, &str)]) -> Server {
        Server::start_full(db, &[], env)
    }

    /// Starts it with extra flags (e.g. `--test-clock`) and environment.
    pub fn start_full(db: &str, flags: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_logged(db, flags, env, Stdio::inherit())
    }

    /// Starts it with its log (stderr) going to `log`, e.g. a file a test
    /// reads afterwards.
    pub fn start_logged(
        db: &str,
        flags: &[&str],
        env: &[(&str, &str)],
        log: impl Into<Stdio>,
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tokenrig"));
        command
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .args(flags)
            .env("TOKENRIG_STORE_KEY", STORE_KEY)
            .env_remove("TOKENRIG_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("tokenrig serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .expect("serve prints its address");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        // With --radius, the next line is the bound UDP address.
        let radius = flags.contains(&"--radius").then(|| {
            let mut second = String::new();
            stdout
                .read_line(&mut second)
                .expect("serve prints its RADIUS address");
            second
                .trim()
                .strip_prefix("radius on udp://")
                .and_then(|addr| addr.parse().ok())
                .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
        });
        // A fresh connection per request: a pooled one the server dropped
        // meanwhile fails a POST outright (not retried: not idempotent),
        // which made tests flaky on a loaded machine.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .build()
            .into();
        Server {
            child: Some(child),
            url,
            radius,
            agent,
        }
    }

    /// Sends `body` as JSON; returns the status and the parsed JSON answer.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .agent
            .post(format!("{}{path}", self.url))
            .send_json(body)
            .expect("request sent");
        read(response)
    }

    /// Like [`post`](Self::post), with the answer's `Retry-After` header
    /// (overload and rate-limit tests).
    pub fn post_retry_after(&self, path: &str, body: &Value) -> (u16, Option<String>, Value) {
        let response = self
            .agent
            .post(format!("{}{path}", self.url))
            .send_json(body)
            .expect("request sent");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, value) = read(response);
        (status, retry_after, value)
    }

    /// Sends raw bytes with a content type (malformed-request tests).
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let response = self
            .agent
            .post(format!("{}{path}", self.url))
            .content_type(content_type)
            .send(body)
            .expect("request sent");
        read(response)
    }

    /// An admin request with `token` (None: no Authorization header).
    pub fn admin(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let bearer = token.map(|t| format!("Bearer {t}"));
        let response = match (method, body) {
            ("GET", _) => {
                let mut request = self.agent.get(&url);
                if let Some(b) = &bearer {
                    request = request.header("Authorization", b);
                }
                request.call()
            }
            (_, body) => {
                let mut request = self.agent.post(&url);
                if let Some(b) = &bearer {
                    request = request.header("Authorization", b);
                }
                match body {
                    Some((content_type, bytes)) => request.content_type(content_type).send(bytes),
                    None => request.send_empty(),
                }
            }
        }
        .expect("request sent");
        read(response)
    }

    /// Shorthand: an admin request with the right token.
    pub fn as_admin(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, Value) {
        self.admin(method, path, Some(ADMIN_TOKEN), body)
    }

    /// One token as `GET /v1/admin/tokens` lists it.
    pub fn token(&self, serial: &str) -> Value {
        let (status, tokens) = self.as_admin("GET", "/v1/admin/tokens", None);
        assert_eq!(status, 200, "{tokens}");
        tokens
            .as_array()
            .expect("array")
            .iter()
            .find(|t| t["serial"] == serial)
            .unwrap_or_else(|| panic!("token {serial} is listed: {tokens}"))
            .clone()
    }

    /// Imports an inventory file as CSV/PSKC/otpauth by its extension.
    pub fn import(&self, file: &Path) -> (u16, Value) {
        let bytes = std::fs::read(file).expect("inventory reads");
        let content_type = match file.extension().and_then(|e| e.to_str()) {
            Some("csv") => "text/csv",
            Some("txt") => "text/plain",
            _ => "application/pskc+xml",
        };
        self.as_admin("POST", "/v1/admin/import", Some((content_type, &bytes)))
    }

    /// The raw text of a GET (for /metrics).
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.url))
            .call()
            .expect("request sent");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("text body");
        (status, text)
    }

    /// Sends SIGTERM and returns at once (requests may still be in flight).
    pub fn signal_stop(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }

    /// SIGTERM, then the exit status (0 expected: graceful shutdown).
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate().expect("server was running")
    }

    /// SIGKILL: the process dies where it stands (no shutdown, nothing
    /// flushed but what was committed). Returns its exit status.
    pub fn kill9(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server was running");
        child.kill().expect("SIGKILL sent");
        child.wait().expect("killed server reaped")
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        child.wait().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}
