//! USB/IP for the USB OTP token, sans-IO (`docs/protocols.md`, "USB/IP"):
//! the token as a USB device a Linux host attaches over TCP with
//! `usbip attach`, its HID side the same [`EmulatedToken`] as everywhere.
//!
//! - [`packet`]: the USB/IP packets (device list, import, submit, unlink)
//!   as bytes.
//! - [`device`]: the token's USB descriptors, its control requests and
//!   interrupt IN endpoint, and [`Session`], one connection's state.
//!
//! Our own codec rather than the `usbip` crate: that crate brings tokio,
//! rusb (libusb) and nusb, so it cannot live in this I/O-free core where
//! the fuzz target reaches it, and its HID handler panics
//! (`unimplemented!`) on GET_REPORT and SET_REPORT, the very requests the
//! token's feature and output reports travel on.
//!
//! [`EmulatedToken`]: crate::wire::hid::EmulatedToken
pub mod device;
pub mod packet;

pub use device::{Flow, Session};
pub use packet::UsbipError;
