//! The OTP core: RFC 4226 HOTP and RFC 6238 TOTP over HMAC-SHA-1/256/512.
//!
//! Pure functions and values, no I/O and no clock. The expensive part of HMAC
//! (absorbing the key into the inner and outer hash states) happens once, in
//! [`OtpKey::new`]; every code after that copies the two states and runs the
//! two compressions a code needs. Resync windows and fleet simulations compute
//! thousands of codes per key, which is why the key is the unit of reuse.

mod code;
mod key;
mod keyed_hash;
mod totp;

pub use code::{Code, CodeError, Digits, DigitsError, truncate};
pub use key::{Algorithm, AlgorithmError, KeyError, OtpKey, SecretKey};
pub use totp::{TimeStep, TotpError, TotpParams};
