//! The store's behaviour, each test run on SQLite (`sqlite::…`) and on
//! PostgreSQL (`postgres::…`, a throw-away cluster from
//! `support::postgres`): one SQL (`src/store/sql.rs`), one set of answers.
//!
//! - round trips, all-or-nothing imports, users, assignment, unlock, the
//!   device swap, the audit log holding no code;
//! - secrets: keys not in the bytes at rest, a key moved to another row,
//!   a wrong store secret, the key file, a bad one leaving nothing behind;
//! - migrations idempotent, a newer schema refused;
//! - concurrency: eight connections racing on each code (one accept),
//!   eight creating one store at once, separate `tokenrig check`
//!   processes, a replacement whose steps alternate between connections.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;

use support::store::{Backend, FreshStore, STORE_KEY};
use tokenrig::clock::UnixTime;
use tokenrig::device::{Model, Serial};
use tokenrig::inventory::{self, Format, InventoryEntry};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};
use tokenrig::service::{ReplacementError, Service};
use tokenrig::store::{
    Applied, AttemptId, AuditAction, AuditOutcome, AuditRecord, SecretSource, Store, StoreError,
    StoreSecret, TokenStatus,
};
use tokenrig::user::{HashParams, PasswordHash, User};
use tokenrig::verifier::{Outcome, Policy, Reason, TokenKind, TokenState, validate};

const FLEET: &str = include_str!("../fixtures/inventory/fleet.csv");
const EVENT: &str = "1909107966482";
const EVENT_KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const SPARE_C100: &str = "1909107966483";
const TIME: &str = "2630489071652";
const TIME_KEY: &str = "fb629f61551d47bd9593f765f309d18821e1b546";
const USERNAME: &str = "RSSMRA85T10A562S";
/// When admin actions in these tests happen.
const T: UnixTime = UnixTime::from_secs(1_700_000_000);

/// Each test below, once per backend: `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    import_round_trips_keys_and_a_u64_max_counter,
    keys_are_not_in_the_bytes_at_rest,
    a_wrong_store_secret_is_refused_on_open,
    a_key_moved_to_another_row_does_not_decrypt,
    migrations_are_idempotent_and_a_newer_schema_is_refused,
    the_key_file_is_created_0600_and_refused_when_readable_by_others,
    a_bad_key_file_leaves_no_database_behind,
    a_stale_decision_is_a_conflict,
    import_is_all_or_nothing,
    users_assignment_and_the_verifier_leave_no_code_in_the_audit,
    unlock_clears_the_lock_and_keeps_the_counter,
    debug_output_hides_secrets,
    replace_device_swaps_both_rows_or_neither,
    a_batch_commits_its_decisions_together_and_sees_its_own_writes,
    locks_resyncs_and_replacement_in_one_session,
    eight_connections_one_code_exactly_one_accept,
    eight_connections_fifty_codes_each_accepted_once,
    eight_connections_can_create_one_store_at_once,
    racing_assignments_leave_a_user_one_active_token,
    separate_processes_never_accept_one_code_twice,
    a_replacement_is_one_attempt_across_connections,
);

fn entries(csv: &str) -> Vec<InventoryEntry> {
    inventory::parse(csv.as_bytes(), Format::Csv, None).expect("valid inventory")
}

fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("valid serial")
}

fn secret(byte: u8) -> SecretSource {
    SecretSource::Given(StoreSecret::from_bytes([byte; 32]))
}

/// A fresh store on `backend` holding the fleet, or `None`: the backend
/// is not available here (the reason is printed; under CI, a failure).
fn fleet_store(backend: Backend) -> Option<FreshStore> {
    let db = FreshStore::new(backend)?;
    let fleet = entries(FLEET);
    assert_eq!(db.open().import(&fleet, T).expect("import"), fleet.len());
    Some(db)
}

fn check_record(at: UnixTime) -> AuditRecord {
    AuditRecord {
        at,
        action: AuditAction::Check,
        serial: Some(serial(EVENT)),
        username: None,
        outcome: AuditOutcome::Accepted,
        reason: None,
    }
}

fn user(tax_code: &str, user_code: &str) -> User {
    let light = HashParams {
        memory_kib: 8,
        iterations: 1,
        lanes: 1,
    };
    User::new(
        tax_code.parse().expect("tax code"),
        "+39 333 123 4567".parse().expect("phone"),
        user_code.parse().expect("user code"),
        PasswordHash::new_with_params("hunter42", light).expect("hash"),
    )
}

fn hotp(key: &str, counter: u64) -> String {
    let key = SecretKey::from_hex(key).expect("hex key");
    OtpKey::new(Algorithm::Sha1, &key)
        .hotp(counter, Digits::SIX)
        .to_string()
}

fn event_code(counter: u64) -> String {
    hotp(EVENT_KEY, counter)
}

fn import_round_trips_keys_and_a_u64_max_counter(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    let store = db.open();
    assert_eq!(store.import(&entries(FLEET), T).expect("import"), 5);
    let max = format!(
        "serial,kind,key,digits,step,counter\n1909107966499,c100,{EVENT_KEY},8,,{}\n",
        u64::MAX
    );
    assert_eq!(store.import(&entries(&max), T).expect("import"), 1);

    let event = store.token(serial(EVENT)).expect("load").expect("present");
    assert_eq!(event.model, Model::C100);
    assert_eq!(event.status, TokenStatus::Unassigned);
    assert_eq!(event.state, TokenState::event(0));
    assert_eq!(event.config.code_at(0).to_string(), event_code(0));

    let time = store.token(serial(TIME)).expect("load").expect("present");
    assert_eq!(
        time.config.kind,
        TokenKind::Time(TotpParams::new(TimeStep::SECONDS_60))
    );

    let far = store
        .token(serial("1909107966499"))
        .expect("load")
        .expect("present");
    assert_eq!(far.state.next_counter, u64::MAX);
    assert_eq!(far.config.digits.get(), 8);
    let listed = store.tokens(None).expect("list");
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[0].model, Model::Usb);
    assert!(
        store
            .token(serial("1909107966400"))
            .expect("load")
            .is_none()
    );
}

fn keys_are_not_in_the_bytes_at_rest(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let key = SecretKey::from_hex(EVENT_KEY).expect("hex key");
    let raw = db.bytes_at_rest();
    assert!(raw.windows(key.len()).all(|w| w != key.as_bytes()));
    assert!(
        raw.windows(EVENT_KEY.len())
            .all(|w| w != EVENT_KEY.as_bytes())
    );
    // The right bytes were searched: the serial, not secret, is there.
    assert!(raw.windows(EVENT.len()).any(|w| w == EVENT.as_bytes()));
}

fn a_wrong_store_secret_is_refused_on_open(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let err = Store::open_with(db.url(), &secret(8)).expect_err("wrong secret");
    assert!(matches!(err, StoreError::WrongSecret), "{err}");
    assert!(err.to_string().contains("does not match"), "{err}");
}

fn a_key_moved_to_another_row_does_not_decrypt(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open();
    db.execute(
        "UPDATE tokens SET (key_ciphertext, key_nonce) = \
         (SELECT key_ciphertext, key_nonce FROM tokens WHERE serial = ?1) \
         WHERE serial = ?2",
        &[SPARE_C100, EVENT],
    );
    let err = store.token(serial(EVENT)).expect_err("AAD is the serial");
    assert!(matches!(err, StoreError::KeyDecryption { .. }), "{err}");
}

fn migrations_are_idempotent_and_a_newer_schema_is_refused(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    drop(db.open());
    let store = db.open();
    let versions =
        db.query_ints("SELECT CAST(version AS BIGINT) FROM schema_version ORDER BY version");
    assert_eq!(versions, vec![1, 2, 3, 4]);
    db.execute(
        "INSERT INTO schema_version (version, name) VALUES (99, 'future')",
        &[],
    );
    drop(store);
    let err = Store::open_with(db.url(), &FreshStore::secret()).expect_err("too new");
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 4
            }
        ),
        "{err}"
    );
}

fn the_key_file_is_created_0600_and_refused_when_readable_by_others(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    let path = db.key_file();
    let source = SecretSource::KeyFile(path.clone());
    let store = Store::open_with(db.url(), &source).expect("opens");
    store.import(&entries(FLEET), T).expect("import");
    drop(store);
    if backend == Backend::Sqlite {
        assert_eq!(path, db.scratch_dir().join("store.db.key"));
    }
    let mode = fs::metadata(&path).expect("key file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(fs::read_to_string(&path).expect("read").trim().len(), 64);

    let again = Store::open_with(db.url(), &source).expect("reopens");
    assert!(again.token(serial(EVENT)).expect("load").is_some());

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = Store::open_with(db.url(), &source).expect_err("too open");
    assert!(
        matches!(err, StoreError::KeyFilePermissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

fn a_bad_key_file_leaves_no_database_behind(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    let key = db.scratch_dir().join("k");
    fs::write(&key, "not hex").expect("write");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    let err = Store::open_with(db.url(), &SecretSource::KeyFile(key)).expect_err("bad");
    assert!(matches!(err, StoreError::BadKeyFile { .. }), "{err}");
    assert!(db.is_untouched());
}

fn a_stale_decision_is_a_conflict(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open();
    let token = store.token(serial(EVENT)).expect("load").expect("present");
    let policy = Policy::default();
    let now = UnixTime::from_secs(1_700_000_000);
    let first = validate(&policy, &token.config, token.state, &event_code(0), now);
    let second = validate(&policy, &token.config, token.state, &event_code(1), now);
    assert_eq!(
        store
            .apply_audited(serial(EVENT), &first, &check_record(now))
            .expect("first wins"),
        Applied::Written
    );
    let err = store
        .apply_audited(serial(EVENT), &second, &check_record(now))
        .expect_err("stale");
    assert!(matches!(err, StoreError::Conflict(s) if s == serial(EVENT)));
    let stored = store.token(serial(EVENT)).expect("load").expect("present");
    assert_eq!(stored.state, first.new_state);
}

fn import_is_all_or_nothing(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    let store = db.open();
    let fleet = entries(FLEET);
    store.import(&fleet[..1], T).expect("first import");
    let err = store.import(&fleet, T).expect_err("duplicate");
    assert!(matches!(err, StoreError::DuplicateSerial(s) if s == serial(EVENT)));
    assert!(err.to_string().contains(EVENT), "{err}");
    assert_eq!(store.tokens(None).expect("list").len(), 1);
}

fn users_assignment_and_the_verifier_leave_no_code_in_the_audit(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open();
    let alice = user(USERNAME, "Card1234");
    store.add_user(&alice, T).expect("add");
    assert!(matches!(
        store.add_user(&alice, T),
        Err(StoreError::DuplicateUser(_))
    ));
    let username = *alice.username();
    let loaded = store.user(&username).expect("load").expect("present");
    assert!(loaded.password.verify("hunter42"));
    let by_code = store
        .user_by_user_code(&"Card1234".parse().expect("code"))
        .expect("lookup")
        .expect("found");
    assert_eq!(by_code.username, username);
    assert!(
        store
            .user_by_user_code(&"Card9999".parse().expect("code"))
            .expect("lookup")
            .is_none()
    );

    store.assign(&username, serial(EVENT), T).expect("assign");
    // The statement itself refuses a second active token: a check made
    // before it cannot go stale (which rule is the service's to say).
    let err = store
        .assign(&username, serial(SPARE_C100), T)
        .expect_err("one active token");
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let mine = store.tokens(Some(&username)).expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, TokenStatus::Active);

    let verifier = Service::new(store, Policy::default());
    let now = UnixTime::from_secs(1_700_000_000);
    let accepted = verifier
        .check_user(&username, &event_code(0), now)
        .expect("check");
    assert_eq!(accepted, Outcome::Accepted { matched: 0 });
    let replayed = verifier
        .check_serial(serial(EVENT), &event_code(0), now)
        .expect("check");
    assert_eq!(replayed, Outcome::Rejected(Reason::Replayed));
    let synced = verifier
        .resync_user_code(
            &"Card1234".parse().expect("code"),
            &event_code(500),
            &event_code(501),
            now,
        )
        .expect("resync");
    assert_eq!(synced, Outcome::Accepted { matched: 501 });

    // Newest first: the three decisions, then the admin actions (the
    // second add_user and assign failed, so they left no row).
    let audit = verifier.audit(20).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["resync", "check", "check", "assign", "add_user"]
            .into_iter()
            .chain(["import"; 5])
            .collect::<Vec<_>>()
    );
    assert_eq!(audit[1].reason.as_deref(), Some("replayed"));
    assert_eq!(audit[2].outcome, "accepted");
    assert_eq!(audit[2].username.as_deref(), Some("rssmra85t10a562s"));
    assert_eq!(audit[2].at, now);
    assert_eq!(audit[3].serial.as_deref(), Some(EVENT));
    assert_eq!(audit[3].outcome, "done");
    assert_eq!(audit[4].username.as_deref(), Some("rssmra85t10a562s"));
    assert_eq!(audit[4].at, T);
    let shown = format!("{audit:?}");
    for code in [event_code(0), event_code(500), event_code(501)] {
        assert!(!shown.contains(&code), "{shown}");
    }
    assert!(!shown.contains("Card1234"), "{shown}");
}

fn unlock_clears_the_lock_and_keeps_the_counter(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let policy = Policy {
        max_failures: 2,
        ..Policy::default()
    };
    let verifier = Service::new(db.open(), policy);
    let now = UnixTime::from_secs(1_700_000_000);
    verifier
        .check_serial(serial(EVENT), &event_code(3), now)
        .expect("accept");
    for _ in 0..2 {
        verifier
            .check_serial(serial(EVENT), "000000", now)
            .expect("reject");
    }
    let locked = verifier
        .check_serial(serial(EVENT), &event_code(4), now)
        .expect("locked");
    assert_eq!(locked, Outcome::Rejected(Reason::Locked));
    let state = verifier.unlock(serial(EVENT), T).expect("unlock");
    assert_eq!(state, TokenState::event(4));
    let accepted = verifier
        .check_serial(serial(EVENT), &event_code(4), now)
        .expect("accept");
    assert_eq!(accepted, Outcome::Accepted { matched: 4 });
}

fn debug_output_hides_secrets(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open();
    let token = store.token(serial(EVENT)).expect("load").expect("present");
    let shown = format!(
        "{store:?} {token:?} {:?}",
        StoreSecret::from_bytes([0xab; 32])
    );
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("abab"), "{shown}");
    assert!(!shown.contains("e0573f"), "{shown}");
}

fn replace_device_swaps_both_rows_or_neither(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open();
    let alice = user(USERNAME, "Card1234");
    store.add_user(&alice, T).expect("add");
    let username = *alice.username();
    store.assign(&username, serial(EVENT), T).expect("assign");
    let (old, new) = (serial(EVENT), serial(SPARE_C100));
    let shelf = TokenState::event(0);
    let bound = TokenState::event(42);

    // A stale shelf state (the new token moved since its codes were
    // checked) changes nothing.
    let err = store
        .replace_device(&username, old, new, (TokenState::event(7), bound), T)
        .expect_err("stale shelf state");
    assert!(matches!(err, StoreError::Conflict(s) if s == new), "{err}");
    assert_eq!(store.active_serial_of(&username).expect("read"), Some(old));

    store
        .replace_device(&username, old, new, (shelf, bound), T)
        .expect("swap");
    let old_row = store.token(old).expect("read").expect("present");
    let new_row = store.token(new).expect("read").expect("present");
    assert_eq!(old_row.status, TokenStatus::Replaced);
    assert_eq!(new_row.status, TokenStatus::Active);
    assert_eq!(new_row.username, Some(username));
    assert_eq!(new_row.state, bound);
    assert_eq!(store.active_serial_of(&username).expect("read"), Some(new));

    // Done once: the old token is no longer the user's active one.
    let err = store
        .replace_device(&username, old, new, (shelf, bound), T)
        .expect_err("already replaced");
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // A retired token cannot be assigned again.
    assert!(matches!(
        store.assign(&username, old, T),
        Err(StoreError::Conflict(_))
    ));
    let audit = store.audit(1).expect("audit");
    assert_eq!(audit[0].action, "replace");
    assert_eq!(audit[0].serial.as_deref(), Some(new.as_str()));
}

/// On SQLite a batch is one transaction; on PostgreSQL each operation in
/// it commits on its own (`Store::batch`). Either way the batch sees its
/// own writes and never accepts a code twice.
fn a_batch_commits_its_decisions_together_and_sees_its_own_writes(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let together = backend == Backend::Sqlite;
    let verifier = Service::new(db.open(), Policy::default());
    // Opened first: opening writes (migration check), which would wait for
    // the batch's write lock.
    let other = db.open();
    let outcomes = verifier
        .batch(|_| {
            let mut outcomes: Vec<Outcome> = (0..5)
                .map(|n| verifier.check_serial(serial(EVENT), &event_code(n), T))
                .collect::<Result<_, _>>()
                .expect("decided");
            // The batch's own accept is already spent inside it.
            outcomes.push(
                verifier
                    .check_serial(serial(EVENT), &event_code(4), T)
                    .expect("decided"),
            );
            // Another connection sees nothing until the batch commits
            // (on PostgreSQL, every decision already committed).
            let outside = other.token(serial(EVENT)).expect("read").expect("there");
            assert_eq!(outside.state.next_counter, if together { 0 } else { 5 });
            outcomes
        })
        .expect("batch commits");
    assert_eq!(outcomes[4], Outcome::Accepted { matched: 4 });
    assert_eq!(outcomes[5], Outcome::Rejected(Reason::Replayed));
    let token = other.token(serial(EVENT)).expect("read").expect("there");
    assert_eq!(token.state.next_counter, 5);

    // A batch that panics leaves nothing behind (on PostgreSQL, what
    // committed before the panic stays).
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verifier.batch(|_| {
            verifier
                .check_serial(serial(EVENT), &event_code(5), T)
                .expect("decided");
            panic!("worker died mid-batch");
        })
    }));
    assert!(panicked.is_err());
    let token = other.token(serial(EVENT)).expect("read").expect("there");
    assert_eq!(token.state.next_counter, if together { 5 } else { 6 });
    assert_eq!(
        verifier
            .check_serial(serial(EVENT), &event_code(5), T)
            .expect("decided"),
        if together {
            Outcome::Accepted { matched: 5 }
        } else {
            Outcome::Rejected(Reason::Replayed)
        }
    );
}

fn locks_resyncs_and_replacement_in_one_session(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let store = db.open_with(&FreshStore::secret());

    // All or nothing: a batch with one known serial imports nothing.
    let max = format!(
        "serial,kind,key,digits,step,counter\n1000000000001,c100,3132,6,,{}\n{EVENT},c100,3132,6,,\n",
        u64::MAX
    );
    let batch = entries(&max);
    let err = store.import(&batch, T).expect_err("duplicate");
    assert!(
        matches!(err, StoreError::DuplicateSerial(s) if s == serial(EVENT)),
        "{err}"
    );
    assert_eq!(store.tokens(None).expect("list").len(), 5);
    // Every bit of a u64 counter survives the 64-bit column.
    store.import(&batch[..1], T).expect("import");
    let max_row = store
        .token(serial("1000000000001"))
        .expect("read")
        .expect("there");
    assert_eq!(max_row.state.next_counter, u64::MAX);

    let user = user(USERNAME, "Card1234");
    let username = *user.username();
    store.add_user(&user, T).expect("add");
    assert!(matches!(
        store.add_user(&user, T),
        Err(StoreError::DuplicateUser(_))
    ));
    let by_code = store
        .user_by_user_code(&"Card1234".parse().expect("code"))
        .expect("lookup")
        .expect("found");
    assert_eq!(by_code.username, username);
    assert!(by_code.password.verify("hunter42"));
    store.assign(&username, serial(EVENT), T).expect("assign");
    assert!(matches!(
        store.assign(&username, serial(SPARE_C100), T),
        Err(StoreError::Conflict(_))
    ));

    let verifier = Service::new(db.open_with(&FreshStore::secret()), Policy::default());
    let check = |otp: &str| verifier.check_user(&username, otp, T).expect("decided");
    assert_eq!(check(&event_code(3)), Outcome::Accepted { matched: 3 });
    assert_eq!(check(&event_code(3)), Outcome::Rejected(Reason::Replayed));
    for _ in 0..10 {
        check("000000");
    }
    assert_eq!(check(&event_code(4)), Outcome::Rejected(Reason::Locked));
    verifier.unlock(serial(EVENT), T).expect("unlock");
    assert_eq!(check(&event_code(4)), Outcome::Accepted { matched: 4 });
    let synced = verifier
        .resync_user_code(
            &"Card1234".parse().expect("code"),
            &event_code(600),
            &event_code(601),
            T,
        )
        .expect("resync");
    assert_eq!(synced, Outcome::Accepted { matched: 601 });
    assert_eq!(check(&event_code(601)), Outcome::Rejected(Reason::Replayed));
    assert_eq!(check(&event_code(602)), Outcome::Accepted { matched: 602 });

    // Replacement: both rows or neither.
    let (old, new) = (serial(EVENT), serial(SPARE_C100));
    let stale = (TokenState::event(9), TokenState::event(2));
    assert!(matches!(
        store.replace_device(&username, old, new, stale, T),
        Err(StoreError::Conflict(_))
    ));
    store
        .replace_device(
            &username,
            old,
            new,
            (TokenState::event(0), TokenState::event(2)),
            T,
        )
        .expect("swap");
    assert_eq!(
        store.token(old).expect("read").expect("there").status,
        TokenStatus::Replaced
    );
    assert_eq!(store.active_serial_of(&username).expect("read"), Some(new));

    let audit = store.audit(100).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions.first(), Some(&"replace"));
    assert_eq!(actions.iter().filter(|a| **a == "import").count(), 6);
    assert_eq!(actions.iter().filter(|a| **a == "check").count(), 16);
    let shown = format!("{audit:?}");
    for otp in [event_code(3), event_code(600), event_code(601)] {
        assert!(!shown.contains(&otp), "{shown}");
    }
    drop(store);

    let wrong = SecretSource::Given(StoreSecret::from_bytes([1; 32]));
    let err = Store::open_with(db.url(), &wrong).expect_err("wrong secret");
    assert!(matches!(err, StoreError::WrongSecret), "{err}");
}

const THREADS: usize = 8;

/// Eight connections submit one valid code at once: the compare-and-set
/// lets exactly one accept it; the other seven see the winner's counter.
fn eight_connections_one_code_exactly_one_accept(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let code = event_code(0);
    let now = UnixTime::from_secs(1_700_000_000);
    let barrier = Arc::new(Barrier::new(THREADS));
    let outcomes: Vec<Outcome> = (0..THREADS)
        .map(|_| {
            let (url, code, barrier) = (db.url().to_owned(), code.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let store = Store::open_with(&url, &FreshStore::secret()).expect("connection");
                let verifier = Service::new(store, Policy::default());
                barrier.wait();
                verifier
                    .check_serial(serial(EVENT), &code, now)
                    .expect("decided")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();

    let accepted = outcomes
        .iter()
        .filter(|o| **o == Outcome::Accepted { matched: 0 })
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| **o == Outcome::Rejected(Reason::Replayed))
        .count();
    assert_eq!((accepted, replayed), (1, THREADS - 1), "{outcomes:?}");

    let store = db.open();
    let token = store.token(serial(EVENT)).expect("load").expect("present");
    assert_eq!(token.state.next_counter, 1);
    assert_eq!(
        token.state.failures,
        u32::try_from(THREADS - 1).expect("small")
    );
    let audit = store.audit(100).expect("audit");
    let checks = audit.iter().filter(|row| row.action == "check").count();
    assert_eq!(checks, THREADS);
    assert!(!format!("{audit:?}").contains(&code));
}

/// Fifty rounds; in each, all eight threads submit the same code at once
/// (the barrier lines them up), so every code is raced by eight.
fn eight_connections_fifty_codes_each_accepted_once(backend: Backend) {
    const CODES: u64 = 50;
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let barrier = Arc::new(Barrier::new(THREADS));
    let accepted: Vec<Vec<u64>> = (0..THREADS)
        .map(|_| {
            let (url, barrier) = (db.url().to_owned(), Arc::clone(&barrier));
            thread::spawn(move || {
                let store = Store::open_with(&url, &FreshStore::secret()).expect("connection");
                let verifier = Service::new(store, Policy::default());
                (0..CODES)
                    .filter(|&counter| {
                        barrier.wait();
                        match verifier
                            .check_serial(serial(EVENT), &event_code(counter), T)
                            .expect("decided")
                        {
                            Outcome::Accepted { matched } => {
                                assert_eq!(matched, counter);
                                true
                            }
                            Outcome::Rejected(reason) => {
                                assert_eq!(reason, Reason::Replayed);
                                false
                            }
                        }
                    })
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();

    let mut all: Vec<u64> = accepted.concat();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..CODES).collect::<Vec<_>>(),
        "each code exactly once"
    );
    let token = db
        .open()
        .token(serial(EVENT))
        .expect("read")
        .expect("there");
    assert_eq!(token.state.next_counter, CODES);
}

/// Eight connections create one store (schema, key file) at once: all end
/// up with the same one.
/// Every token of the fleet assigned to one user at once, each on its own
/// connection: one assignment goes through, the user holds one active
/// token (the statement re-checks, and schema 4's unique index holds it
/// where two writers cannot see each other's rows yet).
fn racing_assignments_leave_a_user_one_active_token(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let alice = user(USERNAME, "Card1234");
    db.open().add_user(&alice, T).expect("add");
    let username = *alice.username();
    let serials: Vec<Serial> = entries(FLEET).iter().map(|e| *e.serial()).collect();
    let barrier = Arc::new(Barrier::new(serials.len()));
    let results: Vec<Result<(), StoreError>> = serials
        .iter()
        .map(|&s| {
            let (url, barrier) = (db.url().to_owned(), Arc::clone(&barrier));
            thread::spawn(move || {
                let store = Store::open_with(&url, &FreshStore::secret()).expect("connection");
                let service = Service::new(store, Policy::default());
                barrier.wait();
                service.assign(&username, s, T)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let assigned = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(assigned, 1, "{results:?}");
    let active: Vec<_> = db
        .open()
        .tokens(Some(&username))
        .expect("list")
        .into_iter()
        .filter(|t| t.status == TokenStatus::Active)
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
}

fn eight_connections_can_create_one_store_at_once(backend: Backend) {
    let Some(db) = FreshStore::new(backend) else {
        return;
    };
    // The key file is created by whichever thread gets there first; the
    // others must read that one, whole, or the secret check would fail.
    let source = SecretSource::KeyFile(db.key_file());
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (url, source, barrier) =
                (db.url().to_owned(), source.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                Store::open_with(&url, &source).map(|_| ())
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread").expect("open");
    }
    let store = db.open_with(&source);
    let fleet = entries(FLEET);
    assert_eq!(
        store.import(&fleet, UnixTime::EPOCH).expect("import"),
        fleet.len()
    );
}

/// Separate `tokenrig check` processes race on each code: one accepts.
fn separate_processes_never_accept_one_code_twice(backend: Backend) {
    const PROCESSES: usize = 4;
    const CODES: u64 = 12;
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let time = T.as_secs().to_string();
    for counter in 0..CODES {
        let otp = event_code(counter);
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_tokenrig"))
                    .args(["check", "--db", db.url(), "--serial", EVENT, "--otp", &otp])
                    .args(["--time", &time])
                    .env("TOKENRIG_STORE_KEY", STORE_KEY)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("tokenrig starts")
            })
            .collect();
        let verdicts: Vec<(Option<i32>, String)> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("tokenrig ends"))
            .map(|o| {
                (
                    o.status.code(),
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    ),
                )
            })
            .collect();
        let accepts = verdicts
            .iter()
            .filter(|(status, _)| *status == Some(0))
            .count();
        let replays = verdicts
            .iter()
            .filter(|(status, out)| *status == Some(1) && out.contains("replayed"))
            .count();
        assert_eq!(
            (accepts, replays),
            (1, PROCESSES - 1),
            "code {counter}: {verdicts:?}"
        );
    }
}

/// A device replacement whose steps alternate between two connections,
/// and eight connections racing on one step: one takes it.
fn a_replacement_is_one_attempt_across_connections(backend: Backend) {
    let Some(db) = fleet_store(backend) else {
        return;
    };
    let connect = || Service::new(db.open(), Policy::default());
    let (a, b) = (connect(), connect());
    let user = user(USERNAME, "Card1234");
    let username = *user.username();
    a.add_user(&user, T).expect("add");
    a.assign(&username, serial(EVENT), T).expect("assign");
    let at = |secs: u64| UnixTime::from_secs(T.as_secs() + secs);

    let wrong = a.start_replacement(&username, "hunter43", serial(EVENT), at(0));
    assert!(matches!(
        wrong,
        Err(ReplacementError::Rejected(Reason::WrongPassword))
    ));
    let (id, _sms) = a
        .start_replacement(&username, "hunter42", serial(EVENT), at(0))
        .expect("started");
    // The other connection reads the SMS and takes the next step.
    let outbox = b.sms_outbox(Some(user.phone())).expect("outbox");
    assert_eq!(outbox.len(), 1);
    let sms = outbox[0].code.to_string();
    assert!(outbox[0].text.contains(&sms));

    // Eight connections race on the SMS step: exactly one takes it.
    let barrier = Arc::new(Barrier::new(THREADS));
    let passed = (0..THREADS)
        .map(|_| {
            let (verifier, barrier) = (connect(), Arc::clone(&barrier));
            let (id, sms): (AttemptId, String) = (id.clone(), sms.clone());
            thread::spawn(move || {
                barrier.wait();
                verifier.replacement_sms_code(&id, &sms, at(10)).is_ok()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .filter(|ok| *ok)
        .count();
    assert_eq!(passed, 1);

    assert_eq!(a.replacement_device(&id, TIME, at(20)).expect("device"), 1);
    let now = at(30);
    let totp = |t: UnixTime| hotp(TIME_KEY, t.as_secs() / 60);
    let new = b
        .replacement_otps(&id, &[&totp(now)], now)
        .expect("completed");
    assert_eq!(new, serial(TIME));
    assert_eq!(
        a.token(serial(EVENT)).expect("read").expect("there").status,
        TokenStatus::Replaced
    );
    assert_eq!(
        a.check_serial(serial(EVENT), &event_code(0), now)
            .expect("check"),
        Outcome::Rejected(Reason::SerialInactive(serial(EVENT)))
    );
    assert_eq!(
        b.check_user(&username, &totp(now), now).expect("check"),
        Outcome::Rejected(Reason::Replayed)
    );
    let later = at(90);
    assert!(matches!(
        a.check_user(&username, &totp(later), later).expect("check"),
        Outcome::Accepted { .. }
    ));
    let audit = a.audit(100).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
    for action in ["replace_started", "sms_sent", "replace"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(!format!("{audit:?}").contains(&sms));
}
