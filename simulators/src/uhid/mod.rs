//! The USB token as a kernel HID device, through Linux's /dev/uhid: the
//! kernel shows it as a USB HID device (a hidraw node, and a keyboard),
//! which hidapi then opens like hardware. The token's side of the reports
//! is `tokenrig_core::wire::hid::EmulatedToken`, the same code the virtual
//! backend runs.
//!
//! - [`event`]: `struct uhid_event` as bytes, sans-IO.
//! - [`serve`]: create the device, answer the kernel until SIGINT/SIGTERM,
//!   destroy it.

pub mod event;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_core::wire::hid::report::{PRODUCT_ID, REPORT_DESCRIPTOR, VENDOR_ID};

use crate::serial::serve::Shutdown;
use event::{Create, KernelEvent};

/// Where the kernel offers uhid; absent on kernels built without it and in
/// most containers.
pub const UHID_PATH: &str = "/dev/uhid";

/// Opens /dev/uhid, or says why it cannot, naming the path.
pub fn open() -> io::Result<File> {
    if !Path::new(UHID_PATH).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{UHID_PATH} not present (this kernel or container offers no uhid)"),
        ));
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(UHID_PATH)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {UHID_PATH}: {e}")))
}

/// Creates the token's HID device on `uhid`, calls `ready` (the binary
/// announces the device on stdout), and serves until a signal arrives; the
/// device is destroyed on the way out, whatever happened.
pub fn serve(
    uhid: &mut File,
    token: &mut EmulatedToken,
    shutdown: &Shutdown,
    ready: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let serial = token.info().serial;
    let create = event::create2(&Create {
        name: "tokenrig USB OTP token",
        phys: "tokenrig-sim",
        uniq: serial.as_str(),
        descriptor: REPORT_DESCRIPTOR,
        vendor: u32::from(VENDOR_ID),
        product: u32::from(PRODUCT_ID),
    })
    .map_err(io::Error::other)?;
    uhid.write_all(&create)?;
    let result = ready().and_then(|()| answer(uhid, token, shutdown));
    let destroyed = uhid.write_all(&event::destroy());
    result.and(destroyed)
}

fn answer(uhid: &mut File, token: &mut EmulatedToken, shutdown: &Shutdown) -> io::Result<()> {
    let mut buf = vec![0u8; event::EVENT_SIZE];
    loop {
        if !shutdown.wait(uhid.as_raw_fd())? {
            return Ok(());
        }
        let n = match uhid.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match event::decode(&buf[..n]) {
            Some(KernelEvent::Output(report)) => {
                for input in token.output(&report) {
                    uhid.write_all(&event::input2(&input).map_err(io::Error::other)?)?;
                }
            }
            Some(KernelEvent::GetReport { id, rnum, rtype }) => {
                let report = (rtype == event::FEATURE_REPORT)
                    .then(|| token.feature(rnum))
                    .flatten();
                let reply = report.as_deref().ok_or(event::EIO);
                uhid.write_all(&event::get_report_reply(id, reply))?;
            }
            // The token has no settable feature report.
            Some(KernelEvent::SetReport { id }) => {
                uhid.write_all(&event::set_report_reply(id, event::EIO))?;
            }
            _ => {}
        }
    }
}
