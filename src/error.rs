//! What kind of failure an error is, as [`std::io::ErrorKind`] says for
//! I/O: each layer's error enum names its variants, and says once, in its
//! `kind()`, which kind each is. The HTTP status (`server/error.rs`) and
//! the CLI's exit code (`cli/mod.rs`) are derived from the kind, each in
//! one place, so "why is this a 404, or exit 2?" has one answer.

/// The kinds, from the caller's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule: fix it and ask again.
    Invalid,
    /// The input names something that does not exist.
    NotFound,
    /// The input clashes with what exists (a duplicate, a token already
    /// bound, an attempt another request moved).
    Conflict,
    /// Concurrent requests kept winning, or the server is overloaded:
    /// the same request may succeed later.
    Busy,
    /// This deployment is misconfigured (key file, store secret, schema).
    Config,
    /// A service this one depends on failed (an SMS gateway).
    Unavailable,
    /// Stored data is inconsistent, a driver failed, or a bug.
    Internal,
}

impl ErrorKind {
    /// Whether the caller's input is at fault (a 4xx, exit status 2).
    pub fn is_input(self) -> bool {
        matches!(
            self,
            ErrorKind::Invalid | ErrorKind::NotFound | ErrorKind::Conflict
        )
    }
}
