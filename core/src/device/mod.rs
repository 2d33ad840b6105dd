//! The hardware OTP tokens tokenrig emulates, as pure state machines.
//!
//! Three models, named as the vendor names them:
//! - [`C100`]: a key fob with a button, OATH-HOTP (event): every press shows
//!   the code for the next counter value, so its codes never repeat.
//! - [`C200`]: a key fob with a button, OATH-TOTP (time): a press shows the
//!   code for its own quartz clock, which drifts; 60 s steps as shipped, or 30 s.
//! - [`UsbToken`]: the USB OTP token, event-based like the C100 (a touch types
//!   the next HOTP code as a keyboard would). Its HID side lives elsewhere.
//!
//! A serial is printed on the back of each token and is whatever the
//! inventory says (printable ASCII, see [`Serial`]); which model it belongs
//! to is recorded in the inventory. The seed provider's fobs also follow a
//! layout, [`SerialLayout::Provider`]: 13 digits whose first tells the
//! family, `1` event (HOTP), `2` time (TOTP), e.g. `1000133508267` and
//! `2600124809778`. The USB token, being event-based, uses the event layout,
//! so even there a C100 and a USB token can never be told apart by serial.
//!
//! Models take time from a [`Clock`](crate::clock::Clock) and do no I/O; the
//! simulators and harness transports wrap them.

mod c100;
mod c200;
mod error;
mod event;
pub mod keygen;
mod model;
mod serial;
mod usb;

pub use c100::{C100, C100Fob};
pub use c200::C200;
pub use error::DeviceError;
pub use event::{EventModel, EventToken};
pub use model::{Family, Model, ModelError};
pub use serial::{
    FamilyMismatch, PROVIDER_SERIAL_LEN, SERIAL_MAX_LEN, Serial, SerialError, SerialLayout,
};
pub use usb::{UsbKey, UsbToken};

use std::fmt;

use crate::otp::{Code, Digits, TimeStep};

/// What every token model offers a user: a serial on its back, a display of
/// `digits()` digits, and a button.
///
/// `Send` so a fleet can spread tokens over threads; `Debug` so harness
/// reports can show them (implementations never print a key).
pub trait Token: fmt::Debug + Send {
    fn serial(&self) -> &Serial;
    fn model(&self) -> Model;
    fn digits(&self) -> Digits;
    /// Presses the button: the code the token displays now.
    fn press(&mut self) -> Result<Code, DeviceError>;
    /// The time step of a time token; `None` for event tokens. Transports
    /// report it, so a host knows how often the code changes.
    fn time_step(&self) -> Option<TimeStep> {
        None
    }

    fn family(&self) -> Family {
        self.model().family()
    }
}
