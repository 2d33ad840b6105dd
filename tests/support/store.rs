//! A fresh, empty store on either backend, for tests that must hold on
//! both: a SQLite file in a temporary directory, or a new database in this
//! process's shared throw-away PostgreSQL cluster ([`PgCluster::shared`]).
//! Raw access under the store's API (tampering, schema checks, the bytes
//! at rest) goes through [`FreshStore`] too, so a test is written once.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;
use tokenrig::store::{SecretSource, Store, StoreSecret, default_key_file};

use super::postgres::PgCluster;

/// The store secret [`FreshStore::open`] uses, as `TOKENRIG_STORE_KEY`
/// would give it to a `tokenrig` process.
pub const STORE_KEY: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One empty store, removed (file or database's cluster) when dropped.
pub struct FreshStore {
    backend: Backend,
    url: String,
    /// The SQLite file's directory; for PostgreSQL, where key files go.
    dir: TempDir,
    cluster: Option<Arc<PgCluster>>,
}

impl FreshStore {
    /// `None` (with the reason printed, or a panic under CI) when the
    /// backend is not available here: PostgreSQL not installed.
    pub fn new(backend: Backend) -> Option<FreshStore> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, cluster) = match backend {
            Backend::Sqlite => (
                format!("sqlite:{}", dir.path().join("store.db").display()),
                None,
            ),
            Backend::Postgres => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let cluster = PgCluster::shared()?;
                let name = format!("store_{}", NEXT.fetch_add(1, Ordering::Relaxed));
                (cluster.create_database(&name), Some(cluster))
            }
        };
        Some(FreshStore {
            backend,
            url,
            dir,
            cluster,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The `--db` URL of this store.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn secret() -> SecretSource {
        SecretSource::Given(StoreSecret::from_hex(STORE_KEY).expect("64 hex characters"))
    }

    /// A new connection under [`STORE_KEY`].
    pub fn open(&self) -> Store {
        self.open_with(&FreshStore::secret())
    }

    pub fn open_with(&self, source: &SecretSource) -> Store {
        Store::open_with(&self.url, source).expect("store opens")
    }

    /// Where this store's key file goes: the SQLite default (next to the
    /// file), or a path in a temporary directory for PostgreSQL.
    pub fn key_file(&self) -> PathBuf {
        match self.backend {
            Backend::Sqlite => default_key_file(&self.sqlite_path()),
            Backend::Postgres => self.dir.path().join("store.key"),
        }
    }

    /// A directory that lives as long as the store, for test files.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one statement beside the API (`?N` placeholders, text values).
    pub fn execute(&self, sql: &str, params: &[&str]) {
        match self.backend {
            Backend::Sqlite => {
                self.sqlite()
                    .execute(sql, rusqlite::params_from_iter(params))
                    .expect("raw statement");
            }
            Backend::Postgres => {
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as _).collect();
                self.postgres()
                    .execute(&sql.replace('?', "$"), &params)
                    .expect("raw statement");
            }
        }
    }

    /// The first column of every row of a query beside the API, as i64.
    pub fn query_ints(&self, sql: &str) -> Vec<i64> {
        match self.backend {
            Backend::Sqlite => self
                .sqlite()
                .prepare(sql)
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows"),
            Backend::Postgres => self
                .postgres()
                .query(sql, &[])
                .expect("query")
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// Whether opening left anything behind: the SQLite file, or any table
    /// in the PostgreSQL database.
    pub fn is_untouched(&self) -> bool {
        match self.backend {
            Backend::Sqlite => !self.sqlite_path().exists(),
            Backend::Postgres => {
                self.query_ints(
                    "SELECT CAST(count(*) AS BIGINT) FROM information_schema.tables \
                     WHERE table_schema = 'public'",
                ) == [0]
            }
        }
    }

    /// Every byte the database keeps on disk: the SQLite file and its WAL,
    /// or (after a checkpoint) the PostgreSQL database's files and the
    /// cluster's WAL.
    pub fn bytes_at_rest(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.sqlite_path();
                let mut bytes = fs::read(&path).expect("database file");
                let wal = path.with_file_name("store.db-wal");
                bytes.extend(fs::read(wal).unwrap_or_default());
                bytes
            }
            Backend::Postgres => {
                let mut client = self.postgres();
                client.batch_execute("CHECKPOINT").expect("checkpoint");
                let oid: i64 = client
                    .query_one(
                        "SELECT CAST(oid AS BIGINT) FROM pg_database \
                         WHERE datname = current_database()",
                        &[],
                    )
                    .expect("database oid")
                    .get(0);
                let data = self.cluster.as_ref().expect("cluster").data_dir();
                let mut bytes = Vec::new();
                for dir in [data.join("base").join(oid.to_string()), data.join("pg_wal")] {
                    for entry in fs::read_dir(&dir).expect("cluster directory") {
                        let path = entry.expect("entry").path();
                        if path.is_file() {
                            bytes.extend(fs::read(&path).expect("cluster file"));
                        }
                    }
                }
                bytes
            }
        }
    }

    fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.sqlite_path()).expect("raw SQLite connection")
    }

    fn postgres(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("raw PostgreSQL connection")
    }
}
