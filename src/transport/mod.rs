//! How the host reaches a token: the [`Device`] trait the harness drives,
//! and its transports.
//!
//! - [`line`](mod@line): the serial line protocol, a sans-IO codec shared with the
//!   simulator (`docs/protocols.md` specifies it; it lives in
//!   `tokenrig-core`).
//! - [`Virtual`]: a device model in this process; no bytes at all.
//! - [`SerialDevice`]: a serial line opened by path (the simulator's
//!   pseudo-terminal, or a real tty wired to a device).
//! - [`hid`]: the USB OTP token's HID reports and backends (virtual,
//!   hidapi); [`HidDevice`] reaches a token through any of them.
//! - [`Manual`]: a person holding a real key fob, prompted to press and
//!   type the code.
//!
//! Every transport answers the same three questions in the same types, so
//! a scenario runs unchanged against a virtual token and real hardware.

mod error;
pub mod hid;
mod in_process;
mod manual;
mod serial;

pub use tokenrig_core::wire::line;
/// RADIUS packets (RFC 2865, RFC 3579), sans-IO from `tokenrig-core`: the
/// server's `--radius` and the harness's `radius://` target both speak it.
pub use tokenrig_core::wire::radius;

pub use error::TransportError;
pub use hid::HidDevice;
pub use in_process::Virtual;
pub use line::DeviceInfo;
pub use manual::Manual;
pub use serial::{SerialDevice, SerialOptions};

use crate::otp::Code;

/// A token as the harness sees it, however it is reached.
pub trait Device {
    /// Which token this is: model, serial, digits, and a time token's step.
    fn info(&mut self) -> Result<DeviceInfo, TransportError>;
    /// Presses the button and reads the code shown.
    fn press(&mut self) -> Result<Code, TransportError>;
    /// Moves the device's test clock `seconds` forward. Only devices
    /// running on a test clock can; real time cannot be hurried.
    fn advance(&mut self, seconds: u64) -> Result<(), TransportError>;
}
