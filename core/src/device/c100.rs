//! The C100 key fob: an event (HOTP) token with a button and a display.

use super::event::{EventModel, EventToken};
use super::model::Model;

/// Marks an [`EventToken`] as a C100.
#[derive(Debug)]
pub enum C100Fob {}

impl EventModel for C100Fob {
    const MODEL: Model = Model::C100;
}

/// A C100: HOTP with HMAC-SHA-1, 6 digits unless configured otherwise, its
/// counter starting at 0. Each press shows the code for the counter, then
/// advances it.
pub type C100 = EventToken<C100Fob>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{DeviceError, Family, Serial, Token};
    use crate::otp::{Digits, SecretKey};
    use proptest::prelude::*;

    fn rfc4226_key() -> SecretKey {
        SecretKey::new(b"12345678901234567890".to_vec())
    }

    fn fob() -> C100 {
        let serial = Serial::parse("1000133508267").expect("vendor serial");
        C100::new(serial, rfc4226_key())
    }

    #[test]
    fn first_presses_show_the_rfc4226_codes() {
        let mut fob = fob();
        let codes: Vec<String> = (0..3)
            .map(|_| fob.press().expect("fresh token").to_string())
            .collect();
        assert_eq!(codes, ["755224", "287082", "359152"]);
        assert_eq!(fob.counter(), Some(3));
    }

    #[test]
    fn eight_digits_from_counter_9() {
        // RFC 4226 appendix D: counter 9 truncates to 645520489.
        let mut fob = fob().with_digits(Digits::EIGHT).with_counter(9);
        assert_eq!(
            fob.press().map(|c| c.to_string()),
            Ok("45520489".to_owned())
        );
        assert_eq!(fob.digits(), Digits::EIGHT);
    }

    #[test]
    fn the_last_counter_gives_one_code_then_none_ever() {
        let mut fob = fob().with_counter(u64::MAX);
        assert!(fob.press().is_ok());
        assert_eq!(fob.counter(), None);
        for _ in 0..3 {
            assert_eq!(
                fob.press().map_err(|e| e.to_string()),
                Err("token 1000133508267 has shown the code for its last counter value and can show no more".to_owned())
            );
        }
    }

    #[test]
    fn the_model_not_the_serial_makes_it_an_event_token() {
        // A time-layout serial and a free-text one: a C100 either way.
        for s in ["2600124809778", "ZZ9000000001"] {
            let mut fob = C100::new(Serial::parse(s).expect("serial"), rfc4226_key());
            assert_eq!(fob.serial().as_str(), s);
            assert_eq!(fob.family(), Family::Event);
            // RFC 4226 Appendix D, counter 0.
            assert_eq!(fob.press().expect("a code").to_string(), "755224");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", fob());
        assert!(shown.contains("redacted"), "{shown}");
        assert!(!shown.contains("3132333435"), "{shown}");
        assert!(!shown.contains("12345678901234567890"), "{shown}");
    }

    proptest! {
        #[test]
        fn counters_strictly_increase_and_codes_match_hotp(
            start in prop_oneof![0u64..1000, (u64::MAX - 40)..=u64::MAX],
            presses in 1usize..60,
        ) {
            let key = rfc4226_key();
            let reference = crate::otp::OtpKey::new(crate::otp::Algorithm::Sha1, &key);
            let mut fob = fob().with_counter(start);
            let mut used = Vec::new();
            for _ in 0..presses {
                let before = fob.counter();
                match fob.press() {
                    Ok(code) => {
                        let counter = before.expect("a code implies a counter");
                        prop_assert_eq!(code, reference.hotp(counter, Digits::SIX));
                        used.push(counter);
                    }
                    Err(DeviceError::CounterExhausted { .. }) => {
                        prop_assert_eq!(before, None);
                        prop_assert_eq!(used.last(), Some(&u64::MAX));
                    }
                    Err(other) => prop_assert!(false, "unexpected {other}"),
                }
            }
            prop_assert!(used.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
