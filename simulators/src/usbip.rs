//! The USB token as a USB/IP device on a TCP port: `usbip list -r` shows
//! it, `usbip attach` makes it a USB device of that host (kernel
//! `vhci-hcd`), whose HID stack then sees a keyboard that types the code.
//! The protocol and the USB side are `tokenrig_core::wire::usbip`; this
//! module only moves bytes.
//!
//! One thread per connection, all on one [`EmulatedToken`] (one token, one
//! counter); the listener sleeps in one `poll` on its socket and the
//! signal self-pipe, as the serial line does. A connection that sends what
//! is no USB/IP packet is closed, the others go on.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::thread;

use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_core::wire::usbip::{Flow, Session, UsbipError};

use crate::serial::serve::Shutdown;

/// The port usbipd listens on, and `usbip` connects to by default.
pub const DEFAULT_PORT: u16 = 3240;

/// Serves the token on `listener` until a signal arrives.
pub fn serve(listener: &TcpListener, token: EmulatedToken, shutdown: &Shutdown) -> io::Result<()> {
    let token = Arc::new(Mutex::new(token));
    loop {
        if !shutdown.wait(listener.as_raw_fd())? {
            return Ok(());
        }
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A peer that went away between poll and accept, or a
            // transient lack of descriptors: the server goes on.
            Err(e) => {
                eprintln!("tokenrig-sim: usbip: accept: {e}");
                continue;
            }
        };
        let token = Arc::clone(&token);
        thread::spawn(move || {
            if let Err(e) = connection(stream, &token) {
                eprintln!("tokenrig-sim: usbip: {peer}: {e}; connection closed");
            }
        });
    }
}

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("{0}")]
    Protocol(#[from] UsbipError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn connection(mut stream: TcpStream, token: &Mutex<EmulatedToken>) -> Result<(), ConnectionError> {
    // Replies are small packets a host waits for one by one.
    stream.set_nodelay(true)?;
    let mut session = Session::new();
    let mut buf = [0u8; 4096];
    let mut replies = Vec::new();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(session.finish()?),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        replies.clear();
        let flow = {
            // A thread that panicked holding the token cannot have left it
            // half-changed (a press is one call), so its lock is taken over.
            let mut token = token
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            session.receive(&mut token, &buf[..n], &mut replies)
        };
        for reply in &replies {
            stream.write_all(reply)?;
        }
        if flow? == Flow::Close {
            return Ok(());
        }
    }
}

/// Parses `--usbip`'s ADDR: `IP:PORT`, or an IP alone on [`DEFAULT_PORT`].
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
        })
        .map_err(|_| format!("{text:?} is neither IP:PORT nor an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_without_a_port_gets_usbips() {
        assert_eq!(
            parse_addr("127.0.0.1"),
            Ok("127.0.0.1:3240".parse().unwrap())
        );
        assert_eq!(parse_addr("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert_eq!(
            parse_addr("localhost"),
            Err("\"localhost\" is neither IP:PORT nor an IP address".to_owned())
        );
    }
}
