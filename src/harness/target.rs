//! What the harness drives: a verifier behind the [`Target`] trait.
//!
//! Small on purpose: an adapter for another product (privacyIDEA, LinOTP,
//! a company's own) implements these calls in one file. It declares what it
//! [`Offers`]; the runner compares that with what a case needs before the
//! case runs, so a missing feature is `unsupported` with its reason, never
//! a false failure. [`TargetError::Unsupported`] from a call is the last
//! resort for what only shows at run time.

use crate::clock::UnixTime;
use crate::device::{Model, Serial};
use crate::user::TaxCode;

/// A verifier's answer to one request: accepted, or the reason code
/// (tokenrig's [`Reason::code`](crate::verifier::Reason::code) names; an
/// adapter maps its product's answers onto them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub accepted: bool,
    pub reason: String,
}

impl Verdict {
    pub fn accepted() -> Verdict {
        Verdict {
            accepted: true,
            reason: "ok".to_owned(),
        }
    }

    pub fn rejected(reason: impl Into<String>) -> Verdict {
        Verdict {
            accepted: false,
            reason: reason.into(),
        }
    }

    /// A rejection the target gave no reason code for (a RADIUS server
    /// without a Reply-Message the harness knows): the runner compares
    /// only accept or reject, and the case's report says so.
    pub fn rejected_without_reason() -> Verdict {
        Verdict::rejected("")
    }

    pub fn reason_given(&self) -> bool {
        self.accepted || !self.reason.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target cannot do this at all (no clock control, no
    /// replacement flow…): the case is reported `unsupported`.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The request failed (transport, setup): the case is an error.
    #[error("{0}")]
    Failed(String),
}

/// A token to put in the target's inventory.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub serial: Serial,
    pub model: Model,
    /// Lower-case hex.
    pub key_hex: String,
    pub algorithm: &'static str,
    pub digits: u8,
    /// Time tokens.
    pub step: Option<u64>,
    /// Event tokens: the counter the inventory records.
    pub counter: u64,
}

/// Tokens as inventory CSV (`serial,kind,key,digits,step,counter,algorithm`),
/// what both the builtin and the HTTP target import.
pub fn inventory_csv(tokens: &[TokenSpec]) -> String {
    let mut csv = String::from("serial,kind,key,digits,step,counter,algorithm\n");
    for t in tokens {
        // The inventory's counter is an event token's only.
        let counter = match t.step {
            None => t.counter.to_string(),
            Some(_) => String::new(),
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{counter},{}\n",
            t.serial.as_str(),
            t.model.name(),
            t.key_hex,
            t.digits,
            t.step.map(|s| s.to_string()).unwrap_or_default(),
            t.algorithm
        ));
    }
    csv
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub tax_code: TaxCode,
    pub phone: String,
    pub user_code: String,
    pub password: String,
}

/// Whom a validate or resync is about.
#[derive(Debug, Clone)]
pub enum Subject {
    Serial(Serial),
    User(TaxCode),
    UserCode(String),
}

/// How a target lets the harness set the instant it decides at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockControl {
    /// It decides on its own wall clock. Cases that pin an instant are
    /// unsupported; short `advance`s are waited out in real time.
    None,
    /// One clock for the whole target (`serve --test-clock`, a peer under
    /// libfaketime): cases run one at a time.
    Shared,
    /// Each case has its own clock (the builtin target): cases may run
    /// concurrently.
    PerCase,
}

/// What a target offers; a case's needs are checked against it before it
/// runs (`runner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offers {
    pub clock: ClockControl,
    /// Users, assignment, and validation by the user's name.
    pub users: bool,
    /// Two-OTP resync (by serial; by user code needs `user_codes` too).
    pub resync: bool,
    /// Resync by the user code printed on a licence card.
    pub user_codes: bool,
    /// Admin unlock of a locked token.
    pub unlock: bool,
    /// The four-step device replacement flow with its SMS code.
    pub replacement: bool,
}

impl Offers {
    /// Everything tokenrig's own API offers, with the given clock.
    pub fn everything(clock: ClockControl) -> Offers {
        Offers {
            clock,
            users: true,
            resync: true,
            user_codes: true,
            unlock: true,
            replacement: true,
        }
    }
}

/// A replacement's first step: the attempt the next steps name, or the
/// reason it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    Attempt(String),
    Rejected(String),
}

impl Started {
    pub fn verdict(&self) -> Verdict {
        match self {
            Started::Attempt(_) => Verdict::accepted(),
            Started::Rejected(reason) => Verdict::rejected(reason.clone()),
        }
    }
}

/// The calls a conformance case makes. Each case starts with
/// [`begin_case`](Target::begin_case); serials and users it then creates
/// are unique to the run, so a target holding earlier runs' data works.
///
/// `Send`, so that cases can run on several threads, each with its own
/// connection to the target.
pub trait Target: Send {
    /// For the report: `builtin`, a URL, a product name.
    fn name(&self) -> String;
    /// What the target can do; constant for its lifetime.
    fn offers(&self) -> Offers;
    fn begin_case(&mut self) -> Result<(), TargetError>;
    /// The instant the target decides at from now on; called only when
    /// [`Offers::clock`] is not [`ClockControl::None`].
    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError>;
    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError>;
    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError>;
    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError>;
    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError>;
    fn resync(&mut self, subject: &Subject, otp1: &str, otp2: &str)
    -> Result<Verdict, TargetError>;
    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError>;
    /// Replacement step 1.
    fn replace_start(
        &mut self,
        user: &TaxCode,
        password: &str,
        old: Serial,
    ) -> Result<Started, TargetError>;
    /// The newest SMS code the target sent to `phone`.
    fn latest_sms_code(&mut self, phone: &str) -> Result<String, TargetError>;
    fn replace_sms_code(&mut self, attempt: &str, code: &str) -> Result<Verdict, TargetError>;
    fn replace_device(&mut self, attempt: &str, serial: &str) -> Result<Verdict, TargetError>;
    fn replace_otps(&mut self, attempt: &str, otps: &[String]) -> Result<Verdict, TargetError>;
}
