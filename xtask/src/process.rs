//! Running external commands as named steps: each is announced on one line
//! and a failure names the step, so a CI log says what broke without scrolling.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root. xtask lives one level below it, and every cargo
/// command runs from there whatever directory `cargo xtask` was started in.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo that started xtask (`$CARGO`), so a `cargo +toolchain xtask`
/// keeps using that toolchain; plain `cargo` otherwise.
pub fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(repo_root());
    command
}

/// Runs `cargo ARGS` as a step: one line announcing it, its output shown
/// as it comes, an error naming it if it fails.
pub fn cargo_step(args: &[&str]) -> Result<(), String> {
    let name = format!("cargo {}", args.join(" "));
    println!("xtask: {name}");
    let status = cargo()
        .args(args)
        .status()
        .map_err(|e| format!("step `{name}` could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `{name}` failed ({status})"))
    }
}

/// Whether `cargo ARGS` exits successfully, all output discarded: a probe,
/// not a step (e.g. "is this cargo subcommand installed?").
pub fn cargo_succeeds(args: &[&str]) -> bool {
    cargo()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether an executable named `binary` is in a `$PATH` directory. Looking
/// is cheaper and safer than starting a program whose flags we do not know.
pub fn on_path(binary: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;

    let Some(path) = env::var_os("PATH") else {
        return false;
    };
    env::split_paths(&path).any(|dir| {
        dir.join(binary)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// A `tokenrig serve` started on a free loopback port; SIGTERM on drop.
pub struct Serve {
    child: std::process::Child,
    pub url: String,
    /// `--radius`'s bound address, when served with it.
    pub radius: Option<std::net::SocketAddr>,
}

impl Serve {
    /// Starts `binary serve --db DB --listen 127.0.0.1:0 EXTRA…` with the
    /// given store key and admin token, and reads its address from the
    /// first stdout line.
    pub fn start(
        binary: &Path,
        db: &str,
        extra: &[&str],
        store_key: &str,
        admin_token: &str,
    ) -> Result<Serve, String> {
        use std::io::BufRead;
        let mut child = Command::new(binary)
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TOKENRIG_STORE_KEY", store_key)
            .env("TOKENRIG_ADMIN_TOKEN", admin_token)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("tokenrig serve could not start: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout from tokenrig serve")?;
        let mut stdout = std::io::BufReader::new(stdout);
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .map_err(|e| format!("reading serve's address: {e}"))?;
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("tokenrig serve printed {first:?}, not its address"))?
            .to_owned();
        // With --radius, the next line is its UDP address.
        let radius = if extra.contains(&"--radius") {
            let mut second = String::new();
            stdout
                .read_line(&mut second)
                .map_err(|e| format!("reading serve's RADIUS address: {e}"))?;
            Some(
                second
                    .trim()
                    .strip_prefix("radius on udp://")
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| {
                        format!("tokenrig serve printed {second:?}, not its RADIUS address")
                    })?,
            )
        } else {
            None
        };
        Ok(Serve { child, url, radius })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
