//! Every reason code an answer of the API can carry: the one closed list
//! the OpenAPI document, `docs/reasons.md` and the harness are held equal
//! to (`tests/reasons.rs`). A code is a stable id; its meaning is what
//! the audit log says, never what the user is shown.

/// One reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReasonCode {
    pub code: &'static str,
    pub meaning: &'static str,
    /// Why no conformance case returns it, where none does: each such
    /// code says so here, and the test holds the claim true.
    pub untested: Option<&'static str>,
}

const fn tested(code: &'static str, meaning: &'static str) -> ReasonCode {
    ReasonCode {
        code,
        meaning,
        untested: None,
    }
}

const fn untested(code: &'static str, meaning: &'static str, why: &'static str) -> ReasonCode {
    ReasonCode {
        code,
        meaning,
        untested: Some(why),
    }
}

/// The list, in the order a reader meets them: decisions, resync, the
/// replacement flow, then answers about the subject or the server.
pub const REASONS: &[ReasonCode] = &[
    tested("ok", "accepted (validate) or synchronised (resync)"),
    tested(
        "bad_otp",
        "the code matches no counter or step in the window",
    ),
    tested(
        "replayed",
        "the code is right but already spent (at or below the stored counter or step)",
    ),
    tested(
        "locked",
        "the token is locked after too many consecutive failures; nothing is computed",
    ),
    tested(
        "malformed",
        "an OTP or SMS code is not the digits it must be",
    ),
    untested(
        "counter_exhausted",
        "the token's counter is at 2^64-1: no code can be accepted",
        "a device at 2^64-1 shows no code, so a case cannot press one; the verifier core's validate tests cover it",
    ),
    untested(
        "clock_before_t0",
        "the verifier's clock is before the token's T0",
        "the suite's devices have T0 = 0; the verifier core's validate tests cover it",
    ),
    tested("same_code", "resync: OTP 1 and OTP 2 are the same code"),
    tested("reversed", "resync: OTP 2 is the code just before OTP 1"),
    tested(
        "not_consecutive",
        "resync: both codes are in the window but not consecutive",
    ),
    tested(
        "outside_window",
        "resync or replacement: the codes are not in the window they must be in",
    ),
    tested(
        "wrong_password",
        "replacement: wrong password, or no such user (they read alike)",
    ),
    tested(
        "wrong_sms_code",
        "replacement: wrong SMS code, tries remain",
    ),
    tested(
        "sms_code_expired",
        "replacement: the SMS code is older than its lifetime",
    ),
    tested(
        "sms_tries_exhausted",
        "replacement: wrong SMS code and no tries left; the attempt fails",
    ),
    tested(
        "malformed_serial",
        "replacement: the new serial is not a serial (1–40 printable ASCII characters), or not 13 digits starting 1 or 2 under the provider layout",
    ),
    tested("unknown_serial", "the serial is not in the inventory"),
    tested(
        "serial_assigned",
        "replacement: the new serial is already bound to an account",
    ),
    tested(
        "serial_inactive",
        "the serial is retired (replaced) and never accepted again",
    ),
    tested(
        "wrong_family",
        "replacement, under the provider layout: the serial's prefix names the other family than its inventory model",
    ),
    tested(
        "wrong_otp_count",
        "replacement: one OTP for a time device, two for an event device",
    ),
    untested(
        "inventory_mismatch",
        "replacement: the serial's model and its key's configuration disagree",
        "an import refuses such a token, so no inventory a case builds holds one",
    ),
    tested(
        "out_of_order",
        "replacement: a step submitted while the attempt awaits another",
    ),
    tested(
        "attempt_expired",
        "replacement: the attempt is older than its lifetime",
    ),
    tested(
        "attempt_over",
        "replacement: the attempt already completed or failed",
    ),
    tested("unknown_user_code", "resync: no user has this user code"),
    untested(
        "unknown_user",
        "validate: no user has this username",
        "cases name their users, who always exist; tests/server.rs checks it over HTTP",
    ),
    untested(
        "no_active_token",
        "validate: the user has no active token",
        "a case's user is given a device; tests/server.rs checks it over HTTP",
    ),
    tested(
        "unknown_attempt",
        "replacement: no attempt has this id (HTTP 404, named by the harness)",
    ),
    untested(
        "not_active_device",
        "replacement: the password is right but the device picked is not the account's",
        "the harness always starts with the account's own device; tests/server_replacement.rs checks it",
    ),
    untested(
        "raced",
        "replacement: another request took a step of this attempt first; try again",
        "a race needs two requests in flight at once; the service's replacement tests check it",
    ),
    untested(
        "overloaded",
        "the store queue is full: HTTP 503 with Retry-After, nothing written",
        "overload is not a behaviour of the verifier's rules; tests/server_backpressure.rs checks it",
    ),
    untested(
        "rate_limited",
        "the source went over `serve --rate-limit`: HTTP 429 with Retry-After, nothing decided",
        "a deployment setting, not a verifier rule; tests/server_rate_limit.rs checks it",
    ),
];

/// The entry for `code`, if the list has it.
pub fn reason_code(code: &str) -> Option<&'static ReasonCode> {
    REASONS.iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Serial;
    use crate::otp::{Code, Digits};
    use crate::service::ReplacementError;
    use crate::store::StoreError;
    use crate::verifier::{Field, Reason, Stage};

    /// One reason of each kind. The match below fails to compile when a
    /// kind is added, so this list cannot silently fall behind.
    fn one_of_each() -> Vec<Reason> {
        let serial = Serial::parse("1000133508267").expect("serial");
        let error = Code::parse("12a", Digits::SIX).expect_err("malformed");
        let mismatch = crate::device::SerialLayout::Provider
            .check_model(serial, crate::device::Model::C200)
            .expect_err("family");
        let mismatch = match mismatch {
            crate::device::SerialError::FamilyMismatch(m) => m,
            other => panic!("{other:?}"),
        };
        let all = vec![
            Reason::Malformed {
                field: Field::Otp,
                error,
            },
            Reason::BadOtp,
            Reason::Replayed,
            Reason::Locked,
            Reason::CounterExhausted,
            Reason::ClockBeforeT0,
            Reason::SameCode,
            Reason::Reversed,
            Reason::NotConsecutive,
            Reason::OutsideWindow,
            Reason::WrongPassword,
            Reason::WrongSmsCode,
            Reason::SmsCodeExpired,
            Reason::SmsTriesExhausted,
            Reason::MalformedSerial(crate::device::SerialError::Empty),
            Reason::UnknownSerial(serial),
            Reason::SerialAssigned(serial),
            Reason::SerialInactive(serial),
            Reason::WrongFamily(mismatch),
            Reason::WrongOtpCount {
                expected: 1,
                found: 2,
            },
            Reason::InventoryMismatch {
                serial,
                model: crate::device::Model::C100,
                configured: crate::device::Family::Time,
            },
            Reason::OutOfOrder {
                expected: Stage::Serial,
                got: Stage::Otps,
            },
            Reason::AttemptExpired,
            Reason::AttemptOver(Stage::Completed),
        ];
        for reason in &all {
            match reason {
                Reason::Malformed { .. }
                | Reason::BadOtp
                | Reason::Replayed
                | Reason::Locked
                | Reason::CounterExhausted
                | Reason::ClockBeforeT0
                | Reason::SameCode
                | Reason::Reversed
                | Reason::NotConsecutive
                | Reason::OutsideWindow
                | Reason::WrongPassword
                | Reason::WrongSmsCode
                | Reason::SmsCodeExpired
                | Reason::SmsTriesExhausted
                | Reason::MalformedSerial(_)
                | Reason::UnknownSerial(_)
                | Reason::SerialAssigned(_)
                | Reason::SerialInactive(_)
                | Reason::WrongFamily(_)
                | Reason::WrongOtpCount { .. }
                | Reason::InventoryMismatch { .. }
                | Reason::OutOfOrder { .. }
                | Reason::AttemptExpired
                | Reason::AttemptOver(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_code_an_answer_can_carry_is_listed_once() {
        let serial = Serial::parse("1000133508267").expect("serial");
        let user = crate::user::TaxCode::parse("RSSMRA85T10A562S").expect("tax code");
        let mut codes: Vec<&str> = one_of_each().iter().map(Reason::code).collect();
        codes.extend(["ok", "unknown_attempt"]);
        for missing in [
            StoreError::UnknownSerial(serial),
            StoreError::UnknownUser(user),
            StoreError::UnknownUserCode,
            StoreError::NoActiveToken(user),
        ] {
            codes.push(missing.missing().expect("names what is missing"));
        }
        for error in [
            ReplacementError::NotActiveDevice(serial),
            ReplacementError::Raced,
        ] {
            codes.push(error.code().expect("has a code"));
        }
        for code in codes {
            assert!(reason_code(code).is_some(), "{code} is not in REASONS");
        }
        let mut listed: Vec<&str> = REASONS.iter().map(|r| r.code).collect();
        let n = listed.len();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed.len(), n, "a code is listed twice");
    }
}
