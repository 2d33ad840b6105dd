//! What needs no database: URLs, the u64 bijection, store secrets. The
//! store's behaviour is `tests/store_suite.rs`, on both backends.

use super::*;

fn secret(byte: u8) -> SecretSource {
    SecretSource::Given(StoreSecret::from_bytes([byte; 32]))
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
