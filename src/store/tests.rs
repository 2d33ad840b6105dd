//! The store's unit tests: what needs no database, and the helpers the
//! replacement flow's tests share. The store's behaviour on both backends
//! is `tests/store_suite.rs`.

use tempfile::TempDir;

use super::*;
use crate::inventory::{self, Format};
use crate::otp::{OtpKey, SecretKey};
use crate::user::HashParams;
use crate::verifier::{Outcome, Policy, Reason};

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

mod replacement;
