//! The devices' wire codecs, sans-IO: bytes in, frames, reports and
//! messages out. The host transports (`tokenrig::transport`) and the
//! simulator do the I/O around them; `docs/protocols.md` specifies both.
//!
//! - [`line`](mod@line): the serial line protocol.
//! - [`hid`]: the USB OTP token's HID reports, keyboard wedge, and the
//!   token's side of them.
pub mod hid;
pub mod line;
