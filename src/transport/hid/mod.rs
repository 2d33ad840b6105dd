//! HID for the USB OTP token: the report protocol (`docs/protocols.md`,
//! "HID report protocol") and the host's backends. The first three below
//! are sans-IO and live in `tokenrig-core`.
//!
//! - [`report`]: the report descriptor and a sans-IO codec for each report.
//! - [`keyboard`]: the keyboard wedge, digits to key reports and back.
//! - [`EmulatedToken`]: the token's side of the reports, sans-IO; shared by
//!   the virtual backend and the simulator's uhid device.
//! - [`HidBackend`]: enumerate, open by serial, move report bytes; three
//!   implementations: [`VirtualHid`] (in process), [`HidapiBackend`] (real
//!   tokens and uhid devices).
//! - [`HidDevice`]: the [`Device`](super::Device) over any backend.

mod backend;
mod device;
mod hidapi_backend;
mod virtual_hid;

pub use tokenrig_core::wire::hid::{EmulatedToken, keyboard, report};

pub use backend::{HidBackend, HidConnection, HidEntry, HidError};
pub use device::HidDevice;
pub use hidapi_backend::HidapiBackend;
pub use virtual_hid::VirtualHid;
