//! The two flows the product exists for (the seed documents: two-OTP
//! resync of a C100, replacement of the physical device), told one line
//! each, driven for real against the demo's live server: HTTP calls
//! through the harness's [`Http`] target, codes from the device models,
//! the SMS code read from the server's admin outbox.
//!
//! Each arrow of a line is an answer the server gave. A step answered
//! otherwise than the flow needs ends the line with what it said, and the
//! flow is not done.

use std::sync::Arc;
use std::time::Duration;

use tokenrig::clock::{Clock, ClockOffset, Drift, DriftingClock, VirtualClock};
use tokenrig::device::{C100, C200, Model, Token, keygen};
use tokenrig::harness::http::Http;
use tokenrig::harness::{Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict};
use tokenrig::user::TaxCode;

use super::{C100_SERIAL, C200_SERIAL, START, serial};
use crate::cli::{CliError, Context};

/// How many presses the C100 loses before its holder resyncs: far past
/// the look-ahead window (10 codes), well inside the resync window (1,000).
const PRESSES_LOST: u64 = 500;

/// The holder of both devices, as on a green licence card.
const TAX_CODE: &str = "rssmra85t10a562s";
const PHONE: &str = "+393331234567";
const USER_CODE: &str = "UC7F3A9B21";
const PASSWORD: &str = "green-card-password";

/// A flow as told, and whether it went through.
pub struct Told {
    /// What the flow is about: the devices.
    pub title: String,
    /// The steps, each with the server's answer.
    pub steps: String,
    pub done: bool,
}

/// The user, the C100 bound to them and the C200 on the shelf, on the
/// live server, with the clock the server decides at.
pub struct SeedFlows {
    http: Http,
    clock: VirtualClock,
    user: UserSpec,
    c100: C100,
    c200: C200,
}

impl SeedFlows {
    /// Connects to the server, sets its clock, imports both devices and
    /// creates the user holding the C100. Keys come from `seed`.
    pub fn set_up(url: &str, admin_token: &str, seed: u64) -> Result<SeedFlows, CliError> {
        const SETUP: &str = "demo set-up";
        let mut http = Http::new(url, admin_token).failed(SETUP)?;
        let clock = VirtualClock::new(START);
        http.set_time(clock.now()).failed(SETUP)?;
        let c100_key = keygen::key_from_seed(seed, 0, keygen::DEFAULT_KEY_LEN);
        let c200_key = keygen::key_from_seed(seed, 1, keygen::DEFAULT_KEY_LEN);
        let spec = |s: &str, model: Model, key: &tokenrig::otp::SecretKey| TokenSpec {
            serial: serial(s),
            model,
            key_hex: data_encoding::HEXLOWER.encode(key.as_bytes()),
            algorithm: "sha1",
            digits: 6,
            step: (model == Model::C200).then_some(60),
            counter: 0,
        };
        http.import(&[
            spec(C100_SERIAL, Model::C100, &c100_key),
            spec(C200_SERIAL, Model::C200, &c200_key),
        ])
        .failed(SETUP)?;
        let user = UserSpec {
            tax_code: TaxCode::parse(TAX_CODE).expect("the demo's tax code is valid"),
            phone: PHONE.to_owned(),
            user_code: USER_CODE.to_owned(),
            password: PASSWORD.to_owned(),
        };
        http.add_user(&user).failed(SETUP)?;
        http.assign(&user.tax_code, serial(C100_SERIAL))
            .failed(SETUP)?;
        let c100 = C100::new(serial(C100_SERIAL), c100_key);
        let quartz = DriftingClock::new(Arc::new(clock.clone()), Drift::ZERO, ClockOffset::ZERO);
        let c200 = C200::new(serial(C200_SERIAL), c200_key, quartz);
        Ok(SeedFlows {
            http,
            clock,
            user,
            c100,
            c200,
        })
    }

    /// Seed 002: the C100 pressed away from the server, then two-OTP
    /// resync by the user code, then in use again.
    pub fn resync(&mut self) -> Told {
        let mut story = Story::new(format!("resync of C100 {C100_SERIAL}"));
        let outcome = (|| {
            for _ in 0..PRESSES_LOST {
                self.c100.press().map_err(device)?;
            }
            story.said(format!("{PRESSES_LOST} presses lost"));
            let code = self.c100.press().map_err(device)?;
            let answer = self.http.validate(&self.by_user(), &code.to_string());
            story.rejected("the next code", "bad_otp", answer)?;
            let otp1 = self.c100.press().map_err(device)?;
            let otp2 = self.c100.press().map_err(device)?;
            let by_code = Subject::UserCode(self.user.user_code.clone());
            let answer = self
                .http
                .resync(&by_code, &otp1.to_string(), &otp2.to_string());
            story.accepted(
                "resync with user code + 2 OTPs",
                "resync with user code + 2 OTPs → synchronised",
                answer,
            )?;
            let code = self.c100.press().map_err(device)?;
            let answer = self.http.validate(&self.by_user(), &code.to_string());
            story.accepted("the next code", "next code accepted", answer)
        })();
        story.end(outcome)
    }

    /// Seed 000: the user's C100 replaced by the C200 from the shelf,
    /// then the C200 in use a minute later (its next code).
    pub fn replacement(&mut self) -> Told {
        let mut story = Story::new(format!(
            "replacement of C100 {C100_SERIAL} by C200 {C200_SERIAL}"
        ));
        let outcome = (|| {
            let started = self.http.replace_start(
                &self.user.tax_code,
                &self.user.password,
                serial(C100_SERIAL),
            );
            let attempt = match started.map_err(|e| Refused(format!("password: {e}")))? {
                Started::Attempt(id) => id,
                Started::Rejected(reason) => {
                    return Err(Refused(format!("password refused: {reason}")));
                }
            };
            story.said("password");
            let sms = self
                .http
                .latest_sms_code(&self.user.phone)
                .map_err(|e| Refused(format!("SMS code: {e}")))?;
            let answer = self.http.replace_sms_code(&attempt, &sms);
            story.accepted("SMS code", "SMS code (from the outbox)", answer)?;
            let answer = self.http.replace_device(&attempt, C200_SERIAL);
            story.accepted("serial", "serial", answer)?;
            let code = self.c200.press().map_err(device)?;
            let answer = self.http.replace_otps(&attempt, &[code.to_string()]);
            story.accepted("1 OTP", "1 OTP → bound", answer)?;
            self.clock.advance(Duration::from_secs(60));
            self.http
                .set_time(self.clock.now())
                .map_err(|e| Refused(format!("setting the clock: {e}")))?;
            let code = self.c200.press().map_err(device)?;
            let answer = self.http.validate(&self.by_user(), &code.to_string());
            story.accepted("the C200's next code", "next code accepted", answer)
        })();
        story.end(outcome)
    }

    fn by_user(&self) -> Subject {
        Subject::User(self.user.tax_code)
    }
}

fn device(e: tokenrig::device::DeviceError) -> Refused {
    Refused(format!("device: {e}"))
}

/// Why a flow stopped: what the server (or a device) said.
struct Refused(String);

/// A flow's line as it is told: each step once the server answered it.
struct Story {
    title: String,
    said: Vec<String>,
}

impl Story {
    fn new(title: String) -> Story {
        Story {
            title,
            said: Vec::new(),
        }
    }

    fn said(&mut self, what: impl Into<String>) {
        self.said.push(what.into());
    }

    /// A step the server must accept; told as `told` when it does.
    fn accepted(
        &mut self,
        step: &str,
        told: &str,
        answer: Result<Verdict, TargetError>,
    ) -> Result<(), Refused> {
        match answer {
            Ok(v) if v.accepted => {
                self.said(told);
                Ok(())
            }
            Ok(v) => Err(Refused(format!("{step} refused: {}", v.reason))),
            Err(e) => Err(Refused(format!("{step}: {e}"))),
        }
    }

    /// A step the server must refuse with `reason`; told as the reason.
    fn rejected(
        &mut self,
        step: &str,
        reason: &str,
        answer: Result<Verdict, TargetError>,
    ) -> Result<(), Refused> {
        match answer {
            Ok(v) if !v.accepted && v.reason == reason => {
                self.said(reason);
                Ok(())
            }
            Ok(v) if v.accepted => Err(Refused(format!("{step} accepted, not {reason}"))),
            Ok(v) => Err(Refused(format!("{step}: {}, not {reason}", v.reason))),
            Err(e) => Err(Refused(format!("{step}: {e}"))),
        }
    }

    fn end(self, outcome: Result<(), Refused>) -> Told {
        let mut steps = self.said;
        let done = match outcome {
            Ok(()) => true,
            Err(Refused(why)) => {
                steps.push(format!("✗ {why}"));
                false
            }
        };
        Told {
            title: self.title,
            steps: steps.join(" → "),
            done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_tells_each_answer_and_stops_at_the_first_refusal() {
        let mut story = Story::new("flow".to_owned());
        let outcome = (|| {
            story.said("start");
            story.rejected("a", "bad_otp", Ok(Verdict::rejected("bad_otp")))?;
            story.accepted("b", "b ok", Ok(Verdict::accepted()))?;
            story.accepted("c", "c ok", Ok(Verdict::rejected("wrong_sms_code")))?;
            story.accepted("d", "d ok", Ok(Verdict::accepted()))
        })();
        let told = story.end(outcome);
        assert_eq!(told.title, "flow");
        assert_eq!(
            told.steps,
            "start → bad_otp → b ok → ✗ c refused: wrong_sms_code"
        );
        assert!(!told.done);
    }

    #[test]
    fn a_rejection_expected_and_not_given_ends_the_story() {
        let mut story = Story::new("flow".to_owned());
        let outcome = story.rejected("the next code", "bad_otp", Ok(Verdict::accepted()));
        let told = story.end(outcome);
        assert_eq!(told.steps, "✗ the next code accepted, not bad_otp");
        assert!(!told.done);
        let mut story = Story::new("flow".to_owned());
        let outcome = story.accepted(
            "serial",
            "serial",
            Err(TargetError::Failed("HTTP 500: boom".to_owned())),
        );
        assert_eq!(story.end(outcome).steps, "✗ serial: HTTP 500: boom");
    }
}
