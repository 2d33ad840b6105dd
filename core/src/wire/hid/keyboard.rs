//! The keyboard wedge: a USB OTP token "types" its code as a keyboard
//! would, one key at a time, then Enter. [`type_code`] is the token's side
//! (the key reports for a code); [`KeyboardWedge`] is the host's (key
//! reports back to the digits typed).

use std::collections::VecDeque;

use crate::otp::Code;

use super::report::KeyboardReport;

/// HID usage IDs (page 7) of the keys a token types: `1`..`9` are
/// 0x1E..0x26, `0` is 0x27, Enter is 0x28.
pub const USAGE_1: u8 = 0x1e;
pub const USAGE_0: u8 = 0x27;
pub const USAGE_ENTER: u8 = 0x28;
/// What a keyboard puts in every slot when too many keys are held at once.
const ERROR_ROLL_OVER: u8 = 0x01;

/// The longest run of digits the host keeps before an Enter; a code has at
/// most 8, so anything past this is not a code and memory stays bounded.
pub const MAX_TYPED: usize = 16;
/// Completed lines kept for the host; older ones go first.
const MAX_LINES: usize = 64;

/// The usage ID of an ASCII digit's key.
pub fn digit_usage(digit: u8) -> Option<u8> {
    match digit {
        b'0' => Some(USAGE_0),
        b'1'..=b'9' => Some(USAGE_1 + (digit - b'1')),
        _ => None,
    }
}

fn usage_digit(usage: u8) -> Option<char> {
    match usage {
        USAGE_0 => Some('0'),
        USAGE_1..=0x26 => Some(char::from(b'1' + (usage - USAGE_1))),
        _ => None,
    }
}

/// The reports a token sends to type `code` then Enter: each key pressed
/// then released, so repeated digits come through as two keystrokes.
pub fn type_code(code: Code) -> Vec<KeyboardReport> {
    let text = code.to_string();
    let keys = text.bytes().filter_map(digit_usage).chain([USAGE_ENTER]);
    keys.flat_map(|usage| [KeyboardReport::key(usage), KeyboardReport::RELEASED])
        .collect()
}

/// One line the wedge saw ended by Enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    /// Only digits, in the order they were typed (at most [`MAX_TYPED`]).
    Digits(String),
    /// A key other than a digit was typed, or more than [`MAX_TYPED`]
    /// digits: not a code. Which keys it was is not kept.
    NotACode,
}

/// Turns a stream of keyboard reports back into what was typed.
///
/// A key counts once when it goes down: a report lists the keys held, so
/// a key still held in the next report is the same keystroke, and typing
/// the same digit twice needs a report without it in between. Modifiers
/// (Shift and the rest) are ignored; roll-over error reports are skipped.
#[derive(Debug, Default)]
pub struct KeyboardWedge {
    held: [u8; 6],
    line: String,
    spoiled: bool,
    typed: VecDeque<Typed>,
}

impl KeyboardWedge {
    pub fn new() -> Self {
        KeyboardWedge::default()
    }

    pub fn push(&mut self, report: &KeyboardReport) {
        if report.keys.contains(&ERROR_ROLL_OVER) {
            return;
        }
        for &usage in &report.keys {
            if usage != 0 && !self.held.contains(&usage) {
                self.key_down(usage);
            }
        }
        self.held = report.keys;
    }

    /// The next line completed by Enter, in the order typed.
    pub fn next_typed(&mut self) -> Option<Typed> {
        self.typed.pop_front()
    }

    /// Drops a half-typed line and every completed one not yet taken.
    pub fn clear(&mut self) {
        self.line.clear();
        self.spoiled = false;
        self.typed.clear();
    }

    fn key_down(&mut self, usage: u8) {
        if usage == USAGE_ENTER {
            let typed = if self.spoiled {
                Typed::NotACode
            } else {
                Typed::Digits(std::mem::take(&mut self.line))
            };
            self.line.clear();
            self.spoiled = false;
            if self.typed.len() == MAX_LINES {
                self.typed.pop_front();
            }
            self.typed.push_back(typed);
            return;
        }
        match usage_digit(usage) {
            Some(digit) if !self.spoiled && self.line.len() < MAX_TYPED => self.line.push(digit),
            _ => {
                self.line.clear();
                self.spoiled = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::Digits;
    use proptest::prelude::*;

    fn typed(reports: &[KeyboardReport]) -> Vec<Typed> {
        let mut wedge = KeyboardWedge::new();
        reports.iter().for_each(|r| wedge.push(r));
        std::iter::from_fn(|| wedge.next_typed()).collect()
    }

    fn digits(s: &str) -> Typed {
        Typed::Digits(s.to_owned())
    }

    #[test]
    fn a_typed_code_decodes_to_its_digits() {
        let code = Code::parse("100223", Digits::SIX).unwrap();
        assert_eq!(typed(&type_code(code)), [digits("100223")]);
        assert_eq!(type_code(code).len(), 14);
    }

    #[test]
    fn a_held_key_counts_once_and_a_repeat_needs_a_release() {
        let one = KeyboardReport::key(USAGE_1);
        let enter = KeyboardReport::key(USAGE_ENTER);
        let up = KeyboardReport::RELEASED;
        assert_eq!(typed(&[one, one, one, up, enter, up]), [digits("1")]);
        assert_eq!(typed(&[one, up, one, up, enter]), [digits("11")]);
    }

    #[test]
    fn shift_is_ignored_and_rollover_skipped() {
        let shifted = KeyboardReport {
            modifiers: 0x02,
            keys: [USAGE_0, 0, 0, 0, 0, 0],
        };
        let rollover = KeyboardReport {
            modifiers: 0,
            keys: [ERROR_ROLL_OVER; 6],
        };
        let enter = KeyboardReport::key(USAGE_ENTER);
        assert_eq!(typed(&[shifted, rollover, enter]), [digits("0")]);
    }

    #[test]
    fn a_letter_or_too_many_digits_is_not_a_code() {
        let a = KeyboardReport::key(0x04);
        let enter = KeyboardReport::key(USAGE_ENTER);
        let up = KeyboardReport::RELEASED;
        let two = KeyboardReport::key(USAGE_1 + 1);
        assert_eq!(
            typed(&[two, a, two, enter, up, two, enter]),
            [Typed::NotACode, digits("2")]
        );
        let mut long = Vec::new();
        for _ in 0..=MAX_TYPED {
            long.extend([two, up]);
        }
        long.push(enter);
        assert_eq!(typed(&long), [Typed::NotACode]);
    }

    #[test]
    fn keys_pressed_together_count_in_slot_order() {
        let both = KeyboardReport {
            modifiers: 0,
            keys: [USAGE_1, USAGE_0, USAGE_ENTER, 0, 0, 0],
        };
        assert_eq!(typed(&[both]), [digits("10")]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_reports_never_panic_and_stay_bounded(
            reports in prop::collection::vec((any::<u8>(), any::<[u8; 6]>()), 0..200)
        ) {
            let mut wedge = KeyboardWedge::new();
            for (modifiers, keys) in reports {
                wedge.push(&KeyboardReport { modifiers, keys });
                prop_assert!(wedge.line.len() <= MAX_TYPED);
            }
            while let Some(t) = wedge.next_typed() {
                if let Typed::Digits(d) = t {
                    prop_assert!(d.len() <= MAX_TYPED && d.bytes().all(|b| b.is_ascii_digit()));
                }
            }
        }

        #[test]
        fn every_code_types_and_decodes_back(value in any::<u32>(), d in 6u8..=8) {
            let code = Code::from_truncated(value, Digits::new(d).unwrap());
            prop_assert_eq!(typed(&type_code(code)), vec![digits(&code.to_string())]);
        }
    }
}
