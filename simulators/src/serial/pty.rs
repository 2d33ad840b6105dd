//! A kernel pseudo-terminal pair: the simulator keeps the master, a client
//! opens the slave by path as it would open `/dev/ttyUSB0`.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::ttyname;

/// An open pair. The slave stays open here too: without it, the master
/// reads EIO whenever no client has the path open, and the line would die
/// between two clients.
#[derive(Debug)]
pub struct Pty {
    pub master: File,
    _slave: OwnedFd,
    pub path: PathBuf,
}

impl Pty {
    /// Opens a pair with the slave in raw mode: no echo, no line editing,
    /// no CR/LF translation, no signals from ^C, so every byte, garbage
    /// included, reaches the engine as sent.
    pub fn open() -> io::Result<Pty> {
        let pair = openpty(None, None)?;
        // SAFETY: openpty just returned these descriptors and nothing else
        // owns them.
        let (master, slave) = unsafe {
            (
                OwnedFd::from_raw_fd(pair.master),
                OwnedFd::from_raw_fd(pair.slave),
            )
        };
        let slave_fd = std::os::fd::AsRawFd::as_raw_fd(&slave);
        let mut termios = tcgetattr(slave_fd)?;
        cfmakeraw(&mut termios);
        tcsetattr(slave_fd, SetArg::TCSANOW, &termios)?;
        let path = ttyname(slave_fd)?;
        Ok(Pty {
            master: File::from(master),
            _slave: slave,
            path,
        })
    }
}
