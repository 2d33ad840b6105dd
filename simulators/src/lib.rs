//! tokenrig's device side: token models from `tokenrig::device` run as devices.
//!
//! - [`fleet`]: many tokens generated from one seed, sharing one virtual
//!   clock, each C200 with its own quartz drift; exported as an inventory.
//!
//! Later: the serial-line simulator (a PTY or a real tty) and the HID token.
pub mod fleet;
