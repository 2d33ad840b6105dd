//! Eight connections to one SQLite file race to submit the same valid code:
//! the compare-and-set lets exactly one accept it, the other seven see the
//! winner's counter and get `Replayed`. And eight connections creating one
//! store (file, schema, key file) at once all end up with the same one.

use std::sync::{Arc, Barrier};
use std::thread;

use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::inventory::{self, Format};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig::service::Service;
use tokenrig::store::{SecretSource, Store, StoreSecret, default_key_file};
use tokenrig::verifier::{Outcome, Policy, Reason};

const FLEET: &[u8] = include_bytes!("../fixtures/inventory/fleet.csv");
const SERIAL: &str = "1909107966482";
const KEY: &str = "e0573ff0cea6f5aae891e353ef23448b21b20902";
const THREADS: usize = 8;

#[test]
fn eight_connections_one_code_exactly_one_accept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("race.db").display());
    let source = SecretSource::Given(StoreSecret::from_bytes([42; 32]));
    let store = Store::open_with(&url, &source).expect("store opens");
    let entries = inventory::parse(FLEET, Format::Csv, None).expect("fleet");
    store.import(&entries, UnixTime::EPOCH).expect("import");
    drop(store);

    let key = SecretKey::from_hex(KEY).expect("hex key");
    let code = OtpKey::new(Algorithm::Sha1, &key)
        .hotp(0, Digits::SIX)
        .to_string();
    let serial = Serial::parse(SERIAL).expect("serial");
    let now = UnixTime::from_secs(1_700_000_000);
    let barrier = Arc::new(Barrier::new(THREADS));

    let outcomes: Vec<Outcome> = (0..THREADS)
        .map(|_| {
            let (url, source, code, barrier) = (
                url.clone(),
                source.clone(),
                code.clone(),
                Arc::clone(&barrier),
            );
            thread::spawn(move || {
                let store = Store::open_with(&url, &source).expect("own connection");
                let verifier = Service::new(store, Policy::default());
                barrier.wait();
                verifier.check_serial(serial, &code, now).expect("decided")
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

    let store = Store::open_with(&url, &source).expect("reopen");
    let token = store.token(serial).expect("load").expect("present");
    assert_eq!(token.state.next_counter, 1);
    assert_eq!(
        token.state.failures,
        u32::try_from(THREADS - 1).expect("small")
    );
    let audit = store.audit(100).expect("audit");
    let checks = audit.iter().filter(|row| row.action == "check").count();
    assert_eq!(checks, THREADS);
    assert!(format!("{audit:?}").find(&code).is_none());
}

#[test]
fn eight_connections_can_create_one_store_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fresh.db");
    let url = format!("sqlite:{}", db.display());
    // The key file is created by whichever thread gets there first; the
    // others must read that one, whole, or the secret check would fail.
    let source = SecretSource::KeyFile(default_key_file(&db));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (url, source, barrier) = (url.clone(), source.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                Store::open_with(&url, &source).map(|_| ())
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread").expect("open");
    }
    let store = Store::open_with(&url, &source).expect("reopen");
    let entries = inventory::parse(FLEET, Format::Csv, None).expect("fleet");
    assert_eq!(
        store.import(&entries, UnixTime::EPOCH).expect("import"),
        entries.len()
    );
}
