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
use crate::store::{OutboxMessage, Settled, Store, StoreError, Unreadable};

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
                        let tried = match message {
                            Ok(message) => self.try_once(message).map_err(|e| (message.id, e)),
                            Err(unreadable) => self.fail(unreadable),
                        };
                        if let Err((id, e)) = tried {
                            tracing::error!(error = %e, message = id, "SMS dispatch failed");
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

    /// A row no try can deliver (it does not decrypt, or is corrupt) is
    /// failed at once, not read again on every poll.
    fn fail(&self, message: &Unreadable) -> Result<(), (i64, StoreError)> {
        tracing::error!(error = %message.why, message = message.id, "SMS unreadable; failed");
        self.store
            .fail_unreadable_sms(message, self.clock.now())
            .map(|_| ())
            .map_err(|e| (message.id, e))
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
            self.store
                .settle_sms(message, Settled::Failed("sms_no_key"), now)?;
            return Ok(());
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
        if !self.store.settle_sms(message, settled, done)? {
            tracing::warn!(
                message = message.id,
                tries,
                "a later try took this SMS over; its result stands"
            );
        }
        Ok(())
    }
}

fn later(now: UnixTime, wait: Duration) -> UnixTime {
    let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
    UnixTime::from_nanos(now.as_nanos().saturating_add(nanos))
}

#[cfg(test)]
mod tests {
    //! The dispatcher on SQLite in a temp dir, against a scripted gateway
    //! that records every call: each message delivered, retried, refused
    //! or given up as the retry rules say, and once across two dispatchers.
    //! Waits poll the outbox against a deadline; nothing asserts a time.

    use std::collections::{HashMap, VecDeque};
    use std::sync::Mutex;
    use std::thread;
    use std::time::Instant;

    use super::*;
    use crate::clock::SystemClock;
    use crate::service::Service;
    use crate::service::tests::{FLEET, OLD, PASSWORD, Scratch, USERNAME, entries, serial, user};
    use crate::sms::SmsError;
    use crate::store::{AuditRow, SmsStatus};
    use crate::user::{PhoneNumber, TaxCode};
    use crate::verifier::{Policy, SmsCode};

    /// How long a test waits for the dispatcher before it fails.
    const DEADLINE: Duration = Duration::from_secs(10);

    /// Millisecond backoff; claims long enough that no try in a test
    /// outlives its own.
    const RETRY: Retry = Retry {
        tries: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        claim: Duration::from_secs(5),
    };

    /// What the scripted gateway answers a call with.
    #[derive(Clone, Copy, Debug)]
    enum Answer {
        Accept,
        /// A 503: worth another try.
        Unavailable,
        /// A 400: the message itself is refused.
        Refuse,
    }

    /// One call the gateway got.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Call {
        key: String,
        phone: PhoneNumber,
        code: SmsCode,
    }

    /// Answers calls from a script, in call order, then accepts all.
    #[derive(Default)]
    struct Scripted {
        script: Mutex<VecDeque<Answer>>,
        calls: Mutex<Vec<Call>>,
    }

    impl Scripted {
        fn new(script: &[Answer]) -> Arc<Scripted> {
            Arc::new(Scripted {
                script: Mutex::new(script.iter().copied().collect()),
                calls: Mutex::default(),
            })
        }

        fn calls(&self) -> Vec<Call> {
            self.calls.lock().expect("calls").clone()
        }

        /// The calls that carried `key`.
        fn calls_with(&self, key: &str) -> usize {
            self.calls().iter().filter(|c| c.key == key).count()
        }
    }

    impl SmsGateway for Scripted {
        fn deliver(&self, message: &Message<'_>) -> Result<(), SmsError> {
            self.calls.lock().expect("calls").push(Call {
                key: message.key.to_owned(),
                phone: message.phone.clone(),
                code: message.code,
            });
            let answer = self
                .script
                .lock()
                .expect("script")
                .pop_front()
                .unwrap_or(Answer::Accept);
            match answer {
                Answer::Accept => Ok(()),
                Answer::Unavailable => Err(SmsError::Status { status: 503 }),
                Answer::Refuse => Err(SmsError::Status { status: 400 }),
            }
        }
    }

    /// The fleet, a user whose active device is `OLD`, and a service that
    /// queues its SMS for a dispatcher; `store` is a connection to look.
    struct Rig {
        scratch: Scratch,
        service: Service,
        store: Store,
        username: TaxCode,
    }

    impl Rig {
        /// Queues for no running dispatcher: messages wait until one starts.
        fn parked() -> Rig {
            let scratch = Scratch::new();
            let store = scratch.open();
            let now = SystemClock.now();
            store.import(&entries(FLEET), now).expect("import");
            let alice = user(USERNAME, "Card1234");
            store.add_user(&alice, now).expect("add user");
            let username = *alice.username();
            store.assign(&username, serial(OLD), now).expect("assign");
            let parked = Wake(crossbeam_channel::bounded(1).0);
            Rig {
                service: Service::new(scratch.open(), Policy::default()).dispatching(parked),
                scratch,
                store,
                username,
            }
        }

        /// Queues for `wake`'s dispatcher from now on.
        fn woken_by(self, wake: Wake) -> Rig {
            Rig {
                service: Service::new(self.scratch.open(), Policy::default()).dispatching(wake),
                ..self
            }
        }

        /// A dispatcher on its own connection, on the wall clock.
        fn dispatcher(&self, gateway: &Arc<Scripted>, retry: Retry) -> (Dispatcher, Wake) {
            let gateway: Arc<dyn SmsGateway> = Arc::clone(gateway) as Arc<dyn SmsGateway>;
            Dispatcher::start(self.scratch.open(), gateway, Arc::new(SystemClock), retry)
                .expect("dispatcher starts")
        }

        /// Starts an attempt; its SMS is queued. Returns the message.
        fn queue(&self) -> OutboxMessage {
            let (_, status) = self
                .service
                .start_replacement(&self.username, PASSWORD, serial(OLD), SystemClock.now())
                .expect("attempt starts");
            assert_eq!(status, SmsStatus::Queued, "a dispatcher delivers it");
            let outbox = self.store.sms_outbox(None).expect("outbox");
            outbox.last().expect("the attempt's SMS").clone()
        }

        /// Polls until the message with `id` has `status`; fails after
        /// [`DEADLINE`], showing the outbox.
        fn wait_until(&self, id: i64, status: SmsStatus) -> OutboxMessage {
            let deadline = Instant::now() + DEADLINE;
            loop {
                let outbox = self.store.sms_outbox(None).expect("outbox");
                let message = outbox
                    .iter()
                    .find(|m| m.id == id)
                    .expect("the message stays in the outbox");
                if message.status == status {
                    return message.clone();
                }
                assert!(
                    Instant::now() < deadline,
                    "message {id} not {} after {DEADLINE:?}: {outbox:?}",
                    status.as_str()
                );
                thread::sleep(Duration::from_millis(5));
            }
        }

        /// The `sms_sent` audit rows, oldest first.
        fn sms_audit(&self) -> Vec<AuditRow> {
            let mut rows: Vec<AuditRow> = self
                .store
                .audit(1000)
                .expect("audit")
                .into_iter()
                .filter(|r| r.action == "sms_sent")
                .collect();
            rows.reverse();
            rows
        }
    }

    /// (outcome, reason) of audit rows.
    fn outcomes(rows: &[AuditRow]) -> Vec<(&str, Option<&str>)> {
        rows.iter()
            .map(|r| (r.outcome.as_str(), r.reason.as_deref()))
            .collect()
    }

    fn key(message: &OutboxMessage) -> String {
        message.key.clone().expect("queued messages have a key")
    }

    #[test]
    fn a_queued_sms_is_delivered_once_with_its_key_and_code() {
        let gateway = Scripted::new(&[]);
        let rig = Rig::parked();
        let queued = rig.queue();
        assert_eq!((queued.status, queued.tries), (SmsStatus::Queued, 0));
        assert!(rig.sms_audit().is_empty(), "not sent yet");
        let (_dispatcher, _wake) = rig.dispatcher(&gateway, RETRY);

        let sent = rig.wait_until(queued.id, SmsStatus::Sent);
        assert_eq!(sent.tries, 1);
        let phone: PhoneNumber = "+393331234567".parse().expect("phone");
        assert_eq!(
            gateway.calls(),
            [Call {
                key: key(&queued),
                phone,
                code: queued.code,
            }]
        );
        assert_eq!(key(&queued).len(), 32);
        let audit = rig.sms_audit();
        assert_eq!(outcomes(&audit), [("done", None)]);
        assert_eq!(audit[0].serial.as_deref(), Some(OLD));
        assert_eq!(audit[0].username.as_deref(), Some(rig.username.as_str()));
    }

    #[test]
    fn a_message_queued_while_the_dispatcher_runs_is_delivered() {
        // As `serve` has it: the dispatcher first, on an empty outbox, and
        // the service waking it.
        let gateway = Scripted::new(&[]);
        let rig = Rig::parked();
        let (_dispatcher, wake) = rig.dispatcher(&gateway, RETRY);
        let rig = rig.woken_by(wake);
        let queued = rig.queue();
        let sent = rig.wait_until(queued.id, SmsStatus::Sent);
        assert_eq!(sent.tries, 1);
        assert_eq!(gateway.calls_with(&key(&queued)), 1);
        assert_eq!(gateway.calls().len(), 1);
    }

    #[test]
    fn a_transient_failure_is_retried_under_the_same_key() {
        let gateway = Scripted::new(&[Answer::Unavailable, Answer::Accept]);
        let rig = Rig::parked();
        let queued = rig.queue();
        let (_dispatcher, _wake) = rig.dispatcher(&gateway, RETRY);

        let sent = rig.wait_until(queued.id, SmsStatus::Sent);
        assert_eq!(sent.tries, 2);
        let calls = gateway.calls();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0], calls[1], "a retry is the same message");
        assert_eq!(calls[0].key, key(&queued));
        assert_eq!(calls[0].code, queued.code);
        assert_eq!(
            outcomes(&rig.sms_audit()),
            [("rejected", Some("sms_gateway_retry")), ("done", None)]
        );
    }

    #[test]
    fn a_refused_message_fails_at_once_and_is_not_tried_again() {
        let gateway = Scripted::new(&[Answer::Refuse]);
        let rig = Rig::parked();
        let refused = rig.queue();
        let (_dispatcher, wake) = rig.dispatcher(&gateway, RETRY);

        let failed = rig.wait_until(refused.id, SmsStatus::Failed);
        assert_eq!(failed.tries, 1);
        assert_eq!(
            outcomes(&rig.sms_audit()),
            [("rejected", Some("sms_gateway_refused"))]
        );
        // A later message goes out, so the dispatcher has looked at the
        // outbox again since: the refused one was not due any more.
        let later = rig.queue();
        wake.wake();
        rig.wait_until(later.id, SmsStatus::Sent);
        assert_eq!(gateway.calls_with(&key(&refused)), 1);
        assert_eq!(gateway.calls_with(&key(&later)), 1);
        assert_eq!(gateway.calls().len(), 2);
    }

    #[test]
    fn a_row_that_does_not_decrypt_is_failed_and_holds_up_no_other() {
        let gateway = Scripted::new(&[]);
        let rig = Rig::parked();
        let broken = rig.queue();
        let fine = rig.queue();
        // The first row's code no longer decrypts, as under another secret.
        let raw = rusqlite::Connection::open(rig.scratch.db()).expect("raw connection");
        raw.execute(
            "UPDATE sms_outbox SET code_ciphertext = zeroblob(length(code_ciphertext)) WHERE id = ?1",
            [broken.id],
        )
        .expect("corrupted");
        let (_dispatcher, _wake) = rig.dispatcher(&gateway, RETRY);

        let status = |id: i64| -> String {
            raw.query_row("SELECT status FROM sms_outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("status")
        };
        let deadline = Instant::now() + DEADLINE;
        while (status(broken.id), status(fine.id)) != ("failed".into(), "sent".into()) {
            assert!(
                Instant::now() < deadline,
                "{} / {}",
                status(broken.id),
                status(fine.id)
            );
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(gateway.calls_with(&key(&broken)), 0);
        assert_eq!(gateway.calls_with(&key(&fine)), 1);
        let rows = rig.sms_audit();
        let mut audit = outcomes(&rows);
        audit.sort();
        assert_eq!(
            audit,
            [("done", None), ("rejected", Some("sms_unreadable"))]
        );
    }

    #[test]
    fn a_message_fails_after_exactly_its_tries() {
        let gateway = Scripted::new(&[Answer::Unavailable; 3]);
        let rig = Rig::parked();
        let exhausted = rig.queue();
        let (_dispatcher, wake) = rig.dispatcher(&gateway, RETRY);

        let failed = rig.wait_until(exhausted.id, SmsStatus::Failed);
        assert_eq!(failed.tries, RETRY.tries);
        assert_eq!(
            outcomes(&rig.sms_audit()),
            [
                ("rejected", Some("sms_gateway_retry")),
                ("rejected", Some("sms_gateway_retry")),
                ("rejected", Some("sms_gateway_exhausted")),
            ]
        );
        let later = rig.queue();
        wake.wake();
        rig.wait_until(later.id, SmsStatus::Sent);
        assert_eq!(
            gateway.calls_with(&key(&exhausted)),
            RETRY.tries as usize,
            "no try after the last"
        );
        assert_eq!(gateway.calls_with(&key(&later)), 1);
    }

    #[test]
    fn two_dispatchers_on_one_database_deliver_each_message_once() {
        const MESSAGES: usize = 12;
        // One gateway behind both, so every call is counted in one place;
        // each call takes a moment, so the two contend for the batch.
        struct Slow(Arc<Scripted>);
        impl SmsGateway for Slow {
            fn deliver(&self, message: &Message<'_>) -> Result<(), SmsError> {
                thread::sleep(Duration::from_millis(2));
                self.0.deliver(message)
            }
        }
        let gateway = Scripted::new(&[]);
        let rig = Rig::parked();
        let queued: Vec<OutboxMessage> = (0..MESSAGES).map(|_| rig.queue()).collect();
        // Both start on the same queued batch at once.
        let dispatchers: Vec<Dispatcher> = (0..2)
            .map(|_| {
                let slow: Arc<dyn SmsGateway> = Arc::new(Slow(Arc::clone(&gateway)));
                Dispatcher::start(rig.scratch.open(), slow, Arc::new(SystemClock), RETRY)
                    .expect("dispatcher starts")
                    .0
            })
            .collect();
        for message in &queued {
            let sent = rig.wait_until(message.id, SmsStatus::Sent);
            assert_eq!(sent.tries, 1, "one claimed try");
        }
        drop(dispatchers);
        let mut per_key: HashMap<String, usize> = HashMap::new();
        for call in gateway.calls() {
            *per_key.entry(call.key).or_default() += 1;
        }
        assert_eq!(per_key.len(), MESSAGES);
        assert!(per_key.values().all(|&n| n == 1), "{per_key:?}");
        assert_eq!(rig.sms_audit().len(), MESSAGES);
    }

    #[test]
    fn a_try_whose_dispatcher_died_is_taken_again_when_its_claim_runs_out() {
        let gateway = Scripted::new(&[]);
        let rig = Rig::parked();
        let queued = rig.queue();
        // A dispatcher claimed the first try and died before settling it.
        let until = later(SystemClock.now(), Duration::from_millis(300));
        assert!(rig.store.claim_sms(&queued, until).expect("claim"));
        assert!(
            !rig.store.claim_sms(&queued, until).expect("claim"),
            "a try is claimed once"
        );
        let due = |at: UnixTime| rig.store.due_sms(at, 16).expect("due").len();
        let just_before = UnixTime::from_nanos(until.as_nanos() - 1);
        assert_eq!(
            (due(just_before), due(until)),
            (0, 1),
            "held until the claim ends"
        );
        let (_dispatcher, _wake) = rig.dispatcher(&gateway, RETRY);

        let sent = rig.wait_until(queued.id, SmsStatus::Sent);
        assert_eq!(sent.tries, 2, "the dead try counts");
        assert_eq!(sent.key, queued.key);
        assert_eq!(gateway.calls_with(&key(&queued)), 1);
        assert_eq!(outcomes(&rig.sms_audit()), [("done", None)]);
    }

    #[test]
    fn a_try_that_outlived_its_claim_cannot_overwrite_a_later_one() {
        let rig = Rig::parked();
        let first = rig.queue();
        let now = SystemClock.now();
        assert!(rig.store.claim_sms(&first, now).expect("claim"));
        // The claim ran out at once; another dispatcher takes the row.
        let second = rig
            .store
            .due_sms(now, 16)
            .expect("due")
            .remove(0)
            .expect("readable");
        assert_eq!(second.tries, 1);
        assert!(
            rig.store
                .claim_sms(&second, later(now, Duration::from_secs(60)))
                .expect("claim")
        );
        assert!(
            !rig.store
                .settle_sms(&first, Settled::Failed("sms_gateway_refused"), now)
                .expect("settle"),
            "the stale try writes nothing"
        );
        assert!(
            rig.store
                .settle_sms(&second, Settled::Sent, now)
                .expect("settle")
        );
        let row = rig.wait_until(first.id, SmsStatus::Sent);
        assert_eq!(row.tries, 2);
        assert_eq!(outcomes(&rig.sms_audit()), [("done", None)]);
    }

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
