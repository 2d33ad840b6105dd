//! The simulator's main loop: bytes from the line into the engine, its
//! answers back onto the line, until SIGINT or SIGTERM.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, poll};
use signal_hook::consts::{SIGINT, SIGTERM};

use super::engine::{CounterLog, LineEngine};

/// A self-pipe the signal handlers write to, so the loop sleeps in one
/// `poll` on the line and the signals, with no timeout to tune.
#[derive(Debug)]
pub struct Shutdown {
    read: UnixStream,
}

impl Shutdown {
    /// Installs the SIGINT and SIGTERM handlers.
    pub fn install() -> io::Result<Shutdown> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(SIGINT, write.try_clone()?)?;
        signal_hook::low_level::pipe::register(SIGTERM, write)?;
        Ok(Shutdown { read })
    }

    /// Sleeps until `fd` is readable (`Ok(true)`) or a signal came
    /// (`Ok(false)`); an interrupted poll is retried.
    pub(crate) fn wait(&self, fd: RawFd) -> io::Result<bool> {
        loop {
            let mut fds = [
                PollFd::new(fd, PollFlags::POLLIN),
                PollFd::new(self.read.as_raw_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, -1) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                return Ok(false);
            }
            if fds[0].revents().is_some_and(|r| !r.is_empty()) {
                return Ok(true);
            }
        }
    }
}

/// Serves until a signal arrives (`Ok`) or the line fails (`Err`).
pub fn serve<L: CounterLog>(
    line: &mut (impl Read + Write + AsRawFd),
    engine: &mut LineEngine<L>,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    loop {
        if !shutdown.wait(line.as_raw_fd())? {
            return Ok(());
        }
        let n = match line.read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the line was closed",
                ));
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        out.clear();
        engine.receive(&buf[..n], &mut out);
        if out.is_empty() {
            continue;
        }
        match line.write_all(&out).and_then(|()| line.flush()) {
            Ok(()) => {}
            // A host that stopped reading a real line: its answer is lost,
            // as on hardware, and the device goes on serving.
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
}
