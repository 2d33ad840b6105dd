//! The virtual HID backend: emulated USB tokens in this process, reached
//! through the very same report bytes a real token sends, so the whole HID
//! path (codec, keyboard wedge, [`HidDevice`](super::HidDevice)) runs in CI.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::device::Token;

use super::EmulatedToken;
use super::backend::{HidBackend, HidConnection, HidEntry, HidError};
use super::report::{PRODUCT_ID, VENDOR_ID};

/// A set of emulated tokens, as if plugged in.
#[derive(Debug, Default)]
pub struct VirtualHid {
    tokens: Vec<(String, Arc<Mutex<EmulatedToken>>)>,
}

impl VirtualHid {
    pub fn new() -> Self {
        VirtualHid::default()
    }

    /// Plugs in a token; its serial becomes the USB serial number.
    pub fn plug(&mut self, token: impl Token + 'static) {
        let serial = token.serial().as_str().to_owned();
        self.tokens
            .push((serial, Arc::new(Mutex::new(EmulatedToken::new(token)))));
    }
}

impl HidBackend for VirtualHid {
    fn name(&self) -> &'static str {
        "virtual"
    }

    fn enumerate(&mut self) -> Result<Vec<HidEntry>, HidError> {
        Ok(self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, (serial, _))| HidEntry {
                serial: serial.clone(),
                vendor_id: VENDOR_ID,
                product_id: PRODUCT_ID,
                path: format!("virtual:{i}"),
            })
            .collect())
    }

    fn open(&mut self, serial: &str) -> Result<Box<dyn HidConnection>, HidError> {
        let token = self
            .tokens
            .iter()
            .find(|(s, _)| s == serial)
            .map(|(_, token)| Arc::clone(token))
            .ok_or_else(|| HidError::NotFound {
                serial: serial.to_owned(),
                searched: "virtual".to_owned(),
            })?;
        Ok(Box::new(VirtualConnection {
            token,
            inputs: VecDeque::new(),
        }))
    }
}

/// One open handle. Like a hidraw file descriptor, each has its own queue
/// of input reports.
struct VirtualConnection {
    token: Arc<Mutex<EmulatedToken>>,
    inputs: VecDeque<Vec<u8>>,
}

impl HidConnection for VirtualConnection {
    fn write(&mut self, report: &[u8]) -> Result<(), HidError> {
        // A panic elsewhere cannot leave the token half-pressed: `output`
        // changes it only after the press is done.
        let mut token = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        self.inputs.extend(token.output(report));
        Ok(())
    }

    /// Inputs are queued when the command is written, so there is never
    /// anything to wait for.
    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, HidError> {
        let Some(report) = self.inputs.pop_front() else {
            return Ok(0);
        };
        let n = report.len().min(buf.len());
        buf[..n].copy_from_slice(&report[..n]);
        Ok(n)
    }

    fn get_feature(&mut self, buf: &mut [u8]) -> Result<usize, HidError> {
        let id = *buf.first().ok_or(HidError::NoFeature(0))?;
        let token = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        let report = token.feature(id).ok_or(HidError::NoFeature(id))?;
        let n = report.len().min(buf.len());
        buf[..n].copy_from_slice(&report[..n]);
        Ok(n)
    }
}
