//! The manual transport: a person holding a real key fob. The harness
//! prompts them to press the button and reads the code they type.

use std::io::{BufRead, Write};

use crate::otp::Code;

use super::line::DeviceInfo;
use super::{Device, TransportError};

/// How many times a person may mistype a code before the press fails.
const TRIES: u32 = 3;

/// A token in someone's hand: prompts go to `prompt`, typed codes come from
/// `input`. Generic so tests drive it through a pseudo-terminal or memory,
/// and the CLI through the user's terminal.
#[derive(Debug)]
pub struct Manual<R, W> {
    info: DeviceInfo,
    input: R,
    prompt: W,
}

impl<R: BufRead, W: Write> Manual<R, W> {
    /// `info` is what the person reads off the token (model, serial on its
    /// back): a key fob cannot be asked.
    pub fn new(info: DeviceInfo, input: R, prompt: W) -> Self {
        Manual {
            info,
            input,
            prompt,
        }
    }

    fn say(&mut self, text: &str) -> Result<(), TransportError> {
        self.prompt
            .write_all(text.as_bytes())
            .and_then(|()| self.prompt.flush())
            .map_err(TransportError::Terminal)
    }
}

impl<R: BufRead, W: Write> Device for Manual<R, W> {
    fn info(&mut self) -> Result<DeviceInfo, TransportError> {
        Ok(self.info)
    }

    fn press(&mut self) -> Result<Code, TransportError> {
        let digits = self.info.digits;
        for _ in 0..TRIES {
            self.say(&format!(
                "Press the button on {} {} and type the {digits}-digit code: ",
                self.info.model, self.info.serial
            ))?;
            let mut line = String::new();
            let read = self
                .input
                .read_line(&mut line)
                .map_err(TransportError::Terminal)?;
            if read == 0 {
                return Err(TransportError::InputEnded);
            }
            // Never echo what was typed: it may be a valid code.
            match Code::parse(line.trim(), digits) {
                Ok(code) => return Ok(code),
                Err(e) => self.say(&format!("{e}; try again.\n"))?,
            }
        }
        Err(TransportError::NoCodeTyped(TRIES))
    }

    fn advance(&mut self, _seconds: u64) -> Result<(), TransportError> {
        Err(TransportError::NoTestClock("a token in someone's hand"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Model, Serial};
    use crate::otp::Digits;

    fn info() -> DeviceInfo {
        DeviceInfo {
            model: Model::C100,
            serial: Serial::parse("1000133508267").unwrap(),
            digits: Digits::SIX,
            step: None,
        }
    }

    fn press(typed: &str) -> (Result<Code, String>, String) {
        let mut prompt = Vec::new();
        let mut device = Manual::new(info(), typed.as_bytes(), &mut prompt);
        let result = device.press().map_err(|e| e.to_string());
        (result, String::from_utf8(prompt).unwrap())
    }

    #[test]
    fn the_typed_code_is_read_after_one_prompt() {
        let (code, prompt) = press(" 755224\r\n");
        assert_eq!(code.map(|c| c.to_string()), Ok("755224".to_owned()));
        assert_eq!(
            prompt,
            "Press the button on c100 1000133508267 and type the 6-digit code: "
        );
    }

    #[test]
    fn a_typo_is_explained_without_echoing_it_then_asked_again() {
        let (code, prompt) = press("75522\n755224\n");
        assert_eq!(code.map(|c| c.to_string()), Ok("755224".to_owned()));
        assert!(
            prompt.contains("a code must be 6 digits, this one has 5 characters; try again.\n"),
            "{prompt}"
        );
        assert!(!prompt.contains("75522\n"));
        assert_eq!(prompt.matches("Press the button").count(), 2);
    }

    #[test]
    fn three_typos_or_the_end_of_input_fail_the_press() {
        assert_eq!(
            press("a\nb\nc\n755224\n").0,
            Err("no valid code typed after 3 tries".to_owned())
        );
        assert_eq!(
            press("").0,
            Err("the person at the token ended input before typing a code".to_owned())
        );
        let mut device = Manual::new(info(), &b""[..], Vec::new());
        assert_eq!(
            device.advance(30).unwrap_err().to_string(),
            "a token in someone's hand has no test clock to advance"
        );
        assert_eq!(device.info().unwrap(), info());
    }
}
