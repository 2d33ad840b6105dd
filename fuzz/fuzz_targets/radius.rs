//! The RADIUS codec on arbitrary bytes: decoding must never panic, a
//! decoded packet must encode back to the bytes its Length covers, and
//! checking its authenticators and hidden password must never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenrig_core::wire::radius::{Packet, attribute, reveal_password, verify_response};

const SECRET: &[u8] = b"fuzz secret";

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        return;
    };
    let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
    assert_eq!(packet.encode().as_deref(), Ok(&data[..length]));
    let _ = packet.message_authenticator(SECRET, &packet.authenticator);
    if let Some(hidden) = packet.attribute(attribute::USER_PASSWORD) {
        let _ = reveal_password(hidden, SECRET, &packet.authenticator);
    }
    let _ = verify_response(data, SECRET, &[0; 16]);
});
