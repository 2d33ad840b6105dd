//! The serial transport: the line protocol over a tty opened by path, the
//! simulator's pseudo-terminal or a real serial port wired to a device.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serialport::SerialPort;

use crate::otp::Code;

use super::line::{DeviceInfo, Frame, LineReader, Request, Response};
use super::{Device, TransportError};

/// How to open the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SerialOptions {
    /// Ignored by pseudo-terminals; must match the device on a real line.
    pub baud: u32,
    /// How long one request may wait for its whole answer.
    pub timeout: Duration,
}

impl Default for SerialOptions {
    /// 9600 baud, the rate serial devices come up at; 2 s for an answer,
    /// ample for a 60-byte reply even at that rate.
    fn default() -> Self {
        SerialOptions {
            baud: 9_600,
            timeout: Duration::from_secs(2),
        }
    }
}

/// A device at the other end of a serial line, speaking the line protocol.
/// One request at a time: each waits for its answer before the next is sent.
pub struct SerialDevice {
    port: Box<dyn SerialPort>,
    path: String,
    timeout: Duration,
    reader: LineReader,
}

impl std::fmt::Debug for SerialDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialDevice")
            .field("path", &self.path)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SerialDevice {
    /// Opens `path` (8N1, no flow control, exclusive) and drops whatever
    /// an earlier client left unread on the line, so the first answer read
    /// is the answer to the first request.
    pub fn open(path: &str, options: SerialOptions) -> Result<SerialDevice, TransportError> {
        let open_error = |e: serialport::Error| TransportError::Open {
            path: path.to_owned(),
            reason: e.description,
        };
        let port = serialport::new(path, options.baud)
            .timeout(options.timeout)
            .open()
            .map_err(open_error)?;
        port.clear(serialport::ClearBuffer::All)
            .map_err(open_error)?;
        Ok(SerialDevice {
            port,
            path: path.to_owned(),
            timeout: options.timeout,
            reader: LineReader::new(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sends one request and reads its answer; an `ERR` answer becomes
    /// [`TransportError::Refused`].
    fn exchange(&mut self, request: Request) -> Result<Response, TransportError> {
        let name = request_name(request);
        self.port
            .write_all(request.encode().as_bytes())
            .and_then(|()| self.port.flush())
            .map_err(|e| self.io_error(e))?;
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; 256];
        loop {
            while let Some(frame) = self.reader.next_frame() {
                let response = match frame {
                    // Blank lines carry nothing; a device may send them.
                    Frame::Line(text) if text.is_empty() => continue,
                    Frame::Line(text) => Response::parse(&text)?,
                    Frame::TooLong => return Err(TransportError::LineTooLong),
                    Frame::NotAscii => return Err(TransportError::NotAscii),
                };
                return match response {
                    Response::Err { code, message } => Err(TransportError::Refused {
                        request: name,
                        code,
                        message,
                    }),
                    answer => Ok(answer),
                };
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = || TransportError::Timeout {
                path: self.path.clone(),
                request: name,
                waited: self.timeout,
            };
            if remaining.is_zero() {
                return Err(timeout());
            }
            self.port
                .set_timeout(remaining)
                .map_err(|e| self.io_error(e.into()))?;
            match self.port.read(&mut buf) {
                Ok(0) => {
                    return Err(TransportError::Closed {
                        path: self.path.clone(),
                    });
                }
                Ok(n) => self.reader.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(timeout()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn io_error(&self, source: io::Error) -> TransportError {
        TransportError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

fn request_name(request: Request) -> &'static str {
    match request {
        Request::Info => "INFO",
        Request::Press => "PRESS",
        Request::Advance(_) => "ADVANCE",
    }
}

impl Device for SerialDevice {
    fn info(&mut self) -> Result<DeviceInfo, TransportError> {
        match self.exchange(Request::Info)? {
            Response::Info(info) => Ok(info),
            _ => Err(TransportError::Unexpected { request: "INFO" }),
        }
    }

    fn press(&mut self) -> Result<Code, TransportError> {
        match self.exchange(Request::Press)? {
            Response::Otp(code) => Ok(code),
            _ => Err(TransportError::Unexpected { request: "PRESS" }),
        }
    }

    fn advance(&mut self, seconds: u64) -> Result<(), TransportError> {
        match self.exchange(Request::Advance(seconds))? {
            Response::Ok => Ok(()),
            _ => Err(TransportError::Unexpected { request: "ADVANCE" }),
        }
    }
}
