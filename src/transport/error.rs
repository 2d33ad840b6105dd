//! What can go wrong reaching a device, whichever transport. One line each;
//! no message holds a key or a code.

use std::io;
use std::time::Duration;

use crate::device::DeviceError;

use super::line::{ErrorCode, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open serial port {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("serial port {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("serial port {path}: no answer to {request} within {waited:?}")]
    Timeout {
        path: String,
        request: &'static str,
        waited: Duration,
    },
    #[error("serial port {path} was closed by the device")]
    Closed { path: String },
    #[error("the device refused {request}: {code} {message}")]
    Refused {
        request: &'static str,
        code: ErrorCode,
        message: String,
    },
    #[error(transparent)]
    Malformed(#[from] ResponseError),
    #[error("the device sent a line of more than 256 bytes")]
    LineTooLong,
    #[error("the device sent bytes outside printable ASCII")]
    NotAscii,
    #[error("the device answered {request} with an answer meant for another request")]
    Unexpected { request: &'static str },
    #[error(transparent)]
    Token(#[from] DeviceError),
    #[error("{0} has no test clock to advance")]
    NoTestClock(&'static str),
    #[error("the person at the token ended input before typing a code")]
    InputEnded,
    #[error("reading the person's input: {0}")]
    Terminal(io::Error),
    #[error(transparent)]
    Hid(#[from] super::hid::HidError),
    #[error("no valid code typed after {0} tries")]
    NoCodeTyped(u32),
}
