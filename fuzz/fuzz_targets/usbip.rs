//! The USB/IP codec and the token behind it on arbitrary bytes: no decoder
//! may panic, what decodes must encode to bytes that decode to the same,
//! and a session (fresh, or already imported) must take any byte stream
//! without panicking, whole or cut anywhere.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenrig_core::device::{Serial, UsbToken};
use tokenrig_core::otp::SecretKey;
use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_core::wire::usbip::Session;
use tokenrig_core::wire::usbip::device::BUSID;
use tokenrig_core::wire::usbip::packet::{Command, OpRequest, Reply};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((request, n))) = OpRequest::decode(data) {
        assert_eq!(
            OpRequest::decode(&request.encode()),
            Ok(Some((request, n)))
        );
    }
    if let Ok(Some((command, _))) = Command::decode(data) {
        let bytes = command.encode();
        assert_eq!(Command::decode(&bytes), Ok(Some((command, bytes.len()))));
    }
    if let Ok(Some((reply, _))) = Reply::decode(data, |s| s % 2 == 0) {
        let bytes = reply.encode();
        assert_eq!(
            Reply::decode(&bytes, |s| s % 2 == 0).map(|r| r.map(|(r, _)| r)),
            Ok(Some(reply))
        );
    }
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let serial = Serial::parse("1000133508267").expect("a serial");
    let key = SecretKey::new(b"12345678901234567890".to_vec());
    let mut token = EmulatedToken::new(UsbToken::new(serial, key));
    let mut session = Session::new();
    let mut replies = Vec::new();
    // An odd first byte starts past the import, so the fuzzer reaches the
    // URB phase without having to find the import's 40 bytes.
    if first & 1 == 1 {
        let import = OpRequest::Import {
            busid: BUSID.to_owned(),
        };
        let _ = session.receive(&mut token, &import.encode(), &mut replies);
    }
    // The rest in pieces of the first byte's size, as a socket may cut it.
    for chunk in rest.chunks(usize::from(first >> 1).max(1)) {
        if session.receive(&mut token, chunk, &mut replies).is_err() {
            return;
        }
    }
    let _ = session.finish();
});
