//! A throw-away privacyIDEA on loopback: installed from PyPI into a venv
//! under the target directory (once; later runs reuse it), set up on
//! SQLite in its own directory, served by gunicorn on a free port,
//! optionally under libfaketime so the harness moves its clock.
//!
//! Standard library only (plus `tokenrig`'s `FakeClock`), because
//! `cargo xtask peers` includes this file too: one launcher for the test
//! and the report.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenrig::clock::UnixTime;
use tokenrig::harness::faketime::FakeClock;

/// The privacyIDEA the peer tests and `docs/peers.md` are made with.
pub const PRIVACYIDEA: &str = "privacyIDEA==3.14";
/// The WSGI server it runs under (tested with this one).
pub const GUNICORN: &str = "gunicorn==27.0.1";

pub const ADMIN_USER: &str = "admin";
/// Only ever a loopback instance in a temp directory.
pub const ADMIN_PASSWORD: &str = "tokenrig-peer-admin";

/// The venv's Python with privacyIDEA installed in `dir`, installing it
/// when `dir` lacks it. Built beside `dir` and renamed into place, so two
/// processes installing at once never see half a venv.
pub fn install(dir: &Path) -> Result<PathBuf, String> {
    let marker = dir.join("tokenrig-installed");
    let wanted = format!("{PRIVACYIDEA} {GUNICORN}\n");
    let python = dir.join("bin/python");
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(python);
    }
    let partial = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    run(Command::new("python3").args(["-m", "venv"]).arg(&partial))?;
    run(Command::new(partial.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([PRIVACYIDEA, GUNICORN]))?;
    std::fs::write(partial.join("tokenrig-installed"), &wanted)
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    // Scripts in bin/ name the partial path in their shebangs; everything
    // here runs `python -m`, which finds the venv from its own location.
    let _ = std::fs::remove_dir_all(dir);
    if std::fs::rename(&partial, dir).is_err() {
        // Another process won the race: use its venv.
        let _ = std::fs::remove_dir_all(&partial);
    }
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        Ok(python)
    } else {
        Err(format!("the venv in {} is incomplete", dir.display()))
    }
}

/// Runs a set-up command; its output only when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{shown}` could not start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{shown}` failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A privacyIDEA server; stopped on drop.
pub struct PrivacyIdeaServer {
    child: Child,
    pub url: String,
    /// The editable SQL resolver's SQLite file (the adapter's
    /// `with_users_db`).
    pub users_db: String,
    /// Its clock, when it runs under libfaketime.
    pub clock: Option<FakeClock>,
    log: PathBuf,
}

impl PrivacyIdeaServer {
    /// Sets privacyIDEA up in `work` (a fresh directory) and starts it.
    /// `libfaketime`: run it under that library, its clock at `start`.
    pub fn start(
        python: &Path,
        work: &Path,
        libfaketime: Option<(&Path, UnixTime)>,
    ) -> Result<PrivacyIdeaServer, String> {
        std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let config = work.join("pi.cfg");
        let path = |name: &str| work.join(name).display().to_string();
        std::fs::write(
            &config,
            format!(
                "SQLALCHEMY_DATABASE_URI = 'sqlite:///{db}'\n\
                 SECRET_KEY = 'tokenrig-peer-{port}-secret'\n\
                 PI_PEPPER = 'tokenrig-peer-{port}-pepper'\n\
                 PI_ENCFILE = '{enckey}'\n\
                 PI_AUDIT_KEY_PRIVATE = '{private}'\n\
                 PI_AUDIT_KEY_PUBLIC = '{public}'\n\
                 PI_LOGFILE = '{log}'\n\
                 PI_LOGLEVEL = 30\n\
                 PI_UUID_FILE = '{uuid}'\n\
                 PI_NODE = 'tokenrig'\n\
                 PI_BASE_URL = '{url}'\n",
                db = path("pi.sqlite"),
                enckey = path("enckey"),
                private = path("private.pem"),
                public = path("public.pem"),
                log = path("privacyidea.log"),
                uuid = path("uuid.txt"),
            ),
        )
        .map_err(|e| format!("{}: {e}", config.display()))?;
        let manage = |args: &[&str]| {
            run(Command::new(python)
                .args([
                    "-c",
                    "import sys; from privacyidea.cli.pimanage import cli; \
                     sys.argv[0] = 'pi-manage'; sys.exit(cli())",
                ])
                .args(args)
                .env("PRIVACYIDEA_CONFIGFILE", &config))
        };
        manage(&["setup", "create_enckey"])?;
        manage(&["setup", "create_audit_keys"])?;
        manage(&["setup", "create_tables"])?;
        manage(&["admin", "add", ADMIN_USER, "-p", ADMIN_PASSWORD])?;
        // privacyidea-create-userdb's table, without needing sqlite3.
        let users_db = path("users.sqlite");
        run(Command::new(python).args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             c.execute('create table users (id integer primary key, username text unique, \
             surname text, givenname text, email text, password text, description text, \
             mobile text, phone text)'); c.commit()",
            &users_db,
        ]))?;

        let log = work.join("gunicorn.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(python);
        command
            .args(["-m", "gunicorn", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            // One sync worker: SQLite takes one writer, and no worker
            // timeout, which a clock moved by years would trip.
            .args(["--workers", "1", "--timeout", "0", "--no-control-socket"])
            .arg("privacyidea.app:create_app(\"production\", silent=True)")
            .current_dir(work)
            .env("PRIVACYIDEA_CONFIGFILE", &config)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file);
        let clock = match libfaketime {
            Some((library, start)) => {
                let clock = FakeClock::new(work.join("faketime"));
                clock.set(start).map_err(|e| e.to_string())?;
                command.envs(clock.process_env(library));
                Some(clock)
            }
            None => None,
        };
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .map_err(|e| format!("gunicorn could not start: {e}"))?;
        let mut server = PrivacyIdeaServer {
            child,
            url,
            users_db,
            clock,
            log,
        };
        server.wait_healthy(port)?;
        Ok(server)
    }

    /// Waits for `GET /healthz/` to answer 200.
    fn wait_healthy(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "gunicorn exited ({status}) before answering:\n{}",
                    self.log_tail()
                ));
            }
            if healthz(port).unwrap_or(false) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "privacyIDEA did not answer /healthz/ within 90 s:\n{}",
            self.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivacyIdeaServer {
    fn drop(&mut self) {
        // SIGTERM to the master: it stops its worker and exits. Its
        // process group (its own, by `process_group(0)`) gets SIGKILL if
        // it has not within 10 s.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listened on a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Whether `/healthz/` answers 200 (HTTP/1.0 by hand: no client library).
fn healthz(port: u16) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /healthz/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"))
}
