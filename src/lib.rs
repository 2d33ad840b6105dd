//! tokenrig: test OTP authentication end to end.
//!
//! The pure parts (`otp` to `inventory` below, and the wire codecs under
//! `transport`) live in the `tokenrig-core` crate, which has no I/O
//! dependency to reach for (`cargo xtask layers` checks); they are
//! re-exported here under their usual paths.
//!
//! - [`otp`]: the OTP core, RFC 4226 HOTP and RFC 6238 TOTP over
//!   HMAC-SHA-1/256/512, keys precomputed once per token.
//! - [`clock`]: the only source of time below the CLI; a system clock, a
//!   virtual clock tests advance by hand, and a drifting token clock.
//! - [`device`]: the token models (C100 event fob, C200 time fob, USB OTP
//!   token) as pure state machines over a clock, with serial validation.
//! - [`verifier`]: the sans-IO verifier core: policy + stored token state +
//!   submitted code(s) + now → outcome + new state (validate, replay,
//!   lockout, drift learning, two-OTP resync, the device-replacement flow).
//! - [`user`]: accounts: tax-code usernames, E.164 phones, licence-card user
//!   codes, argon2id password hashes.
//! - [`inventory`]: parsing vendor inventories (PSKC RFC 6030, CSV, otpauth
//!   URIs) into token entries, all or nothing.
//! - [`store`]: persistence (SQLite or PostgreSQL; keys AES-256-GCM at
//!   rest, compare-and-set on token state, audit log, replacement attempts,
//!   the SMS outbox).
//! - [`service`]: the application layer above store and sms: validation,
//!   resync, unlock and the replacement flow, the SMS dispatcher.
//! - [`sms`]: delivering the replacement flow's SMS code: the gateway trait
//!   and a webhook, one try per call (retries are the dispatcher's).
//! - [`error`]: the kinds of failure HTTP statuses and exit codes derive from.
//! - [`server`]: `tokenrig serve`, the verifier as an HTTP/JSON API (axum).
//! - [`transport`]: how the host reaches a token (the `Device` trait): in
//!   process, over a serial line, over HID, or by hand; with the line and
//!   HID codecs from `tokenrig-core`.
//! - [`harness`]: the conformance harness: TOML scenarios, a `Target`
//!   trait (builtin verifier, HTTP), the runner and its reports.
//! - [`simulate`]: `tokenrig simulate`, a fleet over years through the
//!   verifier core: desync, resyncs, helpdesk calls and guessing risk per
//!   policy, as a table, JSON, CSV and SVG plots.
//! - [`cmdline`]: what the `tokenrig` and `tokenrig-sim` binaries share about
//!   their command lines (the one-line error contract).

// No `unsafe` anywhere: a bug is a panic, never memory corruption (the
// fuzz targets rely on it and run without a sanitizer).
#![forbid(unsafe_code)]
pub mod cmdline;
pub mod error;
pub mod harness;
pub mod server;
pub mod service;
pub mod simulate;
pub mod sms;
pub mod store;
pub mod transport;

pub use tokenrig_core::{clock, device, inventory, otp, user, verifier};
