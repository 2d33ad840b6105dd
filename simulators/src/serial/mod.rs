//! A token on a serial line: the device side of the line protocol
//! (`tokenrig_core::wire::line`, specified in `docs/protocols.md`).
//!
//! - [`spec`]: which token to run, built from flags or a fixture header.
//! - [`engine`]: the protocol engine, sans-IO: bytes from the host in,
//!   answer bytes out.
//! - [`state`]: the event counter on disk, written durably before a code
//!   leaves the device.
//! - [`pty`]: a kernel pseudo-terminal pair in raw mode.
//! - [`serve`]: the loop moving bytes between a line and the engine until
//!   SIGINT or SIGTERM.

pub mod engine;
pub mod pty;
pub mod serve;
pub mod spec;
pub mod state;
