//! HID for the USB OTP token, sans-IO (`docs/protocols.md`, "HID report
//! protocol"); the host's backends are `tokenrig::transport::hid`.
//!
//! - [`report`]: the report descriptor and a codec for each report.
//! - [`keyboard`]: the keyboard wedge, digits to key reports and back.
//! - [`EmulatedToken`]: the token's side of the reports; shared by the
//!   virtual backend and the simulator's uhid device.
mod emulated;
pub mod keyboard;
pub mod report;

pub use emulated::EmulatedToken;
