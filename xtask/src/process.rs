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
