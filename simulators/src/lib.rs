//! tokenrig's device side: token models from `tokenrig_core::device` run as devices.
//!
//! - [`fleet`]: many tokens generated from one seed, sharing one virtual
//!   clock, each C200 with its own quartz drift; exported as an inventory.
//! - [`serial`]: one token on a serial line (a pseudo-terminal or a real
//!   tty), answering the line protocol.
//! - [`uhid`]: the USB token as a kernel HID device through Linux's
//!   /dev/uhid, answering the HID report protocol.
//! - [`usbip`]: the USB token as a USB/IP device on a TCP port, for
//!   `usbip list` and `usbip attach`.
pub mod fleet;
pub mod serial;
pub mod uhid;
pub mod usbip;
