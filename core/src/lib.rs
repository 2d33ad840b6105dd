//! tokenrig's pure core: everything that computes and does no I/O. Its
//! dependencies hold no runtime, database, socket or device crate, and
//! `cargo xtask ci` checks that they never do.
//!
//! - [`otp`]: RFC 4226 HOTP and RFC 6238 TOTP over HMAC-SHA-1/256/512, keys
//!   precomputed once per token.
//! - [`clock`]: the only source of time; a system clock, a virtual clock
//!   tests advance by hand, and a drifting token clock.
//! - [`device`]: the token models (C100 event fob, C200 time fob, USB OTP
//!   token) as state machines over a clock, with serial validation.
//! - [`verifier`]: policy + stored token state + submitted code(s) + now →
//!   outcome + new state (validate, replay, lockout, drift learning,
//!   two-OTP resync, the device-replacement flow).
//! - [`user`]: tax-code usernames, E.164 phones, licence-card user codes,
//!   argon2id password hashes.
//! - [`inventory`]: vendor inventories (PSKC RFC 6030, CSV, otpauth URIs)
//!   into token entries, all or nothing.
//! - [`wire`]: the devices' wire codecs, bytes in and out: the serial line
//!   protocol and the USB token's HID reports.

// No `unsafe` anywhere: a bug is a panic, never memory corruption (the
// fuzz targets rely on it and run without a sanitizer).
#![forbid(unsafe_code)]
pub mod clock;
pub mod device;
pub mod inventory;
pub mod otp;
pub mod user;
pub mod verifier;
pub mod wire;
