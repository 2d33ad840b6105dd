//! tokenrig: test OTP authentication end to end.
//!
//! - [`otp`]: the OTP core, RFC 4226 HOTP and RFC 6238 TOTP over
//!   HMAC-SHA-1/256/512, keys precomputed once per token.
//! - [`clock`]: the only source of time below the CLI; a system clock, a
//!   virtual clock tests advance by hand, and a drifting token clock.
//! - [`device`]: the token models (C100 event fob, C200 time fob, USB OTP
//!   token) as pure state machines over a clock, with serial validation.
//! - [`cmdline`]: what the `tokenrig` and `tokenrig-sim` binaries share about
//!   their command lines (the one-line error contract).
pub mod clock;
pub mod cmdline;
pub mod device;
pub mod otp;
