//! A throw-away PostgreSQL cluster for one test: `initdb` into a temporary
//! directory, `pg_ctl start` listening on a free loopback port, stopped and
//! deleted on drop. Nothing outside the temporary directory is touched, so
//! tests can run in parallel and leave nothing behind.

use std::env;
use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};

use tempfile::TempDir;

/// The superuser the cluster is created with; trust authentication on
/// loopback, so URLs carry no password.
const SUPERUSER: &str = "postgres";

pub struct PgCluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// Set when this process is root: PostgreSQL refuses to run as root,
    /// so the server runs as the `postgres` system user instead.
    run_as: Option<(u32, u32)>,
}

impl PgCluster {
    /// Starts a cluster, or says why it cannot: `None` (with the reason
    /// printed) where PostgreSQL is not installed, a panic under CI, where
    /// `cargo xtask ci` installs it. See [`super::require_tool`].
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = bin_dir() else {
            super::skip_or_fail(
                "PostgreSQL's initdb is neither on PATH nor under /usr/lib/postgresql; \
                 `cargo xtask ci` installs it (Debian package `postgresql`)",
            );
            return None;
        };
        let run_as = if is_root() {
            Some(postgres_user().expect(
                "running as root, and PostgreSQL refuses root: a `postgres` system user is needed \
                 (the Debian package creates it)",
            ))
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("tokenrig-pg-")
            .tempdir()
            .expect("temporary directory");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown data dir");
        }
        let port = free_port();
        let cluster = PgCluster {
            dir,
            bin,
            port,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "--no-sync".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
            ],
        );
        // fsync off: these clusters test concurrency, not durability, and
        // die with the test.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
             -c fsync=off -c max_connections=200",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(cluster)
    }

    /// The cluster this process's tests share while any of them holds it,
    /// started by the first: tests that overlap (threads under `cargo
    /// test`) reuse one server, each in its own database, and the last one
    /// out stops it (a `static` would never drop, leaving it running).
    /// Under nextest, one process per test, this is one cluster per test.
    pub fn shared() -> Option<Arc<PgCluster>> {
        static SHARED: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());
        let mut slot = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cluster) = slot.upgrade() {
            return Some(cluster);
        }
        let cluster = Arc::new(PgCluster::start()?);
        *slot = Arc::downgrade(&cluster);
        Some(cluster)
    }

    /// A URL for `database` (which must exist; `postgres` always does).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the maintenance database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(name)
    }

    /// The cluster's files (`base/`, `pg_wal/`, …).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        // A cwd the server user can read: pg_ctl complains otherwise.
        command.current_dir(self.dir.path());
        command
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} could not start: {e}"));
        assert!(
            output.status.success(),
            "{program} failed ({}):\n{}{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
        output
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        // Immediate: nothing in a test cluster is worth a clean shutdown.
        let _ = self
            .command("pg_ctl")
            .args(["-D".as_ref(), data.as_os_str()])
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The directory of `initdb` and `pg_ctl`: PATH first, else the newest
/// Debian install (`/usr/lib/postgresql/N/bin`, not on PATH by default).
pub fn bin_dir() -> Option<PathBuf> {
    let on_path = env::var_os("PATH").and_then(|path| {
        env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string(Path::new("/etc/passwd")).ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
            _ => None,
        }
    })
}
