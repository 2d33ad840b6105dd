//! What the core returns: the outcome, and the state change a store applies.

use super::reason::Reason;
use super::state::TokenState;

/// Accepted, or rejected with a reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `matched` is the counter (event) or time step (time) of the accepted
    /// code; for a resync, of OTP 2 (OTP 1's is `matched - 1`).
    Accepted {
        matched: u64,
    },
    Rejected(Reason),
}

/// A decision and the state change it implies.
///
/// The store must apply it with compare-and-set: write `new_state` only if
/// the stored state still equals `previous` (at the very least its
/// `next_counter`). If another verifier got there first, the store re-reads
/// and asks the core again, so two processes can never both accept a code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    pub outcome: Outcome,
    /// The state this decision was computed from: the CAS precondition.
    pub previous: TokenState,
    pub new_state: TokenState,
}

impl Decision {
    pub fn is_accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted { .. })
    }

    /// The rejection reason, if rejected.
    pub fn reason(&self) -> Option<&Reason> {
        match &self.outcome {
            Outcome::Accepted { .. } => None,
            Outcome::Rejected(reason) => Some(reason),
        }
    }

    /// Whether the store has anything to write (a locked token's rejection,
    /// for one, changes nothing).
    pub fn changes_state(&self) -> bool {
        self.previous != self.new_state
    }
}
