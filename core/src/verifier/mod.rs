//! The verifier core: decides on submitted codes, sans-IO.
//!
//! Input: the [`Policy`], a token's [`TokenConfig`] and stored
//! [`TokenState`], the submitted code(s) and `now`. Output: a [`Decision`],
//! the outcome and the new state. Nothing here reads a clock, a database, a
//! socket or an RNG; time and randomness (the SMS code) come in as values.
//! That is the design of quinn-proto and rustls, for the same reasons:
//! every window, replay, lockout, drift and resync rule is tested with plain
//! values, a simulation can age a token by years in milliseconds, and the
//! store above can apply a decision atomically (compare-and-set on
//! [`Decision::previous`]) so that two verifier processes never both accept
//! one code.
//!
//! - [`validate`]: one code; event look-ahead window, time window around the
//!   learned drift, replay rejection, drift learning.
//! - [`resync`]: two consecutive codes over a much wider window.
//! - [`lockout`]: consecutive failures, the lock, [`unlock`].
//! - [`Replacement`]: the device-replacement flow as a state machine that
//!   returns [`Effect`]s for the caller to carry out.
//! - [`Reason`]: why a submission was refused, for the audit log and, in
//!   vaguer words, for the user.

mod decision;
pub mod lockout;
mod policy;
mod reason;
mod replacement;
mod resync;
mod sms;
mod state;
mod validate;
mod window;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod testkit;

pub use decision::{Decision, Outcome};
pub use lockout::{record_failure, unlock};
pub use policy::{Policy, ReplacementPolicy};
pub use reason::{Field, Reason};
pub use replacement::{
    Effect, InventoryFacts, Replacement, ReplacementState, SentSms, Stage, Transition,
    UnknownStage, otp_count,
};
pub use resync::resync;
pub use sms::{SmsCode, SmsCodeError};
pub use state::{TokenConfig, TokenKind, TokenState};
pub use validate::validate;
