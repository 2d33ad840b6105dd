//! The HID report codec and keyboard wedge on arbitrary bytes: no decoder
//! may panic, what decodes must encode back to itself, and the emulated
//! token must answer any output report without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenrig_core::device::{Serial, UsbToken};
use tokenrig_core::otp::SecretKey;
use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_core::wire::hid::keyboard::{KeyboardWedge, MAX_TYPED, Typed};
use tokenrig_core::wire::hid::report::{self, Command, InputReport, KeyboardReport, StatusReport};

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = report::decode_info(data) {
        assert_eq!(report::decode_info(&report::encode_info(&info)), Ok(info));
    }
    if let Ok(status) = StatusReport::decode(data) {
        // Equal but for the reserved bytes, which are ignored on receipt.
        assert_eq!(status.encode()[..12], data[..12]);
    }
    if let Ok(command) = Command::decode(data) {
        assert_eq!(Command::decode(&command.encode()), Ok(command));
    }
    if let Ok(input) = InputReport::decode(data) {
        assert_eq!(InputReport::decode(&input.encode()), Ok(input));
    }
    let mut wedge = KeyboardWedge::new();
    for chunk in data.chunks(7) {
        let mut keys = [0u8; 6];
        keys[..chunk.len() - 1].copy_from_slice(&chunk[1..]);
        wedge.push(&KeyboardReport {
            modifiers: chunk[0],
            keys,
        });
    }
    while let Some(typed) = wedge.next_typed() {
        if let Typed::Digits(d) = typed {
            assert!(d.len() <= MAX_TYPED && d.bytes().all(|b| b.is_ascii_digit()));
        }
    }
    let serial = Serial::parse("1000133508267").expect("a valid serial");
    let token = UsbToken::new(serial, SecretKey::new(b"12345678901234567890".to_vec()));
    let mut token = EmulatedToken::new(token);
    for report in data.chunks(9) {
        let _ = token.output(report);
    }
});
