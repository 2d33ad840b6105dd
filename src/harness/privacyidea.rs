//! The privacyIDEA peer: a [`Target`] over privacyIDEA's REST API, so the
//! suite that holds tokenrig to its policy can show where another verifier
//! decides otherwise (`docs/peers.md`).
//!
//! - Admin calls carry a JWT from `POST /auth` in `PI-Authorization`. Its
//!   `exp` is the server's clock plus an hour, so moving a faked clock
//!   forward expires it: a 401 re-authenticates once and retries.
//! - Tokens: `POST /token/init` (`genkey=0`, our key); an event token that
//!   starts at a counter other than 0 goes through the OATH CSV import
//!   (`POST /token/load`), the one way to set a counter, then
//!   `POST /token/set` puts its hash back (the import guesses it from the
//!   key's length).
//! - Users live in realm `tokenrig`: any realm of that name is used; with
//!   [`PrivacyIdea::with_users_db`] a missing one is created over an
//!   editable SQL resolver on an SQLite file the server can open.
//! - Answers: [`ANSWERS`] maps privacyIDEA's messages to reason codes; an
//!   unknown message is the verdict's reason verbatim, so a case shows it.
//! - Time: with a [`FakeClock`] (the server runs under libfaketime) the
//!   harness sets the instant; otherwise privacyIDEA decides on real time.
//!
//! privacyIDEA has no licence-card user codes and no replacement flow of
//! ours; unlock is the failcounter reset (`POST /token/reset`).

use serde_json::{Value, json};

use super::faketime::FakeClock;
use super::target::{
    ClockControl, Offers, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict,
};
use crate::clock::UnixTime;
use crate::device::Serial;
use crate::user::TaxCode;

/// The realm (and the resolver this adapter creates for it) users go to.
pub const REALM: &str = "tokenrig";

/// privacyIDEA's messages (`detail.message` of `/validate/check`,
/// `result.error.message` of a refused request) as substrings, and the
/// reason code each is. The first match wins, so a message that contains
/// another comes before it. Sources: `lib/token/auth.py`,
/// `lib/tokenclass.py` (`check_all`), `lib/error.py`.
pub const ANSWERS: &[(&str, &str)] = &[
    // check_token_list: the one PIN-matching token's last code again.
    ("wrong otp value. previous otp used again", "replayed"),
    ("wrong otp value", "bad_otp"),
    // Our tokens have no PIN, so the PIN part of `pass` is whatever it
    // has beyond otplen digits: a code of the wrong length.
    ("wrong otp pin", "malformed"),
    ("Failcounter exceeded", "locked"),
    ("The requested token could not be found", "unknown_serial"),
    // /token/resync of a serial nobody has.
    ("No token found for serials", "unknown_serial"),
    ("The user has no tokens assigned", "no_active_token"),
    // ERR904 (UserError): "User <name@realm> does not exist."
    ("ERR904: User <", "unknown_user"),
];

/// The reason code of a privacyIDEA message, if [`ANSWERS`] knows it.
pub fn reason_for(message: &str) -> Option<&'static str> {
    ANSWERS
        .iter()
        .find(|(pattern, _)| message.contains(pattern))
        .map(|(_, reason)| *reason)
}

/// What a refused resync says: privacyIDEA answers `value: false` and
/// nothing else, whichever check failed.
pub const RESYNC_REFUSED: &str = "resync refused (privacyIDEA gives no reason)";

pub struct PrivacyIdea {
    base: String,
    admin_user: String,
    admin_password: String,
    agent: ureq::Agent,
    jwt: String,
    version: String,
    clock: Option<FakeClock>,
    /// The last instant set, so an unchanged time costs no write.
    sent_time: Option<UnixTime>,
    /// The resolver of realm [`REALM`], once there is one.
    resolver: Option<String>,
}

fn failed(e: impl std::fmt::Display) -> TargetError {
    TargetError::Failed(e.to_string())
}

impl std::fmt::Debug for PrivacyIdea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyIdea")
            .field("base", &self.base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
    Json(&'a Value),
    /// One file field plus form fields, `multipart/form-data`.
    File {
        fields: &'a [(&'a str, &'a str)],
        file: &'a str,
    },
}

impl PrivacyIdea {
    /// Logs in as the admin and looks for realm [`REALM`]. `clock`: the
    /// control file of the libfaketime the server runs under, if it does.
    pub fn connect(
        base_url: &str,
        admin_user: &str,
        admin_password: &str,
        clock: Option<FakeClock>,
    ) -> Result<PrivacyIdea, TargetError> {
        // A fresh connection per request: gunicorn's sync workers close
        // each one anyway, and a pooled one closed meanwhile fails a POST.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .build()
            .into();
        let mut peer = PrivacyIdea {
            base: base_url.trim_end_matches('/').to_owned(),
            admin_user: admin_user.to_owned(),
            admin_password: admin_password.to_owned(),
            agent,
            jwt: String::new(),
            version: String::new(),
            clock,
            sent_time: None,
            resolver: None,
        };
        peer.authenticate()?;
        peer.resolver = peer.realm_resolver()?;
        Ok(peer)
    }

    /// Creates realm [`REALM`] if missing, over an editable SQL resolver
    /// on `users_db`: an SQLite file, on the server's machine, with
    /// privacyIDEA's `users` table (`privacyidea-create-userdb`'s schema).
    pub fn with_users_db(mut self, users_db: &str) -> Result<PrivacyIdea, TargetError> {
        if self.resolver.is_some() {
            return Ok(self);
        }
        self.tick_past_config_cache()?;
        let map = json!({
            "userid": "id", "username": "username", "email": "email",
            "password": "password", "phone": "phone", "mobile": "mobile",
            "surname": "surname", "givenname": "givenname",
            "description": "description",
        })
        .to_string();
        let resolver = json!({
            "type": "sqlresolver", "Driver": "sqlite", "Server": "/",
            "Database": users_db, "Table": "users", "Limit": "500",
            "Editable": "1", "Map": map,
        });
        self.admin(&format!("/resolver/{REALM}"), Body::Json(&resolver))?;
        self.tick_past_config_cache()?;
        self.admin(
            &format!("/realm/{REALM}"),
            Body::Form(&[("resolvers", REALM)]),
        )?;
        self.tick_past_config_cache()?;
        // This request, after the last tick, is the one that rereads the
        // configuration.
        self.resolver = self.realm_resolver()?;
        match self.resolver {
            Some(_) => Ok(self),
            None => Err(TargetError::Failed(format!(
                "privacyIDEA does not list realm `{REALM}` after creating it"
            ))),
        }
    }

    /// privacyIDEA rereads its cached configuration only when its clock
    /// has passed the cache's timestamp and the database's config
    /// timestamp is newer. Under a frozen clock neither happens after a
    /// write, and the new resolver or realm would stay unseen: before and
    /// after each config write, move the clock a second past the server's.
    fn tick_past_config_cache(&mut self) -> Result<(), TargetError> {
        if self.clock.is_none() {
            return Ok(());
        }
        let (_, answer) = self.request("GET", "/realm/", Body::None, true)?;
        let server_now = answer["time"]
            .as_f64()
            .ok_or_else(|| TargetError::Failed(format!("an answer without its time: {answer}")))?;
        // Whole seconds: the cache's timestamp is compared in seconds.
        let next = UnixTime::from_secs(server_now.max(0.0) as u64 + 1);
        self.set_time(next)
    }

    /// privacyIDEA's version, as its answers state it (`3.14`).
    pub fn version(&self) -> &str {
        &self.version
    }

    fn authenticate(&mut self) -> Result<(), TargetError> {
        let form = [
            ("username", self.admin_user.as_str()),
            ("password", self.admin_password.as_str()),
        ];
        let (status, answer) = self.send("POST", "/auth", &Body::Form(&form), false)?;
        let token = answer["result"]["value"]["token"].as_str();
        match (status, token) {
            (200, Some(token)) => {
                self.jwt = token.to_owned();
                self.version = answer["versionnumber"].as_str().unwrap_or("").to_owned();
                Ok(())
            }
            _ => Err(TargetError::Failed(format!(
                "privacyIDEA at {} refused the admin login (HTTP {status}): {}",
                self.base,
                error_message(&answer).unwrap_or("no message")
            ))),
        }
    }

    /// The resolver of realm [`REALM`], if the realm exists.
    fn realm_resolver(&mut self) -> Result<Option<String>, TargetError> {
        let realms = self.admin_get("/realm/")?;
        Ok(realms["result"]["value"][REALM]["resolver"]
            .as_array()
            .and_then(|all| all.first())
            .and_then(|r| r["name"].as_str())
            .map(str::to_owned))
    }

    /// One request; the JSON answer whatever the status. `admin`: with the
    /// JWT, logging in again once if it was refused (expired by a clock
    /// moved forward).
    fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Body<'_>,
        admin: bool,
    ) -> Result<(u16, Value), TargetError> {
        let (status, answer) = self.send(method, path, &body, admin)?;
        if admin && status == 401 {
            self.authenticate()?;
            return self.send(method, path, &body, admin);
        }
        Ok((status, answer))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: &Body<'_>,
        admin: bool,
    ) -> Result<(u16, Value), TargetError> {
        let url = format!("{}{path}", self.base);
        let auth = if admin { self.jwt.as_str() } else { "" };
        let response = if method == "GET" {
            let mut get = self.agent.get(&url);
            if admin {
                get = get.header("PI-Authorization", auth);
            }
            get.call()
        } else {
            let mut post = self.agent.post(&url);
            if admin {
                post = post.header("PI-Authorization", auth);
            }
            match body {
                Body::None => post.send_empty(),
                Body::Form(form) => post.send_form(form.iter().copied()),
                Body::Json(value) => post.send_json(value),
                Body::File { fields, file } => {
                    let (content_type, bytes) = multipart(fields, file);
                    post.content_type(content_type.as_str()).send(&bytes[..])
                }
            }
        };
        let mut response =
            response.map_err(|e| TargetError::Failed(format!("{method} {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| TargetError::Failed(format!("{method} {url}: {e}")))?;
        match serde_json::from_str(&text) {
            Ok(value) => Ok((status, value)),
            Err(_) => Err(TargetError::Failed(format!(
                "{method} {url}: HTTP {status}, not JSON: {}",
                text.chars().take(200).collect::<String>()
            ))),
        }
    }

    /// An admin POST that must succeed (`result.status` true).
    fn admin(&mut self, path: &str, body: Body<'_>) -> Result<Value, TargetError> {
        let (status, answer) = self.request("POST", path, body, true)?;
        succeeded("POST", path, status, answer)
    }

    fn admin_get(&mut self, path: &str) -> Result<Value, TargetError> {
        let (status, answer) = self.request("GET", path, Body::None, true)?;
        succeeded("GET", path, status, answer)
    }

    fn import_one(&mut self, token: &TokenSpec) -> Result<(), TargetError> {
        let serial = token.serial.as_str();
        let digits = token.digits.to_string();
        match token.step {
            Some(step) => {
                let step = step.to_string();
                self.admin(
                    "/token/init",
                    Body::Form(&[
                        ("type", "totp"),
                        ("serial", serial),
                        ("otpkey", &token.key_hex),
                        ("genkey", "0"),
                        ("otplen", &digits),
                        ("hashlib", token.algorithm),
                        ("timeStep", &step),
                    ]),
                )?;
            }
            None if token.counter == 0 => {
                self.admin(
                    "/token/init",
                    Body::Form(&[
                        ("type", "hotp"),
                        ("serial", serial),
                        ("otpkey", &token.key_hex),
                        ("genkey", "0"),
                        ("otplen", &digits),
                        ("hashlib", token.algorithm),
                    ]),
                )?;
            }
            None => {
                // OATH CSV: serial, key, hotp, otplen, counter.
                let csv = format!(
                    "{serial}, {}, hotp, {digits}, {}\n",
                    token.key_hex, token.counter
                );
                let answer = self.admin(
                    "/token/load/tokenrig.csv",
                    Body::File {
                        fields: &[("type", "oathcsv")],
                        file: &csv,
                    },
                )?;
                if answer["result"]["value"]["n_imported"] != 1 {
                    return Err(TargetError::Failed(format!(
                        "privacyIDEA did not import {serial}: {}",
                        answer["result"]["value"]
                    )));
                }
                self.admin(
                    "/token/set",
                    Body::Form(&[("serial", serial), ("hashlib", token.algorithm)]),
                )?;
            }
        }
        Ok(())
    }

    fn users_realm(&self) -> Result<&str, TargetError> {
        self.resolver.as_deref().ok_or_else(|| {
            TargetError::Unsupported(format!("privacyIDEA has no realm `{REALM}` for users"))
        })
    }
}

/// `result.status` true, or the request's error as a failure.
fn succeeded(method: &str, path: &str, status: u16, answer: Value) -> Result<Value, TargetError> {
    if answer["result"]["status"] == true {
        Ok(answer)
    } else {
        Err(TargetError::Failed(format!(
            "{method} {path}: HTTP {status}: {}",
            error_message(&answer).unwrap_or("no message")
        )))
    }
}

fn error_message(answer: &Value) -> Option<&str> {
    answer["result"]["error"]["message"].as_str()
}

/// A `/validate/check` answer as a verdict.
fn check_verdict(answer: &Value) -> Result<Verdict, TargetError> {
    if answer["result"]["value"] == true {
        return Ok(Verdict::accepted());
    }
    let message = answer["detail"]["message"]
        .as_str()
        .or_else(|| error_message(answer))
        .ok_or_else(|| TargetError::Failed(format!("an answer without a message: {answer}")))?;
    Ok(rejection(message))
}

/// A `/token/resync` answer as a verdict.
fn resync_verdict(answer: &Value) -> Result<Verdict, TargetError> {
    match (&answer["result"]["value"], error_message(answer)) {
        (Value::Bool(true), _) => Ok(Verdict::accepted()),
        (Value::Bool(false), None) => Ok(Verdict::rejected(RESYNC_REFUSED)),
        (_, Some(message)) => Ok(rejection(message)),
        _ => Err(TargetError::Failed(format!(
            "an unexpected answer: {answer}"
        ))),
    }
}

/// The reason for `message`, or the message itself when it has none.
fn rejection(message: &str) -> Verdict {
    Verdict::rejected(reason_for(message).unwrap_or(message))
}

/// A `multipart/form-data` body with `fields` and one file field `file`.
fn multipart(fields: &[(&str, &str)], file: &str) -> (String, Vec<u8>) {
    // Neither the fields nor an inventory line holds this.
    const BOUNDARY: &str = "tokenrig-privacyidea-f3a9c2e1";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tokenrig.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{BOUNDARY}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={BOUNDARY}"),
        body.into_bytes(),
    )
}

impl Target for PrivacyIdea {
    fn name(&self) -> String {
        format!("privacyIDEA {} at {}", self.version, self.base)
    }

    fn offers(&self) -> Offers {
        Offers {
            clock: match self.clock {
                Some(_) => ClockControl::Shared,
                None => ClockControl::None,
            },
            users: self.resolver.is_some(),
            resync: true,
            user_codes: false,
            unlock: true,
            replacement: false,
        }
    }

    fn begin_case(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        let Some(clock) = &self.clock else {
            return Err(TargetError::Unsupported(
                "privacyIDEA runs on real time (no faketime control file)".to_owned(),
            ));
        };
        if self.sent_time != Some(now) {
            clock.set(now).map_err(failed)?;
            self.sent_time = Some(now);
        }
        Ok(())
    }

    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        tokens.iter().try_for_each(|token| self.import_one(token))
    }

    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        let resolver = self.users_realm()?.to_owned();
        self.admin(
            "/user/",
            Body::Form(&[
                ("user", user.tax_code.as_str()),
                ("resolver", &resolver),
                ("realm", REALM),
                ("password", &user.password),
                ("mobile", &user.phone),
            ]),
        )
        .map(|_| ())
    }

    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        self.users_realm()?;
        self.admin(
            "/token/assign",
            Body::Form(&[
                ("serial", serial.as_str()),
                ("user", user.as_str()),
                ("realm", REALM),
            ]),
        )
        .map(|_| ())
    }

    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        let (_, answer) = match subject {
            Subject::Serial(serial) => self.request(
                "POST",
                "/validate/check",
                Body::Form(&[("serial", serial.as_str()), ("pass", otp)]),
                false,
            )?,
            Subject::User(user) => self.request(
                "POST",
                "/validate/check",
                Body::Form(&[("user", user.as_str()), ("realm", REALM), ("pass", otp)]),
                false,
            )?,
            Subject::UserCode(_) => {
                return Err(TargetError::Unsupported(
                    "privacyIDEA has no licence-card user codes".to_owned(),
                ));
            }
        };
        check_verdict(&answer)
    }

    fn resync(
        &mut self,
        subject: &Subject,
        otp1: &str,
        otp2: &str,
    ) -> Result<Verdict, TargetError> {
        let serial = match subject {
            Subject::Serial(serial) => *serial,
            Subject::User(_) | Subject::UserCode(_) => {
                return Err(TargetError::Unsupported(
                    "privacyIDEA resyncs by serial only".to_owned(),
                ));
            }
        };
        let (_, answer) = self.request(
            "POST",
            "/token/resync",
            Body::Form(&[("serial", serial.as_str()), ("otp1", otp1), ("otp2", otp2)]),
            true,
        )?;
        resync_verdict(&answer)
    }

    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.admin("/token/reset", Body::Form(&[("serial", serial.as_str())]))
            .map(|_| ())
    }

    fn replace_start(
        &mut self,
        _user: &TaxCode,
        _password: &str,
        _old: Serial,
    ) -> Result<Started, TargetError> {
        Err(no_replacement())
    }

    fn latest_sms_code(&mut self, _phone: &str) -> Result<String, TargetError> {
        Err(no_replacement())
    }

    fn replace_sms_code(&mut self, _attempt: &str, _code: &str) -> Result<Verdict, TargetError> {
        Err(no_replacement())
    }

    fn replace_device(&mut self, _attempt: &str, _serial: &str) -> Result<Verdict, TargetError> {
        Err(no_replacement())
    }

    fn replace_otps(&mut self, _attempt: &str, _otps: &[String]) -> Result<Verdict, TargetError> {
        Err(no_replacement())
    }
}

fn no_replacement() -> TargetError {
    TargetError::Unsupported("privacyIDEA has no device replacement flow of ours".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_message_maps_to_its_reason() {
        let cases = [
            ("wrong otp value. previous otp used again", "replayed"),
            ("wrong otp value", "bad_otp"),
            ("wrong otp pin", "malformed"),
            ("Failcounter exceeded", "locked"),
            ("The requested token could not be found.", "unknown_serial"),
            ("No token found for serials: 1000042", "unknown_serial"),
            ("The user has no tokens assigned", "no_active_token"),
            (
                "ERR904: User <rssmra85t10a562s@tokenrig> does not exist.",
                "unknown_user",
            ),
        ];
        for (message, reason) in cases {
            assert_eq!(reason_for(message), Some(reason), "{message}");
        }
    }

    #[test]
    fn a_replay_is_not_read_as_a_wrong_code() {
        // "wrong otp value" is a prefix of the replay message: order matters.
        let replay = ANSWERS
            .iter()
            .position(|(p, _)| p.contains("previous otp"))
            .expect("replay pattern");
        let wrong = ANSWERS
            .iter()
            .position(|(p, _)| *p == "wrong otp value")
            .expect("wrong-code pattern");
        assert!(replay < wrong);
    }

    #[test]
    fn an_unknown_message_is_the_reason_verbatim() {
        let answer = json!({
            "result": {"status": true, "value": false},
            "detail": {"message": "Outside validity period"},
        });
        let verdict = check_verdict(&answer).expect("a verdict");
        assert_eq!(verdict, Verdict::rejected("Outside validity period"));
    }

    #[test]
    fn check_answers_become_verdicts() {
        let accept = json!({
            "result": {"authentication": "ACCEPT", "status": true, "value": true},
            "detail": {"message": "matching 1 tokens"},
        });
        assert_eq!(
            check_verdict(&accept).expect("verdict"),
            Verdict::accepted()
        );
        let unknown = json!({
            "result": {"status": false, "error": {"code": 601,
                "message": "The requested token could not be found."}},
        });
        assert_eq!(
            check_verdict(&unknown).expect("verdict"),
            Verdict::rejected("unknown_serial")
        );
        assert!(check_verdict(&json!({"result": {"status": true}})).is_err());
    }

    #[test]
    fn resync_answers_become_verdicts() {
        let ok = json!({"result": {"status": true, "value": true}});
        assert_eq!(resync_verdict(&ok).expect("verdict"), Verdict::accepted());
        let refused = json!({"result": {"status": true, "value": false}});
        assert_eq!(
            resync_verdict(&refused).expect("verdict"),
            Verdict::rejected(RESYNC_REFUSED)
        );
        let unknown = json!({"result": {"status": false, "error": {"code": 601,
            "message": "No token found for serials: 1000042"}}});
        assert_eq!(
            resync_verdict(&unknown).expect("verdict"),
            Verdict::rejected("unknown_serial")
        );
    }

    #[test]
    fn a_multipart_body_holds_the_fields_and_the_file() {
        let (content_type, body) = multipart(&[("type", "oathcsv")], "1000001, ab, hotp, 6, 5\n");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("boundary");
        let body = String::from_utf8(body).expect("utf-8");
        assert!(body.starts_with(&format!("--{boundary}\r\n")));
        assert!(body.contains("name=\"type\"\r\n\r\noathcsv\r\n"));
        assert!(body.contains("filename=\"tokenrig.csv\""));
        assert!(body.contains("\r\n\r\n1000001, ab, hotp, 6, 5\n\r\n"));
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    }
}
