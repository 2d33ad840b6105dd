//! The HTTP target: any verifier speaking tokenrig's API
//! (`openapi/tokenrig.json`), e.g. `tokenrig serve`. Inventory, users and
//! SMS codes go through the admin API, so it needs the admin token.
//!
//! Time: if the server was started with `--test-clock`, the harness sets
//! its clock before every step (`POST /v1/admin/clock`) and every case
//! runs. Otherwise the server decides on real time: cases that move the
//! clock are reported unsupported and the rest run on the wall clock.

use serde_json::{Value, json};

use super::target::{
    ClockControl, Offers, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict,
    inventory_csv,
};
use crate::clock::UnixTime;
use crate::device::Serial;
use crate::user::TaxCode;

pub struct Http {
    base: String,
    bearer: String,
    agent: ureq::Agent,
    test_clock: bool,
    /// The last time sent, so unchanged time costs no request.
    sent_time: Option<UnixTime>,
}

fn failed(e: impl std::fmt::Display) -> TargetError {
    TargetError::Failed(e.to_string())
}

impl Http {
    /// Connects: checks the admin token and whether the clock can be set.
    pub fn new(base: &str, admin_token: &str) -> Result<Http, TargetError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut http = Http {
            base: base.trim_end_matches('/').to_owned(),
            bearer: format!("Bearer {admin_token}"),
            agent,
            test_clock: false,
            sent_time: None,
        };
        let (status, body) = http.request("GET", "/v1/admin/clock", None)?;
        match status {
            200 => http.test_clock = body["test_clock"] == true,
            401 | 403 => {
                return Err(TargetError::Failed(format!(
                    "the admin API refused the token: {}",
                    body["error"].as_str().unwrap_or("")
                )));
            }
            other => {
                return Err(TargetError::Failed(format!(
                    "GET {}/v1/admin/clock answered HTTP {other}: is this a tokenrig verifier?",
                    http.base
                )));
            }
        }
        Ok(http)
    }

    /// One request; JSON in and out. `body`: JSON, or (content type, bytes).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Body<'_>>,
    ) -> Result<(u16, Value), TargetError> {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &self.bearer)
                .call(),
            (_, Some(Body::Json(value))) => self
                .agent
                .post(&url)
                .header("Authorization", &self.bearer)
                .send_json(value),
            (_, Some(Body::Raw(content_type, bytes))) => self
                .agent
                .post(&url)
                .header("Authorization", &self.bearer)
                .content_type(content_type)
                .send(bytes),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", &self.bearer)
                .send_empty(),
        };
        let mut response =
            response.map_err(|e| TargetError::Failed(format!("{method} {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(failed)?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// An admin call that must succeed.
    fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Body<'_>>,
    ) -> Result<Value, TargetError> {
        let (status, value) = self.request(method, path, body)?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(TargetError::Failed(format!(
                "{method} {path}: HTTP {status}: {}",
                value["error"].as_str().unwrap_or("")
            )))
        }
    }

    /// A replacement step: a 2xx is accepted with its answer, a 4xx with a
    /// reason is rejected with it.
    fn replacement_step(
        &self,
        path: &str,
        body: Value,
    ) -> Result<Result<Value, String>, TargetError> {
        let (status, answer) = self.request("POST", path, Some(Body::Json(&body)))?;
        match status {
            200..=299 => Ok(Ok(answer)),
            404 if answer.get("reason").is_none() => Ok(Err("unknown_attempt".to_owned())),
            400..=499 => match answer["reason"].as_str() {
                Some(reason) => Ok(Err(reason.to_owned())),
                None => Err(TargetError::Failed(format!(
                    "POST {path}: HTTP {status}: {}",
                    answer["error"].as_str().unwrap_or("")
                ))),
            },
            _ => Err(TargetError::Failed(format!("POST {path}: HTTP {status}"))),
        }
    }
}

/// A replacement step's answer as a verdict.
fn step_verdict(answer: Result<Value, String>) -> Verdict {
    match answer {
        Ok(_) => Verdict::accepted(),
        Err(reason) => Verdict::rejected(reason),
    }
}

enum Body<'a> {
    Json(&'a Value),
    Raw(&'a str, &'a [u8]),
}

/// A decision answer (`{"accepted"|"synchronised": bool, "reason"}`).
fn decision(status: u16, answer: &Value, field: &str) -> Result<Verdict, TargetError> {
    if status != 200 {
        return Err(TargetError::Failed(format!(
            "HTTP {status}: {}",
            answer["error"].as_str().unwrap_or("")
        )));
    }
    let accepted = answer[field]
        .as_bool()
        .ok_or_else(|| TargetError::Failed(format!("answer without {field}: {answer}")))?;
    let reason = answer["reason"].as_str().unwrap_or("").to_owned();
    Ok(Verdict { accepted, reason })
}

impl Target for Http {
    fn name(&self) -> String {
        self.base.clone()
    }

    fn offers(&self) -> Offers {
        Offers::everything(if self.test_clock {
            ClockControl::Shared
        } else {
            ClockControl::None
        })
    }

    fn begin_case(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        if !self.test_clock || self.sent_time == Some(now) {
            return Ok(());
        }
        self.admin(
            "POST",
            "/v1/admin/clock",
            Some(Body::Json(&json!({"unix_nanos": now.as_nanos()}))),
        )?;
        self.sent_time = Some(now);
        Ok(())
    }

    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        let csv = inventory_csv(tokens);
        self.admin(
            "POST",
            "/v1/admin/import",
            Some(Body::Raw("text/csv", csv.as_bytes())),
        )
        .map(|_| ())
    }

    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        let body = json!({
            "username": user.tax_code.as_str(),
            "phone": user.phone,
            "user_code": user.user_code,
            "password": user.password,
        });
        self.admin("POST", "/v1/admin/users", Some(Body::Json(&body)))
            .map(|_| ())
    }

    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        let body = json!({"serial": serial.as_str()});
        self.admin(
            "POST",
            &format!("/v1/admin/users/{}/devices", user.as_str()),
            Some(Body::Json(&body)),
        )
        .map(|_| ())
    }

    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        let body = match subject {
            Subject::Serial(s) => json!({"serial": s.as_str(), "otp": otp}),
            Subject::User(u) => json!({"user": u.as_str(), "otp": otp}),
            Subject::UserCode(_) => return Err(failed("validate takes a serial or a user")),
        };
        let (status, answer) = self.request("POST", "/v1/validate", Some(Body::Json(&body)))?;
        decision(status, &answer, "accepted")
    }

    fn resync(
        &mut self,
        subject: &Subject,
        otp1: &str,
        otp2: &str,
    ) -> Result<Verdict, TargetError> {
        let body = match subject {
            Subject::Serial(s) => json!({"serial": s.as_str(), "otp1": otp1, "otp2": otp2}),
            Subject::UserCode(c) => json!({"user_code": c, "otp1": otp1, "otp2": otp2}),
            Subject::User(_) => return Err(failed("resync takes a serial or a user code")),
        };
        let (status, answer) = self.request("POST", "/v1/resync", Some(Body::Json(&body)))?;
        if status == 422 && matches!(subject, Subject::UserCode(_)) {
            // A user code the server cannot even parse names nobody.
            return Ok(Verdict::rejected("unknown_user_code"));
        }
        decision(status, &answer, "synchronised")
    }

    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.admin(
            "POST",
            &format!("/v1/admin/tokens/{}/unlock", serial.as_str()),
            None,
        )
        .map(|_| ())
    }

    fn replace_start(
        &mut self,
        user: &TaxCode,
        password: &str,
        old: Serial,
    ) -> Result<Started, TargetError> {
        let body = json!({"user": user.as_str(), "password": password, "old_serial": old.as_str()});
        Ok(match self.replacement_step("/v1/replacements", body)? {
            Ok(answer) => Started::Attempt(answer["id"].as_str().unwrap_or("").to_owned()),
            Err(reason) => Started::Rejected(reason),
        })
    }

    fn latest_sms_code(&mut self, phone: &str) -> Result<String, TargetError> {
        let escaped = phone.replace('+', "%2B");
        let messages = self.admin(
            "GET",
            &format!("/v1/admin/sms-outbox?phone={escaped}"),
            None,
        )?;
        messages
            .as_array()
            .and_then(|all| all.last())
            .and_then(|m| m["code"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| TargetError::Failed(format!("no SMS in the outbox for {phone}")))
    }

    fn replace_sms_code(&mut self, attempt: &str, code: &str) -> Result<Verdict, TargetError> {
        self.replacement_step(
            &format!("/v1/replacements/{attempt}/sms-code"),
            json!({"code": code}),
        )
        .map(step_verdict)
    }

    fn replace_device(&mut self, attempt: &str, serial: &str) -> Result<Verdict, TargetError> {
        self.replacement_step(
            &format!("/v1/replacements/{attempt}/device"),
            json!({"serial": serial}),
        )
        .map(step_verdict)
    }

    fn replace_otps(&mut self, attempt: &str, otps: &[String]) -> Result<Verdict, TargetError> {
        self.replacement_step(
            &format!("/v1/replacements/{attempt}/otps"),
            json!({"otps": otps}),
        )
        .map(step_verdict)
    }
}
