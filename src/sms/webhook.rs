//! The webhook gateway: `POST {"phone": E164, "text": …}` as JSON to a
//! configured URL, retried with exponential backoff on a network error or
//! a 5xx/429 answer. Blocking (ureq, rustls: no system library), since its
//! callers are a server's blocking worker threads.

use std::fmt;
use std::thread;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{SmsError, SmsGateway};
use crate::clock::UnixTime;
use crate::store::Store;
use crate::user::PhoneNumber;
use crate::verifier::SmsCode;

/// How long one POST may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The wait before the first retry, doubled before each next one.
const BACKOFF: Duration = Duration::from_millis(200);

/// POSTs each message to `url`. `Debug` does not show the URL, which may
/// carry a provider's credentials.
pub struct Webhook {
    url: String,
    retries: u32,
    backoff: Duration,
    agent: ureq::Agent,
}

impl Webhook {
    /// A gateway that tries each message once and then up to `retries`
    /// more times.
    pub fn new(url: &str, retries: u32) -> Result<Webhook, SmsError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(SmsError::BadUrl);
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            // Statuses are ours to judge; and a redirect must not carry
            // the code to a URL nobody configured.
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Ok(Webhook {
            url: url.to_owned(),
            retries,
            backoff: BACKOFF,
            agent: config.into(),
        })
    }

    /// Changes the wait before the first retry (doubled each time after).
    pub fn with_backoff(self, backoff: Duration) -> Webhook {
        Webhook { backoff, ..self }
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// What one POST came to.
enum Failure {
    Status(u16),
    Transport(String),
}

impl SmsGateway for Webhook {
    fn send(
        &self,
        _store: &Store,
        phone: &PhoneNumber,
        code: SmsCode,
        _at: UnixTime,
    ) -> Result<(), SmsError> {
        let body = Zeroizing::new(
            serde_json::json!({ "phone": phone.as_str(), "text": code.message_text() }).to_string(),
        );
        let mut wait = self.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self
                .agent
                .post(&self.url)
                .header("content-type", "application/json")
                .send(body.as_bytes())
            {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => Failure::Status(response.status().as_u16()),
                Err(error) => Failure::Transport(describe(&error)),
            };
            let retryable = match failure {
                Failure::Status(status) => status >= 500 || status == 429,
                Failure::Transport(_) => true,
            };
            if !retryable || attempts > self.retries {
                return Err(match failure {
                    Failure::Status(status) => SmsError::Status { status, attempts },
                    Failure::Transport(reason) => SmsError::Transport { attempts, reason },
                });
            }
            thread::sleep(wait);
            wait = wait.saturating_mul(2);
        }
    }
}

/// A transport error in one line, without the URL (it may hold
/// credentials).
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::BadUri(_) => "malformed URL".to_owned(),
        other => other.to_string().lines().next().unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::store::{SecretSource, StoreSecret};

    /// A one-thread HTTP server answering the given statuses in order, one
    /// per connection; returns each request's JSON body.
    fn server(statuses: &[u16]) -> (String, thread::JoinHandle<Vec<serde_json::Value>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let statuses = statuses.to_vec();
        let handle = thread::spawn(move || {
            statuses
                .into_iter()
                .map(|status| {
                    let (stream, _) = listener.accept().expect("accept");
                    let mut reader = BufReader::new(stream);
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).expect("header");
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(value) = lower.strip_prefix("content-length:") {
                            length = value.trim().parse().expect("length");
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).expect("body");
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    reader.get_mut().write_all(reply.as_bytes()).expect("reply");
                    serde_json::from_slice(&body).expect("JSON body")
                })
                .collect()
        });
        (url, handle)
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("store.db").display());
        let secret = SecretSource::Given(StoreSecret::from_bytes([3; 32]));
        let store = Store::open_with(&url, &secret).expect("store");
        (dir, store)
    }

    fn send(gateway: &Webhook, store: &Store) -> Result<(), SmsError> {
        let phone = PhoneNumber::parse("+393331234567").expect("phone");
        let code = SmsCode::new(4_207).expect("six digits");
        gateway.send(store, &phone, code, UnixTime::EPOCH)
    }

    #[test]
    fn posts_phone_and_text_and_retries_after_a_500() {
        let (_dir, store) = store();
        let (url, server) = server(&[500, 200]);
        let gateway = Webhook::new(&url, 2)
            .expect("http URL")
            .with_backoff(Duration::from_millis(10));
        send(&gateway, &store).expect("sent on the second try");
        let bodies = server.join().expect("server");
        let expected = serde_json::json!({
            "phone": "+393331234567",
            "text": "tokenrig: your device replacement code is 004207. It expires in 5 minutes.",
        });
        assert_eq!(bodies, [expected.clone(), expected]);
    }

    #[test]
    fn a_client_error_is_not_retried_and_an_exhausted_retry_says_so() {
        let (_dir, store) = store();
        let (url, listener) = server(&[400]);
        let gateway = Webhook::new(&url, 3).expect("http URL");
        let err = send(&gateway, &store).expect_err("400");
        assert!(
            matches!(
                err,
                SmsError::Status {
                    status: 400,
                    attempts: 1
                }
            ),
            "{err}"
        );
        listener.join().expect("server");

        let (url, listener) = server(&[503, 503]);
        let gateway = Webhook::new(&url, 1)
            .expect("http URL")
            .with_backoff(Duration::from_millis(1));
        let err = send(&gateway, &store).expect_err("503 twice");
        assert_eq!(
            err.to_string(),
            "SMS webhook answered HTTP 503 after 2 attempt(s)"
        );
        listener.join().expect("server");
    }

    #[test]
    fn nothing_listening_is_a_transport_error_without_the_code_or_url() {
        let (_dir, store) = store();
        // Bound then dropped: a loopback port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let gateway = Webhook::new(&format!("http://user:s3cret@127.0.0.1:{port}/"), 1)
            .expect("http URL")
            .with_backoff(Duration::from_millis(1));
        let err = send(&gateway, &store).expect_err("refused");
        assert!(
            matches!(err, SmsError::Transport { attempts: 2, .. }),
            "{err}"
        );
        let shown = format!("{err} {err:?} {gateway:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("4207"), "{shown}");
        assert_eq!(err.to_string().lines().count(), 1);
    }

    #[test]
    fn only_http_urls_are_taken() {
        for url in ["ftp://example.invalid/", "example.invalid", ""] {
            assert!(
                matches!(Webhook::new(url, 0), Err(SmsError::BadUrl)),
                "{url}"
            );
        }
        assert!(Webhook::new("HTTPS://example.invalid/sms", 0).is_ok());
    }
}
