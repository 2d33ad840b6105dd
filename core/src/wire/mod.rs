//! The devices' wire codecs, sans-IO: bytes in, frames, reports and
//! messages out. The host transports (`tokenrig::transport`) and the
//! simulator do the I/O around them; `docs/protocols.md` specifies both.
//!
//! - [`line`](mod@line): the serial line protocol.
//! - [`hid`]: the USB OTP token's HID reports, keyboard wedge, and the
//!   token's side of them.
//! - [`radius`]: RADIUS Access-Requests and their answers (RFC 2865,
//!   RFC 3579's Message-Authenticator); `docs/radius.md` says how the
//!   server uses them.
//! - [`usbip`]: the USB token as a USB/IP device, its packets and its
//!   USB side (descriptors, control requests, interrupt IN).
pub mod hid;
pub mod line;
pub mod radius;
pub mod usbip;
