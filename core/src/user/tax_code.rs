//! The username: an Italian tax code (*codice fiscale*) of a natural person.
//!
//! Sixteen characters, laid out by DM 23 December 1976 n. 13813:
//!
//! | positions | field | class |
//! | --- | --- | --- |
//! | 1–6 | surname and name letters | letters |
//! | 7–8 | year of birth | digits |
//! | 9 | month of birth | one of `ABCDEHLMPRST` (January … December) |
//! | 10–11 | day of birth, +40 for women | digits |
//! | 12–15 | municipality or foreign state (Belfiore code) | a letter, three digits |
//! | 16 | check character | a letter |
//!
//! *Omocodia*: when two people would get the same code, the tax agency
//! replaces digits with the letters `LMNPQRSTUV` (0 → L … 9 → V) and
//! recomputes the check character. Any of the seven digit positions may hold
//! such a letter. The agency substitutes from the rightmost digit leftwards,
//! but we do not insist on that order: the check character already catches a
//! mistyped character, and rejecting a code the agency really issued would
//! lock a user out.
//!
//! A tax code is personal data, not a secret: errors may name one character
//! (a month letter, a check character) but never echo the whole code.

use std::fmt;
use std::str::FromStr;

/// How many characters every tax code has.
pub const TAX_CODE_LEN: usize = 16;

/// Month letters, January first. The letters skip those easily misread
/// (F/E, G/C, I/1, …).
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";

/// The letters that stand for 0–9 in the digit positions of an omocodic code.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Days in each month; February allows 29 because the two-digit year cannot
/// tell a leap year.
const MONTH_DAYS: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Values of the characters in odd positions (1st, 3rd, …, 15th) for the
/// check character, indexed by letter (A = 0) or digit (0 = 0, same row as A).
/// Source: DM 23/12/1976 n. 13813, as tabulated on it.wikipedia.org "Codice
/// fiscale" and in python-stdnum / stdnum-js `it/codicefiscale` (CHECK_CODE_ODD).
const ODD_VALUES: [u8; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// What a position of the layout holds. The check position is a plain
/// letter here; its value is checked after the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    Letter,
    /// A digit, or its omocodia letter.
    Digit,
    Month,
}

impl CharClass {
    /// The class of each position, 0-based.
    const LAYOUT: [CharClass; TAX_CODE_LEN] = {
        use CharClass::{Digit as D, Letter as L, Month as M};
        [L, L, L, L, L, L, D, D, M, D, D, L, D, D, D, L]
    };

    fn admits(self, upper: u8) -> bool {
        match self {
            CharClass::Letter | CharClass::Month => upper.is_ascii_uppercase(),
            CharClass::Digit => upper.is_ascii_digit() || OMOCODIA.contains(&upper),
        }
    }
}

impl fmt::Display for CharClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CharClass::Letter => "a letter",
            CharClass::Digit => "a digit (or one of LMNPQRSTUV)",
            CharClass::Month => "a month letter",
        })
    }
}

/// Why a string is not a tax code. Positions count characters from 1, as on
/// the health-insurance card the code is printed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxCodeError {
    #[error("tax code has {found} characters, expected {TAX_CODE_LEN}")]
    WrongLength { found: usize },
    #[error("tax code has a bad character at position {position}: expected {expected}")]
    BadCharacter {
        position: usize,
        expected: CharClass,
    },
    #[error("tax code has month letter {found} at position 9, expected one of ABCDEHLMPRST")]
    BadMonth { found: char },
    #[error(
        "tax code has day {found:02} at positions 10-11, expected 01-{max:02} (men) or 41-{} (women)",
        .max + 40
    )]
    BadDay { found: u8, max: u8 },
    #[error("tax code has check character {found} at position 16, expected {expected}")]
    WrongCheckCharacter { expected: char, found: char },
}

/// A validated tax code, stored in lower case: the form the login panel asks
/// for (seed 002), so two spellings of one code are one username.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaxCode([u8; TAX_CODE_LEN]);

impl TaxCode {
    /// Parses a tax code in any case; surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<TaxCode, TaxCodeError> {
        let s = s.trim();
        let found = s.chars().count();
        if found != TAX_CODE_LEN {
            return Err(TaxCodeError::WrongLength { found });
        }
        let mut upper = [0u8; TAX_CODE_LEN];
        for (i, (c, class)) in s.chars().zip(CharClass::LAYOUT).enumerate() {
            let bad = TaxCodeError::BadCharacter {
                position: i + 1,
                expected: class,
            };
            let byte = u8::try_from(c)
                .map_err(|_| bad.clone())?
                .to_ascii_uppercase();
            if !class.admits(byte) {
                return Err(bad);
            }
            upper[i] = byte;
        }

        let month = MONTHS
            .iter()
            .position(|&m| m == upper[8])
            .ok_or(TaxCodeError::BadMonth {
                found: char::from(upper[8]),
            })?;
        let day = 10 * digit_value(upper[9]) + digit_value(upper[10]);
        let max = MONTH_DAYS[month];
        let day_of_month = if day > 40 { day - 40 } else { day };
        if day_of_month == 0 || day_of_month > max {
            return Err(TaxCodeError::BadDay { found: day, max });
        }

        let expected = check_character(&upper[..TAX_CODE_LEN - 1]);
        let found = upper[TAX_CODE_LEN - 1];
        if found != expected {
            return Err(TaxCodeError::WrongCheckCharacter {
                expected: char::from(expected),
                found: char::from(found),
            });
        }
        Ok(TaxCode(upper.map(|b| b.to_ascii_lowercase())))
    }

    /// A valid code made up from `n`, for test fleets: `n` (mod 10^9)
    /// spelled across the name letters, birth date and municipality, and
    /// the check character computed. Distinct `n` below 10^9 give distinct
    /// codes. Nobody's real code, except by chance.
    pub fn synthetic(n: u64) -> TaxCode {
        let mut n = n % 1_000_000_000;
        let mut body = *b"XXXXXX80A01H501";
        for slot in body.iter_mut().take(6) {
            // Six letters carry 26^6 > 10^8 values; the rest goes in the year.
            *slot = b'A' + (n % 26) as u8;
            n /= 26;
        }
        body[6] = b'0' + (n % 10) as u8;
        body[7] = b'0' + ((n / 10) % 10) as u8;
        let mut code = [0u8; TAX_CODE_LEN];
        code[..TAX_CODE_LEN - 1].copy_from_slice(&body);
        code[TAX_CODE_LEN - 1] = check_character(&body);
        TaxCode(code.map(|b| b.to_ascii_lowercase()))
    }

    /// The code in lower case, as typed at login.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a tax code is ASCII")
    }
}

/// The value of a character that passed [`CharClass::Digit`]: a digit or its
/// omocodia letter.
fn digit_value(upper: u8) -> u8 {
    match OMOCODIA.iter().position(|&l| l == upper) {
        // position < 10: the cast cannot truncate.
        Some(value) => value as u8,
        None => upper - b'0',
    }
}

/// The check character of the first 15 characters (upper-case ASCII letters
/// and digits): odd positions through [`ODD_VALUES`], even positions at face
/// value (A = 0, 0 = 0), the sum mod 26 as a letter.
fn check_character(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let index = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A'
            };
            // Position i + 1 is odd when i is even.
            u32::from(if i % 2 == 0 {
                ODD_VALUES[usize::from(index)]
            } else {
                index
            })
        })
        .sum();
    // sum % 26 < 26: the cast cannot truncate.
    b'A' + (sum % 26) as u8
}

impl FromStr for TaxCode {
    type Err = TaxCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaxCode::parse(s)
    }
}

impl fmt::Display for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaxCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_codes_parse_and_differ() {
        let codes: std::collections::HashSet<TaxCode> = (0..2000u64)
            .map(|n| TaxCode::synthetic(n * 499_999))
            .collect();
        assert_eq!(codes.len(), 2000);
        for code in &codes {
            assert_eq!(TaxCode::parse(code.as_str()), Ok(*code));
        }
    }

    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    fn err(s: &str) -> String {
        TaxCode::parse(s).map_err(|e| e.to_string()).unwrap_err()
    }

    #[test]
    fn published_examples_are_valid_and_stored_lower_case() {
        // DavidePastore/codice-fiscale README (Mario Rossi, 10 Dec 1985, A562),
        // kamaladafrica/codice-fiscale README (Mario Rossi, 22 Mar 1975, Rome),
        // sgart.it (Mario Rossi, 11 Feb 1979, Cesano Maderno C566),
        // sodalesjuris.net (a woman born 10 Apr 1975 in Battipaglia A717).
        for code in [
            "RSSMRA85T10A562S",
            "RSSMRA75C22H501I",
            "RSSMRA79B11C566R",
            "FRNSST75D50A717N",
        ] {
            let parsed = TaxCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code.to_ascii_lowercase());
        }
    }

    #[test]
    fn omocodic_codes_are_valid() {
        // The seven omocodia levels of RSSMRA85T10A562S listed by
        // DavidePastore/codice-fiscale, each with its own check character,
        // and one with a non-rightmost substitution pattern from
        // ivanomatteo/codice-fiscale.
        for code in [
            "RSSMRA85T10A56NH",
            "RSSMRA85T10A5SNT",
            "RSSMRA85T10ARSNO",
            "RSSMRA85T1LARSNR",
            "RSSMRA85TMLARSNC",
            "RSSMRA8RTMLARSNO",
            "RSSMRAURTMLARSNL",
            "RSSMRAULRL1H50MM",
        ] {
            assert!(TaxCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn any_case_and_surrounding_space_name_one_username() {
        let a = TaxCode::parse("rssmra85t10a562s").unwrap();
        let b: TaxCode = " RssMra85T10a562S\n".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_string(), "rssmra85t10a562s");
        assert_eq!(format!("{b:?}"), "TaxCode(rssmra85t10a562s)");
    }

    #[test]
    fn each_malformed_code_gets_one_clear_line() {
        assert_eq!(err(""), "tax code has 0 characters, expected 16");
        assert_eq!(
            err("RSSMRA85T10A562"),
            "tax code has 15 characters, expected 16"
        );
        assert_eq!(
            err("RSSMRA85T10A562SX"),
            "tax code has 17 characters, expected 16"
        );
        assert_eq!(
            err("RSSMR485T10A562S"),
            "tax code has a bad character at position 6: expected a letter"
        );
        assert_eq!(
            err("RSSMRA8AT10A562S"),
            "tax code has a bad character at position 8: expected a digit (or one of LMNPQRSTUV)"
        );
        assert_eq!(
            err("RSSMRA85110A562S"),
            "tax code has a bad character at position 9: expected a month letter"
        );
        assert_eq!(
            err("RSSMRA85T10A562é"),
            "tax code has a bad character at position 16: expected a letter"
        );
        assert_eq!(
            err("RSSMRA85F10A562S"),
            "tax code has month letter F at position 9, expected one of ABCDEHLMPRST"
        );
        assert_eq!(
            err("RSSMRA85T32A562S"),
            "tax code has day 32 at positions 10-11, expected 01-31 (men) or 41-71 (women)"
        );
        assert_eq!(
            err("RSSMRA85B30A562S"),
            "tax code has day 30 at positions 10-11, expected 01-29 (men) or 41-69 (women)"
        );
        assert_eq!(
            err("RSSMRA85D71A562S"),
            "tax code has day 71 at positions 10-11, expected 01-30 (men) or 41-70 (women)"
        );
        assert_eq!(
            err("RSSMRA85T00A562S"),
            "tax code has day 00 at positions 10-11, expected 01-31 (men) or 41-71 (women)"
        );
        assert_eq!(
            err("rssmra85t10a562t"),
            "tax code has check character T at position 16, expected S"
        );
    }

    #[test]
    fn errors_never_echo_the_code() {
        let e = err("RSSMRA85T10A562T");
        assert!(!e.to_ascii_uppercase().contains("RSSMRA"), "{e}");
    }

    #[test]
    fn day_limits_follow_the_month_and_sex() {
        let with_day = |month: char, day: &str| {
            let mut body = format!("RSSMRA85{month}{day}A562").into_bytes();
            body.push(check_character(&body));
            TaxCode::parse(std::str::from_utf8(&body).unwrap())
        };
        assert!(with_day('B', "29").is_ok());
        assert!(with_day('B', "69").is_ok());
        assert!(with_day('D', "30").is_ok());
        assert!(with_day('D', "31").is_err());
        assert!(with_day('A', "71").is_ok());
        assert!(with_day('A', "40").is_err());
        assert!(with_day('A', "72").is_err());
        // Omocodic day digits decode before the check: Q1 is 41.
        assert!(with_day('A', "QM").is_ok());
    }

    /// Every character a position may hold, upper case.
    fn class_chars(class: CharClass) -> Vec<u8> {
        match class {
            CharClass::Letter => (b'A'..=b'Z').collect(),
            CharClass::Digit => (b'0'..=b'9').chain(OMOCODIA.iter().copied()).collect(),
            CharClass::Month => MONTHS.to_vec(),
        }
    }

    /// The first 15 characters of a layout-valid code, omocodia included;
    /// day 1–28 so every month admits it.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let digit = || proptest::sample::select(class_chars(CharClass::Digit));
        (
            "[A-Z]{6}",
            [digit(), digit()],
            proptest::sample::select(MONTHS.to_vec()),
            1u8..=28,
            any::<bool>(),
            [any::<bool>(), any::<bool>()],
            "[A-Z]",
            [digit(), digit(), digit()],
        )
            .prop_map(
                |(names, year, month, day, female, omocodic, place, number)| {
                    let day = day + if female { 40 } else { 0 };
                    let day_digits = [b'0' + day / 10, b'0' + day % 10];
                    let day_chars = day_digits.iter().zip(omocodic).map(|(&d, omo)| {
                        if omo {
                            OMOCODIA[usize::from(d - b'0')]
                        } else {
                            d
                        }
                    });
                    let mut body = names.into_bytes();
                    body.extend(year);
                    body.push(month);
                    body.extend(day_chars);
                    body.extend(place.into_bytes());
                    body.extend(number);
                    body
                },
            )
    }

    proptest! {
        #[test]
        fn appending_the_check_character_gives_a_valid_code(body in body()) {
            let mut code = body.clone();
            code.push(check_character(&body));
            let code = String::from_utf8(code).unwrap();
            let parsed = TaxCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.to_ascii_lowercase());
            prop_assert_eq!(TaxCode::parse(&code.to_ascii_lowercase()), Ok(parsed));
        }

        #[test]
        fn any_single_character_typo_is_caught(
            body in body(),
            position in 0..TAX_CODE_LEN,
            replacement in any::<Index>(),
        ) {
            let mut code = body.clone();
            code.push(check_character(&body));
            let original = code[position];
            let others: Vec<u8> = class_chars(CharClass::LAYOUT[position])
                .into_iter()
                .filter(|&c| c != original)
                .collect();
            let mut typo = code.clone();
            typo[position] = *replacement.get(&others);
            if position < TAX_CODE_LEN - 1 {
                prop_assert_ne!(check_character(&typo[..15]), code[15]);
            }
            let typo = String::from_utf8(typo).unwrap();
            prop_assert!(TaxCode::parse(&typo).is_err(), "{} accepted", typo);
        }

        #[test]
        fn arbitrary_input_never_panics(s in any::<String>()) {
            let _ = TaxCode::parse(&s);
        }
    }
}
