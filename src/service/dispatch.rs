//! The SMS dispatcher: a thread that delivers the outbox's queued
//! messages through a gateway, so no request ever waits on the network.
//!
//! At-least-once: a message is committed `queued` with the attempt step
//! that sends it; the dispatcher claims one try of it by compare-and-set
//! (so two processes sharing a database do not both try at once), calls
//! the gateway, and settles the row `sent`, `failed`, or `queued` again
//! with a backoff. A crash between the gateway's acceptance and the
//! settling repeats the message after the claim runs out, under the same
//! idempotency key, so the receiver can drop the repeat. Its timing is
//! the wall clock's (retries are about a real network), read through the
//! `Clock` the edge passes in.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select};

use crate::clock::{Clock, UnixTime};
use crate::sms::{Message, SmsGateway};
use crate::store::{OutboxMessage, Settled, Store, StoreError};

/// How the dispatcher retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Tries per message before it is `failed`.
    pub tries: u32,
    /// The wait after the first failed try, doubled after each next one.
    pub backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
    /// How long a claimed try holds its message from other dispatchers:
    /// longer than the gateway may take, or a slow try is repeated.
    pub claim: Duration,
}

impl Retry {
    /// Five tries over about half a minute, claims held for `timeout`
    /// (one try's limit) plus 5 s.
    pub fn for_timeout(timeout: Duration) -> Retry {
        Retry {
            tries: 5,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            claim: timeout + Duration::from_secs(5),
        }
    }

    fn wait_after(&self, tries: u32) -> Duration {
        let doubled = self
            .backoff
            .saturating_mul(1u32 << tries.saturating_sub(1).min(16));
        doubled.min(self.max_backoff)
    }
}

/// Wakes a dispatcher when a message was queued, so it goes out at once
/// rather than at the next poll. Cheap to clone; a wake-up already
/// pending absorbs more.
#[derive(Clone, Debug)]
pub struct Wake(Sender<()>);

impl Wake {
    pub fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

/// How often the dispatcher looks for due messages without a wake-up:
/// retries coming due, messages other processes queued or a crash left.
const POLL: Duration = Duration::from_millis(500);
/// Messages taken per look.
const BATCH: u32 = 16;

/// The running dispatcher; dropping it stops the thread (after the try
/// under way, if any) and joins it.
pub struct Dispatcher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Dispatcher {
    /// Starts the thread on its own store connection.
    pub fn start(
        store: Store,
        gateway: Arc<dyn SmsGateway>,
        clock: Arc<dyn Clock>,
        retry: Retry,
    ) -> Result<(Dispatcher, Wake), StoreError> {
        let (wake, woken) = crossbeam_channel::bounded(1);
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let worker = Worker {
            store,
            gateway,
            clock,
            retry,
        };
        let thread = std::thread::Builder::new()
            .name("sms-dispatch".to_owned())
            .spawn(move || worker.run(&woken, &stopped))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the SMS dispatcher: {e}")))?;
        Ok((
            Dispatcher {
                stop: Some(stop),
                thread: Some(thread),
            },
            Wake(wake),
        ))
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    store: Store,
    gateway: Arc<dyn SmsGateway>,
    clock: Arc<dyn Clock>,
    retry: Retry,
}

impl Worker {
    fn run(&self, woken: &Receiver<()>, stopped: &Receiver<()>) {
        loop {
            match self.store.due_sms(self.clock.now(), BATCH) {
                Ok(due) => {
                    for message in &due {
                        if let Err(e) = self.try_once(message) {
                            tracing::error!(error = %e, message = message.id, "SMS dispatch failed");
                        }
                    }
                    // A full batch: more may be due; look again at once.
                    if due.len() == BATCH as usize {
                        continue;
                    }
                }
                Err(e) => tracing::error!(error = %e, "reading the SMS outbox failed"),
            }
            select! {
                recv(woken) -> _ => {}
                recv(stopped) -> _ => return,
                default(POLL) => {}
            }
        }
    }

    /// One delivery try of `message`, if no other dispatcher claimed it.
    fn try_once(&self, message: &OutboxMessage) -> Result<(), StoreError> {
        let now = self.clock.now();
        if !self
            .store
            .claim_sms(message, later(now, self.retry.claim))?
        {
            return Ok(());
        }
        let tries = message.tries + 1;
        let Some(key) = message.key.as_deref() else {
            // Queued rows always have a key (schema 3); a row without one
            // cannot be delivered idempotently, so it is not delivered.
            return self
                .store
                .settle_sms(message, Settled::Failed("sms_no_key"), now);
        };
        let result = self.gateway.deliver(&Message {
            key,
            phone: &message.phone,
            code: message.code,
        });
        let done = self.clock.now();
        let settled = match result {
            Ok(()) => Settled::Sent,
            Err(e) if e.is_transient() && tries < self.retry.tries => {
                tracing::warn!(error = %e, message = message.id, tries, "SMS delivery failed; will retry");
                Settled::Retry(later(done, self.retry.wait_after(tries)))
            }
            Err(e) => {
                tracing::error!(error = %e, message = message.id, tries, "SMS not delivered");
                Settled::Failed(if e.is_transient() {
                    "sms_gateway_exhausted"
                } else {
                    "sms_gateway_refused"
                })
            }
        };
        self.store.settle_sms(message, settled, done)
    }
}

fn later(now: UnixTime, wait: Duration) -> UnixTime {
    let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
    UnixTime::from_nanos(now.as_nanos().saturating_add(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let retry = Retry {
            tries: 10,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(20),
            claim: Duration::from_secs(1),
        };
        let waits: Vec<u64> = (1..=6).map(|n| retry.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 20, 20]);
    }
}
