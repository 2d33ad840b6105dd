//! The PostgreSQL backend against a real server: each test starts its own
//! throw-away cluster on loopback (`support::postgres`).
//!
//! - the store's behaviour: the same operations give the same answers as
//!   on SQLite (the unit tests in `src/store/tests.rs` cover SQLite);
//! - eight connections in one process race on one code: one accept;
//! - separate `tokenrig check` processes race on each code: one accept;
//! - a device replacement whose steps alternate between two connections,
//!   and eight connections racing on one step: one takes it.

mod support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;

use support::postgres::PgCluster;
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::inventory::{self, Format};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig::service::{ReplacementError, Service};
use tokenrig::store::{AttemptId, SecretSource, Store, StoreError, StoreSecret, TokenStatus};
use tokenrig::user::{HashParams, PasswordHash, User};
use tokenrig::verifier::{Outcome, Policy, Reason, TokenState};

const FLEET: &[u8] = include_bytes!("../fixtures/inventory/fleet.csv");
const C100: &str = "1909107966482";
const C100_KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const SPARE_C100: &str = "1909107966483";
const STORE_KEY: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";
const T: UnixTime = UnixTime::from_secs(1_700_000_000);

fn secret() -> SecretSource {
    SecretSource::Given(StoreSecret::from_hex(STORE_KEY).expect("64 hex"))
}

fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("serial")
}

fn code(counter: u64) -> String {
    OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(C100_KEY).expect("hex key"),
    )
    .hotp(counter, Digits::SIX)
    .to_string()
}

fn alice() -> User {
    let light = HashParams {
        memory_kib: 8,
        iterations: 1,
        lanes: 1,
    };
    User::new(
        "RSSMRA85T10A562S".parse().expect("tax code"),
        "+393331234567".parse().expect("phone"),
        "Card1234".parse().expect("user code"),
        PasswordHash::new_with_params("hunter42", light).expect("hash"),
    )
}

/// A cluster with one migrated store holding the fleet.
fn fleet_store(cluster: &PgCluster, database: &str) -> String {
    let url = cluster.create_database(database);
    let store = Store::open_with(&url, &secret()).expect("store opens");
    let entries = inventory::parse(FLEET, Format::Csv, None).expect("fleet");
    assert_eq!(store.import(&entries, T).expect("import"), entries.len());
    url
}

#[test]
fn the_store_behaves_on_postgres_as_on_sqlite() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = fleet_store(&cluster, "behaviour");
    let store = Store::open_with(&url, &secret()).expect("reopen: migrations are idempotent");

    // All or nothing: a batch with one known serial imports nothing.
    let max = format!(
        "serial,kind,key,digits,step,counter\n1000000000001,c100,3132,6,,{}\n{C100},c100,3132,6,,\n",
        u64::MAX
    );
    let batch = inventory::parse(max.as_bytes(), Format::Csv, None).expect("csv");
    let err = store.import(&batch, T).expect_err("duplicate");
    assert!(
        matches!(err, StoreError::DuplicateSerial(s) if s == serial(C100)),
        "{err}"
    );
    assert_eq!(store.tokens(None).expect("list").len(), 5);
    // Every bit of a u64 counter survives the BIGINT column.
    store.import(&batch[..1], T).expect("import");
    let max_row = store
        .token(serial("1000000000001"))
        .expect("read")
        .expect("there");
    assert_eq!(max_row.state.next_counter, u64::MAX);

    let user = alice();
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
    store.assign(&username, serial(C100), T).expect("assign");
    assert!(matches!(
        store.assign(&username, serial(SPARE_C100), T),
        Err(StoreError::UserHasToken { .. })
    ));

    let verifier = Service::new(
        Store::open_with(&url, &secret()).expect("second connection"),
        Policy::default(),
    );
    let check = |otp: &str| verifier.check_user(&username, otp, T).expect("decided");
    assert_eq!(check(&code(3)), Outcome::Accepted { matched: 3 });
    assert_eq!(check(&code(3)), Outcome::Rejected(Reason::Replayed));
    for _ in 0..10 {
        check("000000");
    }
    assert_eq!(check(&code(4)), Outcome::Rejected(Reason::Locked));
    verifier.unlock(serial(C100), T).expect("unlock");
    assert_eq!(check(&code(4)), Outcome::Accepted { matched: 4 });
    let synced = verifier
        .resync_user_code(
            &"Card1234".parse().expect("code"),
            &code(600),
            &code(601),
            T,
        )
        .expect("resync");
    assert_eq!(synced, Outcome::Accepted { matched: 601 });
    assert_eq!(check(&code(601)), Outcome::Rejected(Reason::Replayed));
    assert_eq!(check(&code(602)), Outcome::Accepted { matched: 602 });

    // Replacement: both rows or neither.
    let (old, new) = (serial(C100), serial(SPARE_C100));
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
    for otp in [code(3), code(600), code(601)] {
        assert!(!shown.contains(&otp), "{shown}");
    }
    drop(store);

    let wrong = SecretSource::Given(StoreSecret::from_bytes([1; 32]));
    let err = Store::open_with(&url, &wrong).expect_err("wrong secret");
    assert!(matches!(err, StoreError::WrongSecret), "{err}");
}

#[test]
fn eight_connections_one_code_exactly_one_accept() {
    const THREADS: usize = 8;
    const CODES: u64 = 50;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = fleet_store(&cluster, "race");
    let barrier = Arc::new(Barrier::new(THREADS));
    // Fifty rounds; in each, all eight threads submit the same code at
    // once (the barrier lines them up), so every code is raced by eight.
    let accepted: Vec<Vec<u64>> = (0..THREADS)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let store = Store::open_with(&url, &secret()).expect("own connection");
                let verifier = Service::new(store, Policy::default());
                (0..CODES)
                    .filter(|&counter| {
                        barrier.wait();
                        match verifier
                            .check_serial(serial(C100), &code(counter), T)
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
    let store = Store::open_with(&url, &secret()).expect("reopen");
    let token = store.token(serial(C100)).expect("read").expect("there");
    assert_eq!(token.state.next_counter, CODES);
}

#[test]
fn separate_processes_never_accept_one_code_twice() {
    const PROCESSES: usize = 4;
    const CODES: u64 = 12;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = fleet_store(&cluster, "processes");
    let time = T.as_secs().to_string();
    for counter in 0..CODES {
        let otp = code(counter);
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_tokenrig"))
                    .args(["check", "--db", &url, "--serial", C100, "--otp", &otp])
                    .args(["--time", &time])
                    .env("TOKENRIG_STORE_KEY", STORE_KEY)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("tokenrig starts")
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("tokenrig ends"))
            .collect();
        let verdicts: Vec<(Option<i32>, String)> = outputs
            .iter()
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

const C200: &str = "2630489071652";
const C200_KEY: &str = "fb629f61551d47bd9593f765f309d18821e1b546";

#[test]
fn a_replacement_is_one_attempt_across_connections() {
    const THREADS: usize = 8;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = fleet_store(&cluster, "replacement");
    let connect = || {
        Service::new(
            Store::open_with(&url, &secret()).expect("open"),
            Policy::default(),
        )
    };
    let (a, b) = (connect(), connect());
    let user = alice();
    let username = *user.username();
    a.add_user(&user, T).expect("add");
    a.assign(&username, serial(C100), T).expect("assign");
    let at = |secs: u64| UnixTime::from_secs(T.as_secs() + secs);

    let wrong = a.start_replacement(&username, "hunter43", serial(C100), at(0));
    assert!(matches!(
        wrong,
        Err(ReplacementError::Rejected(Reason::WrongPassword))
    ));
    let (id, _sms) = a
        .start_replacement(&username, "hunter42", serial(C100), at(0))
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

    assert_eq!(a.replacement_device(&id, C200, at(20)).expect("device"), 1);
    let now = at(30);
    let key = SecretKey::from_hex(C200_KEY).expect("hex key");
    let totp = |t: UnixTime| {
        OtpKey::new(Algorithm::Sha1, &key)
            .hotp(t.as_secs() / 60, Digits::SIX)
            .to_string()
    };
    let new = b
        .replacement_otps(&id, &[&totp(now)], now)
        .expect("completed");
    assert_eq!(new, serial(C200));
    assert_eq!(
        a.token(serial(C100)).expect("read").expect("there").status,
        TokenStatus::Replaced
    );
    assert_eq!(
        a.check_serial(serial(C100), &code(0), now).expect("check"),
        Outcome::Rejected(Reason::SerialInactive(serial(C100)))
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
