//! The application layer: what a verifier deployment does, above the
//! store and the SMS gateways, below the server, the CLI and the harness.
//!
//! [`Service`] owns one store connection and the policy. Each operation
//! loads what the sans-IO core needs, asks the core, and writes the
//! result by compare-and-set with its audit row (`decide.rs`); the device
//! replacement flow (`replacement.rs`) does the same on the attempt's row
//! and carries out the core's [`Effect`](crate::verifier::Effect)s. The
//! slow and random parts of a request live here, never in the store:
//! argon2 checks, the timing decoy, the OS RNG.
//!
//! Its fields are private: a caller says what it wants done, it never
//! reaches through to the store.

mod decide;
mod dispatch;
mod reasons;
mod replacement;

use crate::clock::UnixTime;
use crate::device::Serial;
use crate::inventory::InventoryEntry;
use crate::store::{AuditRow, OutboxMessage, Store, StoreError, TokenSummary, Unreadable};
use crate::user::{PhoneNumber, TaxCode, User};
use crate::verifier::Policy;

pub use decide::MAX_ATTEMPTS;
pub use dispatch::{Dispatcher, Retry, Wake};
pub use reasons::{REASONS, ReasonCode, reason_code};
pub use replacement::ReplacementError;

/// One store connection and the policy its decisions follow. `Send`, not
/// `Sync`, like the store: one per thread.
#[derive(Debug)]
pub struct Service {
    store: Store,
    policy: Policy,
    sms: SmsRoute,
}

/// Where the SMS a step sends goes.
#[derive(Clone, Debug)]
enum SmsRoute {
    /// The outbox is the destination: written `sent`, read back by test
    /// rigs through [`Service::sms_outbox`].
    Outbox,
    /// Queued for a [`Dispatcher`], woken through this.
    Dispatch(Wake),
}

impl Service {
    /// A service whose SMS go to the outbox and stay there.
    pub fn new(store: Store, policy: Policy) -> Service {
        Service {
            store,
            policy,
            sms: SmsRoute::Outbox,
        }
    }

    /// SMS are queued for the dispatcher `wake` belongs to.
    pub fn dispatching(self, wake: Wake) -> Service {
        Service {
            sms: SmsRoute::Dispatch(wake),
            ..self
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Imports a parsed inventory, all or nothing.
    pub fn import(&self, entries: &[InventoryEntry], now: UnixTime) -> Result<usize, StoreError> {
        self.store.import(entries, now)
    }

    pub fn add_user(&self, user: &User, now: UnixTime) -> Result<(), StoreError> {
        self.store.add_user(user, now)
    }

    /// Binds an unowned token to a user who has none. Each refusal says
    /// which rule: no such user or serial, a token that is not free (owned,
    /// or replaced: a retired token is never reused), or a user who already
    /// holds a token and must go through the replacement flow instead.
    pub fn assign(&self, user: &TaxCode, serial: Serial, now: UnixTime) -> Result<(), StoreError> {
        if self.store.user(user)?.is_none() {
            return Err(StoreError::UnknownUser(*user));
        }
        let summary = self
            .store
            .token_summary(serial)?
            .ok_or(StoreError::UnknownSerial(serial))?;
        if !summary.facts().is_free() {
            let status = match summary.username {
                Some(owner) => format!("assigned to {owner}"),
                None => summary.status.to_string(),
            };
            return Err(StoreError::NotAssignable { serial, status });
        }
        if let Some(active) = self.store.active_serial_of(user)? {
            return Err(StoreError::UserHasToken {
                username: *user,
                serial: active,
            });
        }
        self.store.assign(user, serial, now)
    }

    pub fn token(&self, serial: Serial) -> Result<Option<TokenSummary>, StoreError> {
        self.store.token_summary(serial)
    }

    /// Every token, or one user's, by serial.
    pub fn tokens(&self, user: Option<&TaxCode>) -> Result<Vec<TokenSummary>, StoreError> {
        self.store.tokens(user)
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.store.audit(limit)
    }

    /// The SMS outbox, or one phone's messages, oldest first.
    pub fn sms_outbox(
        &self,
        phone: Option<&PhoneNumber>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.store.sms_outbox(phone)
    }

    /// The same for the admin listing: a row that does not read back comes
    /// as [`Unreadable`] in its place.
    pub fn sms_outbox_rows(
        &self,
        phone: Option<&PhoneNumber>,
    ) -> Result<Vec<Result<OutboxMessage, Unreadable>>, StoreError> {
        self.store.sms_outbox_rows(phone)
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.store.ping()
    }

    /// Runs `work` with its writes committed together (see
    /// [`Store::batch`]): what a server worker does with a queue.
    pub fn batch<T>(&self, work: impl FnOnce(&Service) -> T) -> Result<T, StoreError> {
        self.store.batch(|_| work(self))
    }
}

#[cfg(test)]
mod tests;
