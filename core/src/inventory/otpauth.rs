//! `otpauth://` Key URIs, one per line, as authenticator apps export them:
//! `otpauth://TYPE/LABEL?secret=BASE32&…` with TYPE `hotp` or `totp`.
//!
//! Parameters read: `secret` (required), `algorithm` (SHA1), `digits` (6),
//! `counter` (hotp, 0), `period` (totp, 30), and two of ours: `serial`, and
//! `model` (`c100`, `c200` or `usb`; a hotp URI is otherwise a C100). The
//! serial is the `serial` parameter, else the label's account name (the part
//! after `issuer:`), percent-decoded. Other parameters (`issuer`, `image`…)
//! are ignored, as apps add their own. Blank lines and `#` comments are
//! skipped.

use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use super::error::{EntryError, InventoryError, Location};
use super::{MovingFactor, MovingFields, RawEntry};
use crate::device::{Family, Model};
use crate::otp::{Algorithm, Digits, SecretKey};

const SCHEME: &str = "otpauth://";

pub(super) fn parse(text: &str) -> Result<Vec<(Location, RawEntry)>, InventoryError> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            let at = Location::Line(n);
            match key_uri(line) {
                Ok(entry) => Ok((at, entry)),
                Err(why) => Err(InventoryError::Entry { at, why }),
            }
        })
        .collect()
}

fn key_uri(line: &str) -> Result<RawEntry, EntryError> {
    let rest = line
        .get(..SCHEME.len())
        .filter(|s| s.eq_ignore_ascii_case(SCHEME))
        .map(|_| &line[SCHEME.len()..])
        .ok_or(EntryError::NotOtpauth)?;
    let type_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (kind, rest) = rest.split_at(type_end);
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
    let family = if kind.eq_ignore_ascii_case("hotp") {
        Family::Event
    } else if kind.eq_ignore_ascii_case("totp") {
        Family::Time
    } else {
        return Err(EntryError::OtpauthType);
    };
    let label = decode(label, "the label")?;
    let params = Parameters::parse(query)?;

    let model = match params.model.as_deref() {
        Some(name) => name.parse()?,
        None => match family {
            Family::Event => Model::C100,
            Family::Time => Model::C200,
        },
    };
    if model.family() != family {
        return Err(EntryError::WrongModel {
            model,
            entry: family,
        });
    }
    let account = label.split_once(':').map_or(label.as_str(), |(_, a)| a);
    let serial = params
        .serial
        .as_deref()
        .unwrap_or(account)
        .trim()
        .to_owned();
    if serial.is_empty() {
        return Err(EntryError::NoSerial(
            "no serial= parameter and no account name in the label",
        ));
    }
    let key = SecretKey::from_base32(
        params
            .secret
            .as_deref()
            .ok_or(EntryError::Missing("secret"))?,
    )?;
    let algorithm = match params.algorithm.as_deref() {
        Some(name) => name.parse()?,
        None => Algorithm::Sha1,
    };
    let digits = match params.digits.as_deref() {
        Some(n) => super::digits(n)?,
        None => Digits::SIX,
    };
    let counter = params
        .counter
        .as_deref()
        .map(|n| super::number("counter", n))
        .transpose()?;
    let period = params
        .period
        .as_deref()
        .map(|n| super::number("period", n))
        .transpose()?;
    let moving = MovingFactor::from_fields(
        model,
        MovingFields {
            counter: ("counter", counter),
            step: ("period", period),
            // Key URIs have no T0: always 0.
            t0: ("t0", None),
            // The Key URI format's default period.
            default_step: Some(30),
        },
    )?;
    RawEntry::new(serial, model, key, algorithm, digits, moving)
}

/// The parameters tokenrig reads, percent-decoded; each at most once.
#[derive(Default)]
struct Parameters {
    secret: Option<Zeroizing<String>>,
    algorithm: Option<String>,
    digits: Option<String>,
    counter: Option<String>,
    period: Option<String>,
    serial: Option<String>,
    model: Option<String>,
}

impl Parameters {
    fn parse(query: &str) -> Result<Parameters, EntryError> {
        let mut params = Parameters::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, slot) = match name {
                "secret" => {
                    if params.secret.is_some() {
                        return Err(EntryError::DuplicateParameter("secret"));
                    }
                    params.secret = Some(Zeroizing::new(decode(value, "secret")?));
                    continue;
                }
                "algorithm" => ("algorithm", &mut params.algorithm),
                "digits" => ("digits", &mut params.digits),
                "counter" => ("counter", &mut params.counter),
                "period" => ("period", &mut params.period),
                "serial" => ("serial", &mut params.serial),
                "model" => ("model", &mut params.model),
                _ => continue,
            };
            if slot.is_some() {
                return Err(EntryError::DuplicateParameter(name));
            }
            *slot = Some(decode(value, name)?);
        }
        Ok(params)
    }
}

/// Percent-decoding as RFC 3986 has it (`+` stays `+`).
fn decode(text: &str, what: &'static str) -> Result<String, EntryError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| EntryError::PercentEncoding(what))
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::super::{Format, parse as parse_inventory};
    use super::*;
    use crate::otp::{TimeStep, TotpParams};

    fn err(text: &str) -> String {
        parse_inventory(text.as_bytes(), Format::Otpauth, None)
            .unwrap_err()
            .to_string()
    }

    fn one(line: &str) -> RawEntry {
        key_uri(line).unwrap()
    }

    #[test]
    fn the_serial_comes_from_the_parameter_else_the_label() {
        let entries = parse_inventory(&fixture("fleet.txt"), Format::Otpauth, None).unwrap();
        // Line 5 names it in serial=, line 6 only in its label
        // "tokenrig%3A%202600124809778" ("tokenrig: 2600124809778").
        assert_eq!(entries[0].serial().as_str(), "1000133508267");
        assert_eq!(entries[1].serial().as_str(), "2600124809778");
        assert_eq!(entries[1].model(), Model::C200);
        assert_eq!(entries[2].model(), Model::Usb);
        assert_eq!(
            one("otpauth://totp/1234567890123?secret=AA").serial(),
            "1234567890123"
        );
        assert_eq!(one("otpauth://totp/a:b%20c?secret=AA").serial(), "b c");
        assert_eq!(
            one("otpauth://totp/x:y?serial=2000000000001&secret=AA").serial(),
            "2000000000001"
        );
    }

    #[test]
    fn parameters_and_defaults() {
        let e = one(
            "OTPAUTH://HOTP/x:1000000000001?secret=gezd%20gnbv&counter=9&digits=8&algorithm=SHA512",
        );
        assert_eq!(e.key().as_bytes(), b"12345");
        assert_eq!(e.moving_factor(), MovingFactor::Event { counter: 9 });
        assert_eq!(e.digits(), Digits::EIGHT);
        assert_eq!(e.algorithm(), Algorithm::Sha512);
        let e = one("otpauth://totp/x:2000000000001?secret=GEZDGNBV&issuer=x&image=y");
        assert_eq!(
            e.moving_factor(),
            MovingFactor::Time(TotpParams::new(TimeStep::SECONDS_30))
        );
        assert_eq!((e.digits(), e.algorithm()), (Digits::SIX, Algorithm::Sha1));
    }

    #[test]
    fn one_bad_line_among_good_ones_refuses_the_file() {
        assert_eq!(
            parse_inventory(&fixture("invalid/bad-entry.txt"), Format::Otpauth, None)
                .unwrap_err()
                .to_string(),
            "line 4: key is not valid base32: unexpected character at position 5"
        );
    }

    #[test]
    fn each_problem_names_its_line_and_never_the_secret() {
        for (line, expected) in [
            (
                "https://example.com/?secret=GEZDGNBV",
                "line 1: not an otpauth:// URI",
            ),
            (
                "otpauth://motp/x:1?secret=GEZDGNBV",
                "line 1: otpauth type must be hotp or totp",
            ),
            ("otpauth://totp/x:1", "line 1: secret is missing"),
            (
                "otpauth://totp/x:?secret=GEZDGNBV",
                "line 1: no serial: no serial= parameter and no account name in the label",
            ),
            (
                "otpauth://totp/x:1?secret=GEZDGNBV&secret=GEZDGNBV",
                "line 1: parameter secret is given twice",
            ),
            (
                "otpauth://totp/x:1?secret=GEZD%FFGNBV",
                "line 1: secret is not valid percent-encoded UTF-8",
            ),
            (
                "otpauth://totp/x:1?secret=GEZDGNBV&counter=3",
                "line 1: counter does not apply to a c200, a time token",
            ),
            (
                "otpauth://hotp/x:1?secret=GEZDGNBV&period=60",
                "line 1: period does not apply to a c100, an event token",
            ),
            (
                "otpauth://totp/x:1?secret=GEZDGNBV&period=0",
                "line 1: time step must be at least 1 second",
            ),
            (
                "otpauth://totp/x:1?secret=GEZDGNBV&model=usb",
                "line 1: a usb is an event token but the entry describes a time token",
            ),
            (
                "otpauth://hotp/x:1?secret=GEZDGNBV&algorithm=MD5",
                "line 1: unknown algorithm \"MD5\": expected sha1, sha256 or sha512",
            ),
        ] {
            let message = err(line);
            assert_eq!(message, expected, "{line}");
            assert!(!message.contains("GEZD"), "{message}");
        }
    }
}
