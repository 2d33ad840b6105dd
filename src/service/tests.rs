//! The replacement flow end to end on SQLite: full flows for the three
//! device kinds with the SMS code read from the outbox, and every refusal.
//! A second store connection looks at what the service wrote.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::thread;

use tempfile::TempDir;

use super::*;
use crate::inventory::{self, Format};
use crate::otp::{Algorithm, Digits, OtpKey, SecretKey};
use crate::store::{AttemptId, SecretSource, SmsStatus, StoreSecret, TokenStatus};
use crate::user::{HashParams, PasswordHash};
use crate::verifier::{Outcome, Reason, Stage, TokenState};

pub(super) const FLEET: &str = include_str!("../../fixtures/inventory/fleet.csv");
const EVENT: &str = "1909107966482";
const TIME: &str = "2630489071652";
pub(super) const USERNAME: &str = "RSSMRA85T10A562S";
/// When admin actions in these tests happen.
pub(super) const T: UnixTime = UnixTime::from_secs(1_700_000_000);

pub(super) fn entries(csv: &str) -> Vec<InventoryEntry> {
    inventory::parse(csv.as_bytes(), Format::Csv, None).expect("valid inventory")
}

pub(super) fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("valid serial")
}

/// A temporary SQLite store, opened as often as a test needs connections.
pub(super) struct Scratch {
    dir: TempDir,
}

impl Scratch {
    pub(super) fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(super) fn db(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    pub(super) fn open(&self) -> Store {
        let secret = SecretSource::Given(StoreSecret::from_bytes([7; 32]));
        Store::open_with(&format!("sqlite:{}", self.db().display()), &secret).expect("store opens")
    }
}

/// A connection under the API, for what it does not show.
fn raw(scratch: &Scratch) -> rusqlite::Connection {
    rusqlite::Connection::open(scratch.db()).expect("raw connection")
}

pub(super) fn user(tax_code: &str, user_code: &str) -> User {
    let light = HashParams {
        memory_kib: 8,
        iterations: 1,
        lanes: 1,
    };
    User::new(
        tax_code.parse().expect("tax code"),
        "+39 333 123 4567".parse().expect("phone"),
        user_code.parse().expect("user code"),
        PasswordHash::new_with_params(PASSWORD, light).expect("hash"),
    )
}

pub(super) const OLD: &str = EVENT;
const EVENT_KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const SPARE_C100: &str = "1909107966483";
const SPARE_C100_KEY: &str = "2c65bbef7988fb0c479b55008337588b34871680";
const C200: &str = TIME;
const C200_KEY: &str = "fb629f61551d47bd9593f765f309d18821e1b546";
const USB: &str = "1326479416877";
const USB_KEY: &str = "4607679ff7faa95fee8bf366843e1b7596c99099";
pub(super) const PASSWORD: &str = "hunter42";

fn hotp(key: &str, counter: u64) -> String {
    let key = SecretKey::from_hex(key).expect("hex key");
    OtpKey::new(Algorithm::Sha1, &key)
        .hotp(counter, Digits::SIX)
        .to_string()
}

fn event_code(counter: u64) -> String {
    hotp(EVENT_KEY, counter)
}

/// The C200's code for the 60-second step holding `at` (T0 = 0).
fn c200_code(at: UnixTime) -> String {
    hotp(C200_KEY, at.as_secs() / 60)
}

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T.as_secs() + secs)
}

fn refused(result: Result<impl fmt::Debug, ReplacementError>) -> Reason {
    match result {
        Err(ReplacementError::Rejected(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A store holding the fleet, and a user whose active device is `OLD`;
/// `store` is a second connection to look at it.
struct Rig {
    scratch: Scratch,
    verifier: Service,
    store: Store,
    username: TaxCode,
}

impl Rig {
    fn new() -> Rig {
        Rig::with_policy(Policy::default())
    }

    fn with_policy(policy: Policy) -> Rig {
        let scratch = Scratch::new();
        let store = scratch.open();
        store.import(&entries(FLEET), T).expect("import");
        let alice = user(USERNAME, "Card1234");
        store.add_user(&alice, T).expect("add user");
        let username = *alice.username();
        store.assign(&username, serial(OLD), T).expect("assign");
        Rig {
            verifier: Service::new(scratch.open(), policy),
            scratch,
            store,
            username,
        }
    }

    fn store(&self) -> &Store {
        &self.store
    }

    /// A second connection to the same database, as another server process.
    fn other_process(&self) -> Service {
        Service::new(self.scratch.open(), self.verifier.policy.clone())
    }

    fn start_at(&self, now: UnixTime) -> Result<AttemptId, ReplacementError> {
        self.verifier
            .start_replacement(&self.username, PASSWORD, serial(OLD), now)
            .map(|(id, sms)| {
                assert_eq!(sms, SmsStatus::Sent, "the outbox is the destination");
                id
            })
    }

    fn start(&self) -> AttemptId {
        self.start_at(at(0)).expect("attempt starts")
    }

    /// The code in the newest SMS of the outbox.
    fn sms(&self) -> String {
        let outbox = self.store().sms_outbox(None).expect("outbox");
        outbox.last().expect("an SMS was sent").code.to_string()
    }

    /// An attempt waiting for the new device's OTPs.
    fn at_otps(&self, new: &str) -> AttemptId {
        let id = self.start();
        self.verifier
            .replacement_sms_code(&id, &self.sms(), at(10))
            .expect("sms code");
        self.verifier
            .replacement_device(&id, new, at(20))
            .expect("device");
        id
    }

    fn old_state(&self) -> TokenState {
        self.store()
            .token(serial(OLD))
            .expect("load")
            .expect("present")
            .state
    }

    fn attempts(&self) -> u32 {
        raw(&self.scratch)
            .query_row("SELECT COUNT(*) FROM replacements", [], |r| r.get(0))
            .expect("count")
    }
}

/// The end of every successful flow: the old device is retired and refused,
/// the new one is the user's, takes its next code and refuses spent ones.
fn assert_swapped(rig: &Rig, new: &str, next: &str, spent: &str, now: UnixTime) {
    let store = rig.store();
    let old = store.token(serial(OLD)).expect("load").expect("present");
    assert_eq!(old.status, TokenStatus::Replaced);
    assert_eq!(old.username, Some(rig.username));
    assert_eq!(
        store.active_serial_of(&rig.username).expect("active"),
        Some(serial(new))
    );
    let v = &rig.verifier;
    assert_eq!(
        v.check_serial(serial(OLD), &event_code(0), now)
            .expect("check"),
        Outcome::Rejected(Reason::SerialInactive(serial(OLD)))
    );
    assert_eq!(
        v.check_user(&rig.username, spent, now).expect("check"),
        Outcome::Rejected(Reason::Replayed)
    );
    assert!(matches!(
        v.check_user(&rig.username, next, now).expect("check"),
        Outcome::Accepted { .. }
    ));
}

#[test]
fn a_c100_is_replaced_with_two_consecutive_codes() {
    let rig = Rig::new();
    let id = rig.start();
    let outbox = rig.store().sms_outbox(None).expect("outbox");
    assert_eq!(outbox.len(), 1);
    let phone: PhoneNumber = "+393331234567".parse().expect("phone");
    assert_eq!(outbox[0].phone, phone);
    assert_eq!(outbox[0].sent_at, at(0));
    assert_eq!(
        outbox[0].text,
        format!(
            "tokenrig: your device replacement code is {}. It expires in 5 minutes.",
            outbox[0].code
        )
    );
    assert_eq!(
        rig.store().sms_outbox(Some(&phone)).expect("outbox"),
        outbox
    );
    let elsewhere: PhoneNumber = "+14155550100".parse().expect("phone");
    assert!(
        rig.store()
            .sms_outbox(Some(&elsewhere))
            .expect("outbox")
            .is_empty()
    );

    let v = &rig.verifier;
    v.replacement_sms_code(&id, &rig.sms(), at(10))
        .expect("sms code");
    let required = v
        .replacement_device(&id, SPARE_C100, at(20))
        .expect("device");
    assert_eq!(required, 2);
    let codes = [hotp(SPARE_C100_KEY, 0), hotp(SPARE_C100_KEY, 1)];
    let new = v
        .replacement_otps(&id, &[&codes[0], &codes[1]], at(30))
        .expect("completed");
    assert_eq!(new, serial(SPARE_C100));
    assert_swapped(
        &rig,
        SPARE_C100,
        &hotp(SPARE_C100_KEY, 2),
        &codes[1],
        at(40),
    );

    // Done is done: the attempt takes nothing more.
    let again = v.replacement_otps(&id, &[&codes[0], &codes[1]], at(50));
    assert_eq!(refused(again), Reason::AttemptOver(Stage::Completed));

    let audit = rig.store().audit(30).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    assert!(actions.contains(&"replace_started"), "{actions:?}");
    assert!(actions.contains(&"sms_sent"), "{actions:?}");
    let done = audit
        .iter()
        .find(|r| r.action == "replace" && r.outcome == "done")
        .expect("the swap's row");
    assert_eq!(done.serial.as_deref(), Some(SPARE_C100));
    let shown = format!("{audit:?} {outbox:?}");
    assert!(!shown.contains(&outbox[0].code.to_string()), "{shown}");
    for code in &codes {
        assert!(!shown.contains(code.as_str()), "{shown}");
    }
}

#[test]
fn a_c200_is_replaced_with_one_code_and_a_usb_token_with_two() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    // Another process takes the next steps: the attempt is in the store.
    let other = rig.other_process();
    other
        .replacement_sms_code(&id, &rig.sms(), at(10))
        .expect("sms code");
    assert_eq!(
        other.replacement_device(&id, C200, at(20)).expect("device"),
        1
    );
    let now = at(30);
    let code = c200_code(now);
    assert_eq!(
        v.replacement_otps(&id, &[&code], now).expect("completed"),
        serial(C200)
    );
    let next_minute = now.saturating_add(std::time::Duration::from_secs(60));
    assert_swapped(&rig, C200, &c200_code(next_minute), &code, next_minute);

    let rig = Rig::new();
    let id = rig.at_otps(USB);
    let codes = [hotp(USB_KEY, 0), hotp(USB_KEY, 1)];
    assert_eq!(
        rig.verifier
            .replacement_otps(&id, &[&codes[0], &codes[1]], at(30))
            .expect("completed"),
        serial(USB)
    );
    assert_swapped(&rig, USB, &hotp(USB_KEY, 2), &codes[0], at(40));
}

#[test]
fn a_wrong_password_stores_no_attempt_and_counts_a_failure() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let wrong = v.start_replacement(&rig.username, "hunter43", serial(OLD), at(0));
    assert_eq!(refused(wrong), Reason::WrongPassword);
    assert_eq!(rig.attempts(), 0);
    assert!(rig.store().sms_outbox(None).expect("outbox").is_empty());
    assert_eq!(rig.old_state().failures, 1);
    let audit = rig.store().audit(1).expect("audit");
    assert_eq!(audit[0].action, "replace");
    assert_eq!(audit[0].reason.as_deref(), Some("wrong_password"));
    assert_eq!(audit[0].serial.as_deref(), Some(OLD));

    // An unknown user reads the same, and there is nothing to count on.
    let nobody: TaxCode = "BNCGVN80A01H501J".parse().expect("tax code");
    let unknown = v.start_replacement(&nobody, PASSWORD, serial(OLD), at(0));
    assert_eq!(refused(unknown), Reason::WrongPassword);
    // The right password for a device that is not the user's.
    let other = v.start_replacement(&rig.username, PASSWORD, serial(SPARE_C100), at(0));
    assert!(
        matches!(other, Err(ReplacementError::NotActiveDevice(s)) if s == serial(SPARE_C100)),
        "{other:?}"
    );
    assert_eq!(rig.attempts(), 0);
}

#[test]
fn a_wrong_sms_code_counts_and_the_right_one_then_passes() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    let right = rig.sms();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_eq!(
        refused(v.replacement_sms_code(&id, wrong, at(10))),
        Reason::WrongSmsCode
    );
    assert_eq!(rig.old_state().failures, 1);
    v.replacement_sms_code(&id, &right, at(11))
        .expect("right code");
    // A correct step does not reset the account's failures; a code does.
    assert_eq!(rig.old_state().failures, 1);
}

#[test]
fn three_wrong_sms_codes_fail_the_attempt() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    let right = rig.sms();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_eq!(
        refused(v.replacement_sms_code(&id, wrong, at(10))),
        Reason::WrongSmsCode
    );
    let typo = v.replacement_sms_code(&id, "12a456", at(11));
    assert!(matches!(refused(typo), Reason::Malformed { .. }));
    assert_eq!(
        refused(v.replacement_sms_code(&id, wrong, at(12))),
        Reason::SmsTriesExhausted
    );
    assert_eq!(rig.old_state().failures, 3);
    assert_eq!(
        refused(v.replacement_sms_code(&id, &right, at(13))),
        Reason::AttemptOver(Stage::Failed)
    );
    assert_eq!(
        rig.old_state().failures,
        3,
        "an attempt over is not a guess"
    );
    // The failed attempt holds no code any more.
    let sealed: Option<Vec<u8>> = raw(&rig.scratch)
        .query_row("SELECT sms_code_ciphertext FROM replacements", [], |r| {
            r.get(0)
        })
        .expect("row");
    assert_eq!(sealed, None);
}

#[test]
fn the_sms_code_expires_after_five_minutes() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    let code = rig.sms();
    assert_eq!(
        refused(v.replacement_sms_code(&id, &code, at(300))),
        Reason::SmsCodeExpired
    );
    assert_eq!(
        refused(v.replacement_sms_code(&id, &code, at(301))),
        Reason::AttemptOver(Stage::Expired)
    );
    assert_eq!(rig.old_state().failures, 0, "timers are not guesses");
}

#[test]
fn every_device_refusal_counts_and_the_attempt_stays() {
    let rig = Rig::new();
    let v = &rig.verifier;
    // Bob holds the spare C100; the C200's row claims to be a C100, which
    // the prefix 2 (time) contradicts.
    let bob = user("BNCGVN80A01H501J", "Card5678");
    rig.store().add_user(&bob, T).expect("add bob");
    rig.store()
        .assign(bob.username(), serial(SPARE_C100), T)
        .expect("assign");
    raw(&rig.scratch)
        .execute("UPDATE tokens SET model = 'c100' WHERE serial = ?1", [C200])
        .expect("tamper");
    let id = rig.start();
    v.replacement_sms_code(&id, &rig.sms(), at(10))
        .expect("sms");
    let cases = [
        ("1999999999999", "unknown_serial"),
        (SPARE_C100, "serial_assigned"),
        (C200, "wrong_family"),
        ("19991O9999999", "malformed_serial"),
    ];
    for (n, (typed, code)) in cases.into_iter().enumerate() {
        let reason = refused(v.replacement_device(&id, typed, at(20)));
        assert_eq!(reason.code(), code, "{typed}");
        assert_eq!(rig.old_state().failures, n as u32 + 1);
    }
    assert_eq!(v.replacement_device(&id, USB, at(21)).expect("device"), 2);
}

#[test]
fn every_otp_refusal_counts() {
    let rig = Rig::new();
    let v = &rig.verifier;
    // The spare C100's first five codes were spent before it was shelved.
    let shelf = v
        .check_serial(serial(SPARE_C100), &hotp(SPARE_C100_KEY, 4), T)
        .expect("check");
    assert_eq!(shelf, Outcome::Accepted { matched: 4 });
    let id = rig.at_otps(SPARE_C100);
    let code = |c| hotp(SPARE_C100_KEY, c);
    let cases: [(Vec<String>, Reason); 3] = [
        (
            vec![code(5)],
            Reason::WrongOtpCount {
                expected: 2,
                found: 1,
            },
        ),
        (vec![code(5), code(7)], Reason::NotConsecutive),
        (vec![code(3), code(4)], Reason::Replayed),
    ];
    for (n, (otps, reason)) in cases.into_iter().enumerate() {
        let otps: Vec<&str> = otps.iter().map(String::as_str).collect();
        assert_eq!(refused(v.replacement_otps(&id, &otps, at(30))), reason);
        assert_eq!(rig.old_state().failures, n as u32 + 1);
    }
    let new = v
        .replacement_otps(&id, &[&code(5), &code(6)], at(31))
        .expect("completed");
    assert_eq!(new, serial(SPARE_C100));
    assert_eq!(
        rig.store()
            .token(new)
            .expect("load")
            .expect("present")
            .state,
        TokenState::event(7)
    );
}

#[test]
fn steps_out_of_order_are_refused_and_counted() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    assert_eq!(
        refused(v.replacement_device(&id, SPARE_C100, at(10))),
        Reason::OutOfOrder {
            expected: Stage::SmsCode,
            got: Stage::Serial
        }
    );
    let otps = [hotp(SPARE_C100_KEY, 0), hotp(SPARE_C100_KEY, 1)];
    assert_eq!(
        refused(v.replacement_otps(&id, &[&otps[0], &otps[1]], at(11))),
        Reason::OutOfOrder {
            expected: Stage::SmsCode,
            got: Stage::Otps
        }
    );
    v.replacement_sms_code(&id, &rig.sms(), at(12))
        .expect("sms");
    assert_eq!(
        refused(v.replacement_sms_code(&id, &rig.sms(), at(13))),
        Reason::OutOfOrder {
            expected: Stage::Serial,
            got: Stage::SmsCode
        }
    );
    assert_eq!(rig.old_state().failures, 3);
    let unknown: AttemptId = "0123456789abcdef0123456789abcdef".parse().expect("an id");
    assert!(matches!(
        v.replacement_sms_code(&unknown, "123456", at(14)),
        Err(ReplacementError::UnknownAttempt)
    ));
    assert!(matches!(
        "not-an-id".parse::<AttemptId>(),
        Err(crate::store::NoSuchAttempt)
    ));
    assert_eq!(id.as_str().len(), 32);
    assert_ne!(rig.start(), id, "ids are random");
}

#[test]
fn an_attempt_expires_after_fifteen_minutes() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let id = rig.start();
    v.replacement_sms_code(&id, &rig.sms(), at(10))
        .expect("sms");
    assert_eq!(
        refused(v.replacement_device(&id, SPARE_C100, at(900))),
        Reason::AttemptExpired
    );
    assert_eq!(
        refused(v.replacement_device(&id, SPARE_C100, at(901))),
        Reason::AttemptOver(Stage::Expired)
    );
    assert_eq!(rig.old_state().failures, 0);
}

#[test]
fn a_locked_account_starts_and_continues_nothing() {
    let rig = Rig::with_policy(Policy {
        max_failures: 2,
        ..Policy::default()
    });
    let v = &rig.verifier;
    let id = rig.start();
    let right = rig.sms();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..2 {
        assert_eq!(
            refused(v.replacement_sms_code(&id, wrong, at(10))),
            Reason::WrongSmsCode
        );
    }
    assert!(rig.old_state().locked);
    assert_eq!(
        refused(v.replacement_sms_code(&id, &right, at(11))),
        Reason::Locked
    );
    assert_eq!(refused(rig.start_at(at(12))), Reason::Locked);
    assert_eq!(rig.store().sms_outbox(None).expect("outbox").len(), 1);
    assert_eq!(
        rig.old_state().failures,
        2,
        "refusals while locked are not counted"
    );
    rig.verifier.unlock(serial(OLD), T).expect("unlock");
    v.replacement_sms_code(&id, &right, at(13))
        .expect("unlocked");
}

#[test]
fn racing_requests_on_one_attempt_take_one_step() {
    const THREADS: usize = 4;
    let rig = Rig::new();
    let id = rig.start();
    let code = rig.sms();
    let barrier = Arc::new(Barrier::new(THREADS));
    let results: Vec<Result<(), ReplacementError>> = (0..THREADS)
        .map(|_| {
            let (verifier, barrier) = (rig.other_process(), Arc::clone(&barrier));
            let (id, code) = (id.clone(), code.clone());
            thread::spawn(move || {
                barrier.wait();
                verifier.replacement_sms_code(&id, &code, at(10))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let passed = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(passed, 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                r,
                Err(ReplacementError::Raced | ReplacementError::Rejected(Reason::OutOfOrder { .. }))
            ),
            "{r:?}"
        );
    }
    let version: i64 = raw(&rig.scratch)
        .query_row("SELECT version FROM replacements", [], |r| r.get(0))
        .expect("row");
    assert!(version >= 1);
}

#[test]
fn a_sealed_sms_code_moved_to_another_attempt_does_not_open() {
    let rig = Rig::new();
    let first = rig.start();
    let second = rig.start();
    raw(&rig.scratch)
        .execute(
            "UPDATE replacements SET (sms_code_ciphertext, sms_code_nonce) = \
             (SELECT sms_code_ciphertext, sms_code_nonce FROM replacements WHERE id = ?1) \
             WHERE id = ?2",
            [first.as_str(), second.as_str()],
        )
        .expect("tamper");
    let err = rig
        .verifier
        .replacement_sms_code(&second, &rig.sms(), at(10))
        .expect_err("AAD is the attempt id");
    assert!(
        matches!(err, ReplacementError::Store(StoreError::Corrupt(_))),
        "{err}"
    );
}

#[test]
fn a_new_device_taken_by_someone_else_mid_flow_is_refused_as_assigned() {
    let rig = Rig::new();
    let id = rig.at_otps(SPARE_C100);
    // Another user is given the spare by an admin, between the device
    // step and the codes.
    let bob = user("BNCGVN80A01H501J", "Card5678");
    rig.store().add_user(&bob, T).expect("add bob");
    rig.store()
        .assign(bob.username(), serial(SPARE_C100), T)
        .expect("assign the spare to bob");
    let codes = [hotp(SPARE_C100_KEY, 0), hotp(SPARE_C100_KEY, 1)];
    let taken = rig
        .verifier
        .replacement_otps(&id, &[&codes[0], &codes[1]], at(30));
    assert_eq!(refused(taken), Reason::SerialAssigned(serial(SPARE_C100)));
    // Alice keeps her old device; bob keeps the spare.
    assert_eq!(
        rig.store().active_serial_of(&rig.username).expect("read"),
        Some(serial(OLD))
    );
    assert_eq!(
        rig.store().active_serial_of(bob.username()).expect("read"),
        Some(serial(SPARE_C100))
    );
}

#[test]
fn assign_says_which_rule_refused_and_writes_nothing_then() {
    let rig = Rig::new();
    let bob = user("BNCGVN80A01H501J", "Card5678");
    rig.store().add_user(&bob, T).expect("add bob");
    let bob = *bob.username();
    let audit_rows = || rig.store().audit(u32::MAX).expect("audit").len();
    let before = audit_rows();
    let nobody: TaxCode = "VRDGPP80A01H501U".parse().expect("tax code");
    let unknown = rig
        .verifier
        .assign(&nobody, serial(SPARE_C100), T)
        .expect_err("no user");
    assert!(
        matches!(unknown, StoreError::UnknownUser(u) if u == nobody),
        "{unknown}"
    );
    let missing = rig
        .verifier
        .assign(&bob, serial("1000000000999"), T)
        .expect_err("no token");
    assert!(matches!(missing, StoreError::UnknownSerial(_)), "{missing}");
    let owned = rig
        .verifier
        .assign(&bob, serial(OLD), T)
        .expect_err("owned");
    assert!(matches!(owned, StoreError::NotAssignable { .. }), "{owned}");
    rig.verifier
        .assign(&bob, serial(SPARE_C100), T)
        .expect("a free token");
    let second = rig
        .verifier
        .assign(&bob, serial(C200), T)
        .expect_err("has one");
    assert!(
        matches!(second, StoreError::UserHasToken { .. }),
        "{second}"
    );
    // One audit row: the assignment that went through.
    assert_eq!(audit_rows(), before + 1);
}

#[test]
fn radius_password_then_code_checks_the_password_first() {
    let rig = Rig::new();
    let v = &rig.verifier;
    let accepted = |o: Result<Outcome, StoreError>| matches!(o, Ok(Outcome::Accepted { .. }));
    let reason = |o: Result<Outcome, StoreError>| match o {
        Ok(Outcome::Rejected(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    };
    // A wrong password: counted and audited, the code not spent.
    let wrong = format!("hunter43{}", event_code(0));
    assert_eq!(
        reason(v.check_user_password_otp(&rig.username, &wrong, at(0))),
        Reason::WrongPassword
    );
    assert_eq!(rig.old_state().failures, 1);
    assert_eq!(rig.old_state().next_counter, 0);
    let audit = rig.store().audit(1).expect("audit");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].reason.as_deref()),
        ("check", Some("wrong_password"))
    );
    // Shorter than a code: nothing to split, a wrong password.
    assert_eq!(
        reason(v.check_user_password_otp(&rig.username, "12345", at(0))),
        Reason::WrongPassword
    );
    let right = format!("{PASSWORD}{}", event_code(0));
    assert!(accepted(v.check_user_password_otp(
        &rig.username,
        &right,
        at(0)
    )));
    assert_eq!(
        reason(v.check_user_password_otp(&rig.username, &right, at(0))),
        Reason::Replayed
    );
    // Locked: `locked` whatever the password, and nothing more counted.
    for _ in 0..10 {
        let _ = v.check_user(&rig.username, "000000", at(1));
    }
    let failures = rig.old_state().failures;
    assert_eq!(
        reason(v.check_user_password_otp(&rig.username, &wrong, at(2))),
        Reason::Locked
    );
    assert_eq!(rig.old_state().failures, failures);
    // An unknown user is the store's answer, as for a code alone.
    let nobody: TaxCode = "BNCGVN80A01H501J".parse().expect("tax code");
    assert!(matches!(
        v.check_user_password_otp(&nobody, &right, at(3)),
        Err(StoreError::UnknownUser(_))
    ));
}
