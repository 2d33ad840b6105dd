//! The serial line codec on arbitrary bytes: it must never panic, must
//! frame the same however the bytes are split, and what it decodes must
//! encode back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenrig_core::wire::line::{Frame, LineReader, MAX_LINE, Request, Response};

fuzz_target!(|data: &[u8]| {
    // The first byte picks where a second read starts.
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut whole = LineReader::new();
    whole.push(data);
    let mut split = LineReader::new();
    split.push(&data[..cut]);
    split.push(&data[cut..]);
    loop {
        let frame = whole.next_frame();
        assert_eq!(frame, split.next_frame());
        let Some(frame) = frame else { break };
        let Frame::Line(text) = frame else { continue };
        assert!(text.len() <= MAX_LINE);
        if let Ok(request) = Request::parse(&text) {
            let wire = request.encode();
            assert_eq!(Request::parse(wire.trim_end_matches("\r\n")), Ok(request));
        }
        if let Ok(response) = Response::parse(&text) {
            let wire = response.encode();
            assert_eq!(Response::parse(wire.trim_end_matches("\r\n")), Ok(response));
        }
    }
});
