//! Why a submission was rejected: precise for the audit log, vague for the
//! user.
//!
//! `Display` is the audit text and [`Reason::code`] its stable identifier;
//! neither ever contains a submitted code, an SMS code or a key. What the
//! user sees is [`Reason::user_message`], which deliberately merges reasons
//! an attacker could learn from (a wrong code and a replayed one; an unknown
//! serial and someone else's).

use std::fmt;

use crate::device::{Family, FamilyMismatch, Model, Serial, SerialError};
use crate::otp::CodeError;

use super::replacement::Stage;

/// Which input of a request a malformed value was typed into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Otp,
    Otp1,
    Otp2,
    SmsCode,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Otp => "the OTP",
            Field::Otp1 => "OTP 1",
            Field::Otp2 => "OTP 2",
            Field::SmsCode => "the SMS code",
        })
    }
}

/// Why the verifier said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("{field} is malformed: {error}")]
    Malformed { field: Field, error: CodeError },
    #[error("the code matches no counter or step in the validation window")]
    BadOtp,
    #[error("the code is correct but already spent (at or below the stored counter or step)")]
    Replayed,
    #[error("the token is locked after too many consecutive failures")]
    Locked,
    #[error("the token's counter is at its last value; no code can be accepted")]
    CounterExhausted,
    #[error("the verifier's clock is before the token's T0")]
    ClockBeforeT0,

    #[error("OTP 1 and OTP 2 are the same code")]
    SameCode,
    #[error("OTP 2 is the code just before OTP 1")]
    Reversed,
    #[error("OTP 1 and OTP 2 are both in the resync window but not consecutive")]
    NotConsecutive,
    #[error("the codes were not found (as required) in the resync window")]
    OutsideWindow,

    #[error("wrong password")]
    WrongPassword,
    #[error("wrong SMS code")]
    WrongSmsCode,
    #[error("the SMS code has expired")]
    SmsCodeExpired,
    #[error("wrong SMS code, no tries left")]
    SmsTriesExhausted,
    #[error("the new serial is malformed: {0}")]
    MalformedSerial(SerialError),
    #[error("serial {0} is not in the inventory")]
    UnknownSerial(Serial),
    #[error("serial {0} is already assigned")]
    SerialAssigned(Serial),
    #[error("serial {0} is not active in the inventory")]
    SerialInactive(Serial),
    #[error(transparent)]
    WrongFamily(FamilyMismatch),
    #[error("{expected} OTP(s) required, {found} given")]
    WrongOtpCount { expected: usize, found: usize },
    #[error(
        "inventory inconsistency: serial {serial} is a {model} but its key is configured as a {configured} token"
    )]
    InventoryMismatch {
        serial: Serial,
        model: Model,
        configured: Family,
    },
    #[error("step {got} submitted while the attempt awaits {expected}")]
    OutOfOrder { expected: Stage, got: Stage },
    #[error("the replacement attempt has expired")]
    AttemptExpired,
    #[error("the replacement attempt is over ({0})")]
    AttemptOver(Stage),
}

impl Reason {
    /// A stable identifier for logs, metrics and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Malformed { .. } => "malformed",
            Reason::BadOtp => "bad_otp",
            Reason::Replayed => "replayed",
            Reason::Locked => "locked",
            Reason::CounterExhausted => "counter_exhausted",
            Reason::ClockBeforeT0 => "clock_before_t0",
            Reason::SameCode => "same_code",
            Reason::Reversed => "reversed",
            Reason::NotConsecutive => "not_consecutive",
            Reason::OutsideWindow => "outside_window",
            Reason::WrongPassword => "wrong_password",
            Reason::WrongSmsCode => "wrong_sms_code",
            Reason::SmsCodeExpired => "sms_code_expired",
            Reason::SmsTriesExhausted => "sms_tries_exhausted",
            Reason::MalformedSerial(_) => "malformed_serial",
            Reason::UnknownSerial(_) => "unknown_serial",
            Reason::SerialAssigned(_) => "serial_assigned",
            Reason::SerialInactive(_) => "serial_inactive",
            Reason::WrongFamily(_) => "wrong_family",
            Reason::WrongOtpCount { .. } => "wrong_otp_count",
            Reason::InventoryMismatch { .. } => "inventory_mismatch",
            Reason::OutOfOrder { .. } => "out_of_order",
            Reason::AttemptExpired => "attempt_expired",
            Reason::AttemptOver(_) => "attempt_over",
        }
    }

    /// Whether this rejection counts toward lockout.
    ///
    /// Every wrong input counts, a replay included: a correct but spent
    /// code is what an eavesdropper submits. What the user cannot have
    /// caused does not: a lock already in place, a clock or inventory
    /// fault, an exhausted counter, and timers running out.
    pub fn counts_as_failure(&self) -> bool {
        !matches!(
            self,
            Reason::Locked
                | Reason::CounterExhausted
                | Reason::ClockBeforeT0
                | Reason::InventoryMismatch { .. }
                | Reason::SmsCodeExpired
                | Reason::AttemptExpired
                | Reason::AttemptOver(_)
        )
    }

    /// What to show the user. Says what to do next, never which check
    /// failed when that would help an attacker: wrong and replayed codes
    /// read alike, and so do unknown, assigned and inactive serials.
    pub fn user_message(&self) -> &'static str {
        match self {
            Reason::Malformed { field, .. } => match field {
                Field::SmsCode => "The SMS code is the 6 digits in the message we sent you.",
                Field::Otp | Field::Otp1 | Field::Otp2 => {
                    "A code is the digits shown by the device, without spaces."
                }
            },
            Reason::BadOtp | Reason::Replayed => {
                "The code was not accepted. Press the button for a new code and try again."
            }
            Reason::Locked => {
                "The device is locked after too many failed attempts. Contact support to unlock it."
            }
            Reason::CounterExhausted | Reason::ClockBeforeT0 | Reason::InventoryMismatch { .. } => {
                "The device cannot be used right now. Contact support."
            }
            Reason::SameCode | Reason::Reversed | Reason::NotConsecutive => {
                "Enter two codes shown one after the other: press the button, type the code, press again, type the next one."
            }
            Reason::OutsideWindow => {
                "The codes could not be matched to this device. Check the device and try again with two new codes."
            }
            Reason::WrongPassword => "The password is not correct.",
            Reason::WrongSmsCode => "The SMS code is not correct.",
            Reason::SmsCodeExpired => "The SMS code has expired. Start the replacement again.",
            Reason::SmsTriesExhausted => "Too many wrong SMS codes. Start the replacement again.",
            Reason::MalformedSerial(
                SerialError::NonDigit { .. }
                | SerialError::WrongLength { .. }
                | SerialError::UnknownPrefix { .. },
            ) => "A serial number is the 13 digits printed on the back of the device.",
            Reason::MalformedSerial(_) => {
                "Type the serial number exactly as printed on the back of the device."
            }
            Reason::UnknownSerial(_)
            | Reason::SerialAssigned(_)
            | Reason::SerialInactive(_)
            | Reason::WrongFamily(_) => {
                "This device cannot be used as a replacement. Check the serial number on its back."
            }
            Reason::WrongOtpCount { .. } => {
                "Enter one code for a time device, two consecutive codes for an event device."
            }
            Reason::OutOfOrder { .. } | Reason::AttemptOver(_) => {
                "This step is not expected now. Start the replacement again."
            }
            Reason::AttemptExpired => "The replacement took too long. Start it again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::Digits;

    #[test]
    fn a_replay_reads_like_a_wrong_code_to_the_user() {
        assert_eq!(
            Reason::Replayed.user_message(),
            Reason::BadOtp.user_message()
        );
        assert_ne!(Reason::Replayed.to_string(), Reason::BadOtp.to_string());
        assert_ne!(Reason::Replayed.code(), Reason::BadOtp.code());
    }

    #[test]
    fn inventory_status_is_not_told_to_the_user() {
        let serial = Serial::parse("1000133508267").expect("vendor serial");
        let messages = [
            Reason::UnknownSerial(serial),
            Reason::SerialAssigned(serial),
            Reason::SerialInactive(serial),
        ]
        .map(|r| r.user_message());
        assert!(messages.iter().all(|m| *m == messages[0]));
    }

    #[test]
    fn malformed_input_is_described_without_echoing_it() {
        let error = crate::otp::Code::parse("12a45", Digits::SIX).expect_err("malformed");
        let reason = Reason::Malformed {
            field: Field::Otp2,
            error,
        };
        assert_eq!(
            reason.to_string(),
            "OTP 2 is malformed: a code must be 6 digits, this one has 5 characters"
        );
        assert!(!reason.to_string().contains("12a45"));
        assert!(reason.counts_as_failure());
    }

    #[test]
    fn only_user_caused_rejections_count() {
        assert!(Reason::Replayed.counts_as_failure());
        assert!(Reason::BadOtp.counts_as_failure());
        assert!(!Reason::Locked.counts_as_failure());
        assert!(!Reason::ClockBeforeT0.counts_as_failure());
        assert!(!Reason::AttemptExpired.counts_as_failure());
    }
}
