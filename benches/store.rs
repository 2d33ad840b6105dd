//! Durable validations per second: `Service::check_serial` on an SQLite
//! store in WAL mode with `synchronous=FULL`, so every accept is a
//! compare-and-set and an audit row committed with an fsync. Each iteration
//! submits the token's next valid code, so the work is a real accept.
//!
//! The temporary database lives under the target directory rather than
//! /tmp, which is often a tmpfs where fsync costs nothing.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::inventory::{self, Format};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig::service::Service;
use tokenrig::store::{SecretSource, Store, StoreSecret};
use tokenrig::verifier::{Outcome, Policy};

const SERIAL: &str = "1000133508267";
const KEY_HEX: &str = "3132333435363738393031323334353637383930";

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let secret = StoreSecret::from_hex(&"ab".repeat(32)).expect("64 hex digits");
    let store = Store::open_with(&url, &SecretSource::Given(secret)).expect("store opens");
    let csv = format!("serial,kind,key,digits,step\n{SERIAL},c100,{KEY_HEX},6,\n");
    let entries = inventory::parse(csv.as_bytes(), Format::Csv, None).expect("inventory parses");
    store.import(&entries, UnixTime::EPOCH).expect("import");
    let verifier = Service::new(store, Policy::default());
    let serial = Serial::parse(SERIAL).expect("serial");
    let key = OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(KEY_HEX).expect("hex key"),
    );

    let mut counter = 0u64;
    let mut group = c.benchmark_group("store");
    // Every iteration is an fsync: fewer samples keep the run short.
    group.sample_size(20);
    group.bench_function("validate_commit_sqlite_fsync", |b| {
        b.iter(|| {
            let code = key.hotp(counter, Digits::SIX).to_string();
            counter += 1;
            let outcome = verifier
                .check_serial(serial, black_box(&code), UnixTime::EPOCH)
                .expect("store answers");
            assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
        })
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
