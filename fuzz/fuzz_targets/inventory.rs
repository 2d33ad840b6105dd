//! The inventory parsers (PSKC, both CSV layouts, otpauth URIs) on
//! arbitrary bytes: they must never panic, and whatever they accept must
//! hold what an import promises (at least one entry, serials by the rule
//! and unique, a key).

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use tokenrig_core::device::Serial;
use tokenrig_core::inventory::{self, Format, PskcKey};
use tokenrig_core::otp::SecretKey;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format and how an encrypted PSKC is opened;
    // the rest is the file.
    let Some((&choice, file)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(choice % 3)];
    let key = match choice / 3 % 3 {
        0 => None,
        // RFC 6030 figure 6's pre-shared key, so its corpus file decrypts.
        1 => Some(PskcKey::PreShared(
            SecretKey::from_hex("12345678901234567890123456789012").expect("hex"),
        )),
        _ => Some(PskcKey::Password(Zeroizing::new("qwerty".to_owned()))),
    };
    let Ok(entries) = inventory::parse(file, format, key.as_ref()) else {
        return;
    };
    assert!(!entries.is_empty());
    let mut serials = BTreeSet::new();
    for entry in &entries {
        let serial = entry.serial();
        assert_eq!(Serial::parse(serial.as_str()), Ok(*serial));
        assert!(serials.insert(*serial), "serial {serial} twice");
        assert!(!entry.key().is_empty());
    }
});
