//! tokenrig: test OTP authentication end to end.
//!
//! - [`otp`]: the OTP core, RFC 4226 HOTP and RFC 6238 TOTP over
//!   HMAC-SHA-1/256/512, keys precomputed once per token.
pub mod otp;
