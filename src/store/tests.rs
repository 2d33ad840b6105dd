use std::fs;
use std::os::unix::fs::PermissionsExt;

use tempfile::TempDir;

use super::*;
use crate::inventory::{self, Format};
use crate::otp::{OtpKey, SecretKey};
use crate::user::HashParams;
use crate::verifier::{Outcome, Policy, Reason, validate};

const FLEET: &str = include_str!("../../fixtures/inventory/fleet.csv");
const EVENT: &str = "1909107966482";
const EVENT_KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const TIME: &str = "2630489071652";
const USERNAME: &str = "RSSMRA85T10A562S";
/// When admin actions in these tests happen.
const T: UnixTime = UnixTime::from_secs(1_700_000_000);

fn entries(csv: &str) -> Vec<InventoryEntry> {
    inventory::parse(csv.as_bytes(), Format::Csv, None).expect("valid inventory")
}

fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("valid serial")
}

fn secret(byte: u8) -> SecretSource {
    SecretSource::Given(StoreSecret::from_bytes([byte; 32]))
}

struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.db().display())
    }

    fn open(&self) -> Store {
        Store::open_with(&self.url(), &secret(7)).expect("store opens")
    }
}

/// A second connection to the test's database, for looking under the API.
fn raw(scratch: &Scratch) -> rusqlite::Connection {
    rusqlite::Connection::open(scratch.db()).expect("raw connection")
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

fn event_code(counter: u64) -> String {
    let key = SecretKey::from_hex(EVENT_KEY).expect("hex key");
    OtpKey::new(Algorithm::Sha1, &key)
        .hotp(counter, Digits::SIX)
        .to_string()
}

#[test]
fn import_round_trips_keys_and_a_u64_max_counter() {
    let scratch = Scratch::new();
    let store = scratch.open();
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

#[test]
fn keys_are_not_in_the_database_file() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    drop(store);
    let key = SecretKey::from_hex(EVENT_KEY).expect("hex key");
    let mut raw = fs::read(scratch.db()).expect("db file");
    raw.extend(fs::read(scratch.dir.path().join("store.db-wal")).unwrap_or_default());
    assert!(raw.windows(key.len()).all(|w| w != key.as_bytes()));
    assert!(
        raw.windows(EVENT_KEY.len())
            .all(|w| w != EVENT_KEY.as_bytes())
    );
    assert!(raw.windows(EVENT.len()).any(|w| w == EVENT.as_bytes()));
}

#[test]
fn a_wrong_store_secret_is_refused_on_open() {
    let scratch = Scratch::new();
    scratch.open().import(&entries(FLEET), T).expect("import");
    let err = Store::open_with(&scratch.url(), &secret(8)).expect_err("wrong secret");
    assert!(matches!(err, StoreError::WrongSecret), "{err}");
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn a_key_moved_to_another_row_does_not_decrypt() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    raw(&scratch)
        .execute(
            "UPDATE tokens SET (key_ciphertext, key_nonce) = \
             (SELECT key_ciphertext, key_nonce FROM tokens WHERE serial = ?1) \
             WHERE serial = ?2",
            ["1909107966483", EVENT],
        )
        .expect("tamper");
    let err = store.token(serial(EVENT)).expect_err("AAD is the serial");
    assert!(matches!(err, StoreError::KeyDecryption { .. }), "{err}");
}

#[test]
fn migrations_are_idempotent_and_a_newer_schema_is_refused() {
    let scratch = Scratch::new();
    drop(scratch.open());
    let store = scratch.open();
    let versions: Vec<u32> = raw(&scratch)
        .prepare("SELECT version FROM schema_version ORDER BY version")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("versions");
    assert_eq!(versions, vec![1, 2, 3]);
    raw(&scratch)
        .execute(
            "INSERT INTO schema_version (version, name) VALUES (99, 'future')",
            [],
        )
        .expect("insert");
    drop(store);
    let err = Store::open_with(&scratch.url(), &secret(7)).expect_err("too new");
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 3
            }
        ),
        "{err}"
    );
}

#[test]
fn the_key_file_is_created_0600_and_refused_when_readable_by_others() {
    let scratch = Scratch::new();
    let source = SecretSource::KeyFile(default_key_file(&scratch.db()));
    let store = Store::open_with(&scratch.url(), &source).expect("opens");
    store.import(&entries(FLEET), T).expect("import");
    drop(store);
    let path = scratch.dir.path().join("store.db.key");
    let mode = fs::metadata(&path).expect("key file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(fs::read_to_string(&path).expect("read").trim().len(), 64);

    let again = Store::open_with(&scratch.url(), &source).expect("reopens");
    assert!(again.token(serial(EVENT)).expect("load").is_some());

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = Store::open_with(&scratch.url(), &source).expect_err("too open");
    assert!(
        matches!(err, StoreError::KeyFilePermissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn a_bad_key_file_leaves_no_database_behind() {
    let scratch = Scratch::new();
    let key = scratch.dir.path().join("k");
    fs::write(&key, "not hex").expect("write");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    let err = Store::open_with(&scratch.url(), &SecretSource::KeyFile(key)).expect_err("bad");
    assert!(matches!(err, StoreError::BadKeyFile { .. }), "{err}");
    assert!(!scratch.db().exists());
}

#[test]
fn a_stale_decision_is_a_conflict() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
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

#[test]
fn import_is_all_or_nothing() {
    let scratch = Scratch::new();
    let store = scratch.open();
    let fleet = entries(FLEET);
    store.import(&fleet[..1], T).expect("first import");
    let err = store.import(&fleet, T).expect_err("duplicate");
    assert!(matches!(err, StoreError::DuplicateSerial(s) if s == serial(EVENT)));
    assert!(err.to_string().contains(EVENT), "{err}");
    assert_eq!(store.tokens(None).expect("list").len(), 1);
}

#[test]
fn users_assignment_and_the_verifier_leave_no_code_in_the_audit() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
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
    let err = store
        .assign(&username, serial("1909107966483"), T)
        .expect_err("one active token");
    assert!(matches!(err, StoreError::UserHasToken { .. }), "{err}");
    let mine = store.tokens(Some(&username)).expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, TokenStatus::Active);

    let verifier = crate::service::Service::new(store, Policy::default());
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

#[test]
fn unlock_clears_the_lock_and_keeps_the_counter() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    let policy = Policy {
        max_failures: 2,
        ..Policy::default()
    };
    let verifier = crate::service::Service::new(store, policy);
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

#[test]
fn a_postgres_url_never_shows_its_password_in_errors() {
    // Port 1 on loopback: nothing listens, so the connection is refused.
    let err = Store::open_with("postgres://admin:s3cret@127.0.0.1:1/tokenrig", &secret(7))
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Postgres(_)), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(err.to_string().lines().count(), 1, "{err}");
    let err = Store::open_with("postgres://admin:s3cret@[bad", &secret(7)).expect_err("bad url");
    assert!(matches!(err, StoreError::BadUrl { .. }), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(
        StoreUrl::parse("/var/lib/x.db").expect("path"),
        StoreUrl::Sqlite(PathBuf::from("/var/lib/x.db"))
    );
    assert!(matches!(
        StoreUrl::parse("mysql://x"),
        Err(StoreError::BadUrl { .. })
    ));
}

#[test]
fn debug_output_hides_secrets() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    let token = store.token(serial(EVENT)).expect("load").expect("present");
    let shown = format!(
        "{store:?} {token:?} {:?}",
        StoreSecret::from_bytes([0xab; 32])
    );
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("abab"), "{shown}");
    assert!(!shown.contains("e0573f"), "{shown}");
}

#[test]
fn u64_columns_keep_every_bit() {
    for v in [0, 1, i64::MAX as u64, 1 << 63, u64::MAX] {
        assert_eq!(u64_from_sql(u64_to_sql(v)), v);
    }
}

#[test]
fn a_store_secret_is_exactly_64_hex_characters() {
    let hex = "ab".repeat(32);
    assert!(StoreSecret::from_hex(&format!(" {hex}\n")).is_some());
    assert!(StoreSecret::from_hex(&hex[..63]).is_none());
    assert!(StoreSecret::from_hex(&"zz".repeat(32)).is_none());
    assert!(StoreSecret::from_hex(&"ab".repeat(33)).is_none());
}

#[test]
fn replace_device_swaps_both_rows_or_neither() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    let alice = user(USERNAME, "Card1234");
    store.add_user(&alice, T).expect("add");
    let username = *alice.username();
    store.assign(&username, serial(EVENT), T).expect("assign");
    let (old, new) = (serial(EVENT), serial("1909107966483"));
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
        Err(StoreError::NotAssignable { .. })
    ));
    let audit = store.audit(1).expect("audit");
    assert_eq!(audit[0].action, "replace");
    assert_eq!(audit[0].serial.as_deref(), Some(new.as_str()));
}

#[test]
fn a_batch_commits_its_decisions_together_and_sees_its_own_writes() {
    let scratch = Scratch::new();
    let store = scratch.open();
    store.import(&entries(FLEET), T).expect("import");
    let verifier = crate::service::Service::new(store, Policy::default());
    // Opened first: opening writes (migration check), which would wait for
    // the batch's write lock.
    let other = scratch.open();
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
            // Another connection sees nothing until the batch commits.
            let outside = other.token(serial(EVENT)).expect("read").expect("there");
            assert_eq!(outside.state.next_counter, 0);
            outcomes
        })
        .expect("batch commits");
    assert_eq!(outcomes[4], Outcome::Accepted { matched: 4 });
    assert_eq!(outcomes[5], Outcome::Rejected(Reason::Replayed));
    let token = other.token(serial(EVENT)).expect("read").expect("there");
    assert_eq!(token.state.next_counter, 5);

    // A batch that panics leaves nothing behind.
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
    assert_eq!(token.state.next_counter, 5);
    assert_eq!(
        verifier
            .check_serial(serial(EVENT), &event_code(5), T)
            .expect("decided"),
        Outcome::Accepted { matched: 5 }
    );
}
