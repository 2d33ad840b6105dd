//! The webhook gateway: one `POST {"id": key, "phone": E164, "text": …}`
//! as JSON to a configured URL per try, the key also in an
//! `Idempotency-Key` header. Blocking (ureq, rustls: no system library),
//! since its caller is the dispatcher's own thread.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{Message, SmsError, SmsGateway};

/// How long one POST may take by default, connecting included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs each message to `url`. `Debug` does not show the URL, which may
/// carry a provider's credentials.
pub struct Webhook {
    url: String,
    timeout: Duration,
    agent: ureq::Agent,
}

impl Webhook {
    /// A gateway whose every try gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Webhook, SmsError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(SmsError::BadUrl);
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // Statuses are ours to judge; and a redirect must not carry
            // the code to a URL nobody configured.
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Ok(Webhook {
            url: url.to_owned(),
            timeout,
            agent: config.into(),
        })
    }

    /// How long one try may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmsGateway for Webhook {
    fn deliver(&self, message: &Message<'_>) -> Result<(), SmsError> {
        let body = Zeroizing::new(
            serde_json::json!({
                "id": message.key,
                "phone": message.phone.as_str(),
                "text": message.code.message_text(),
            })
            .to_string(),
        );
        match self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", message.key)
            .send(body.as_bytes())
        {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(SmsError::Status {
                status: response.status().as_u16(),
            }),
            Err(error) => Err(SmsError::Transport {
                reason: describe(&error),
            }),
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
    use std::thread;

    use super::*;
    use crate::user::PhoneNumber;
    use crate::verifier::SmsCode;

    /// Each request's idempotency key and JSON body.
    type Requests = Vec<(Option<String>, serde_json::Value)>;

    /// A one-thread HTTP server answering the given statuses in order, one
    /// per connection.
    fn server(statuses: &[u16]) -> (String, thread::JoinHandle<Requests>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let statuses = statuses.to_vec();
        let handle = thread::spawn(move || {
            statuses
                .into_iter()
                .map(|status| {
                    let (stream, _) = listener.accept().expect("accept");
                    let mut reader = BufReader::new(stream);
                    let (mut length, mut key) = (0, None);
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
                        if let Some(value) = lower.strip_prefix("idempotency-key:") {
                            key = Some(value.trim().to_owned());
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).expect("body");
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    reader.get_mut().write_all(reply.as_bytes()).expect("reply");
                    (key, serde_json::from_slice(&body).expect("JSON body"))
                })
                .collect()
        });
        (url, handle)
    }

    fn deliver(gateway: &Webhook) -> Result<(), SmsError> {
        let phone = PhoneNumber::parse("+393331234567").expect("phone");
        gateway.deliver(&Message {
            key: "0123456789abcdef0123456789abcdef",
            phone: &phone,
            code: SmsCode::new(4_207).expect("six digits"),
        })
    }

    #[test]
    fn one_post_per_try_with_the_key_in_header_and_body() {
        let (url, server) = server(&[500, 200]);
        let gateway = Webhook::new(&url, DEFAULT_TIMEOUT).expect("http URL");
        let first = deliver(&gateway).expect_err("500");
        assert!(matches!(first, SmsError::Status { status: 500 }), "{first}");
        assert!(first.is_transient());
        deliver(&gateway).expect("accepted on the second try");
        let requests = server.join().expect("server");
        let expected = serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef",
            "phone": "+393331234567",
            "text": "tokenrig: your device replacement code is 004207. It expires in 5 minutes.",
        });
        let key = Some("0123456789abcdef0123456789abcdef".to_owned());
        assert_eq!(requests, [(key.clone(), expected.clone()), (key, expected)]);
    }

    #[test]
    fn a_client_error_is_permanent_and_overload_is_transient() {
        let (url, listener) = server(&[400, 429, 503]);
        let gateway = Webhook::new(&url, DEFAULT_TIMEOUT).expect("http URL");
        let refused = deliver(&gateway).expect_err("400");
        assert!(!refused.is_transient(), "{refused}");
        assert_eq!(refused.to_string(), "SMS webhook answered HTTP 400");
        assert!(deliver(&gateway).expect_err("429").is_transient());
        assert!(deliver(&gateway).expect_err("503").is_transient());
        listener.join().expect("server");
    }

    #[test]
    fn nothing_listening_is_a_transport_error_without_the_code_or_url() {
        // Bound then dropped: a loopback port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let gateway = Webhook::new(
            &format!("http://user:s3cret@127.0.0.1:{port}/"),
            DEFAULT_TIMEOUT,
        )
        .expect("http URL");
        let err = deliver(&gateway).expect_err("refused");
        assert!(matches!(err, SmsError::Transport { .. }), "{err}");
        assert!(err.is_transient());
        let shown = format!("{err} {err:?} {gateway:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("4207"), "{shown}");
        assert_eq!(err.to_string().lines().count(), 1);
    }

    #[test]
    fn only_http_urls_are_taken() {
        for url in ["ftp://example.invalid/", "example.invalid", ""] {
            assert!(
                matches!(Webhook::new(url, DEFAULT_TIMEOUT), Err(SmsError::BadUrl)),
                "{url}"
            );
        }
        assert!(Webhook::new("HTTPS://example.invalid/sms", DEFAULT_TIMEOUT).is_ok());
    }
}
