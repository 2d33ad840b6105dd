//! The programs tests start as real processes (reference peers, databases),
//! installed from Debian packages when missing so a fresh CI machine and a
//! developer's laptop run the same suite.

use std::io::IsTerminal;
use std::process::{Command, Stdio};

use crate::process::on_path;

/// A program some test runs, and the Debian package that ships it.
struct Tool {
    binary: &'static str,
    package: &'static str,
    /// Whether it is installed; most tools are on `$PATH`.
    present: fn(&str) -> bool,
}

/// Everything the test suite needs beyond Rust. A test that gains a new
/// external peer adds its line here.
const REQUIRED: &[Tool] = &[
    // tests/radius.rs: FreeRADIUS's radclient, the real client of `serve --radius`.
    Tool {
        binary: "radclient",
        package: "freeradius-utils",
        present: on_path,
    },
    // tests/oathtool_peer.rs: codes must match OATH Toolkit's bit for bit.
    Tool {
        binary: "oathtool",
        package: "oathtool",
        present: on_path,
    },
    // simulators/tests/usbip_device.rs: `usbip list -r` against
    // `tokenrig-sim usb --usbip` (and `usbip attach` where vhci-hcd is).
    Tool {
        binary: "usbip",
        package: "usbip",
        present: on_path,
    },
    // tests/store_suite.rs: throw-away clusters made with initdb + pg_ctl.
    Tool {
        binary: "initdb",
        package: "postgresql",
        present: postgres_installed,
    },
    // tests/peer_privacyidea.rs, cargo xtask peers: privacyIDEA under
    // libfaketime, the harness moving its clock.
    Tool {
        binary: "libfaketime.so.1",
        package: "faketime",
        present: libfaketime_installed,
    },
    // The same: privacyIDEA is pip-installed into a venv.
    Tool {
        binary: "python3",
        package: "python3-venv",
        present: python_venv_works,
    },
];

/// Debian's `libfaketime` package (pulled in by `faketime`) puts the
/// library under the multiarch directory; `harness::faketime` looks there.
fn libfaketime_installed(library: &str) -> bool {
    std::fs::read_dir("/usr/lib").is_ok_and(|dirs| {
        dirs.flatten()
            .any(|d| d.path().join("faketime").join(library).is_file())
    }) || std::path::Path::new("/usr/lib/faketime")
        .join(library)
        .is_file()
}

/// Debian's python3 lacks `venv` and `ensurepip` until `python3-venv` is
/// installed; a python3 that can make a venv has both.
fn python_venv_works(python: &str) -> bool {
    on_path(python)
        && Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Debian keeps PostgreSQL's server programs in `/usr/lib/postgresql/N/bin`,
/// off `$PATH`; tests/support/postgres.rs looks in both places too.
fn postgres_installed(binary: &str) -> bool {
    on_path(binary)
        || std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin").join(binary).is_file())
        })
}

/// Installs the packages of every required tool not on `$PATH`. Prints and
/// does nothing when all are present, so it is cheap to run every time.
pub fn install_missing() -> Result<(), String> {
    install_missing_of(|_| true)
}

/// The same for the tools named in `binaries` only: `cargo xtask peers`
/// needs faketime and a venv, not PostgreSQL.
pub fn install_missing_among(binaries: &[&str]) -> Result<(), String> {
    install_missing_of(|tool| binaries.contains(&tool.binary))
}

fn install_missing_of(wanted: impl Fn(&Tool) -> bool) -> Result<(), String> {
    let mut packages: Vec<&str> = REQUIRED
        .iter()
        .filter(|tool| wanted(tool) && !(tool.present)(tool.binary))
        .map(|tool| tool.package)
        .collect();
    // Several binaries can come from one package (PostgreSQL's do).
    packages.sort_unstable();
    packages.dedup();
    if packages.is_empty() {
        return Ok(());
    }
    if !on_path("apt-get") {
        return Err(format!(
            "tests need {} but apt-get is not available: install the equivalent by hand",
            packages.join(" ")
        ));
    }
    println!("xtask: installing {}", packages.join(" "));

    let mut install = vec!["install", "-y", "-q"];
    install.extend(&packages);
    // A fresh container often has no package lists at all; refreshing them
    // costs tens of seconds, so only when the first attempt shows it is needed.
    if apt_get(&install).is_err() {
        apt_get(&["update", "-q"])?;
        apt_get(&install)?;
    }

    let still_missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|tool| wanted(tool) && !(tool.present)(tool.binary))
        .map(|tool| tool.binary)
        .collect();
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "installed {} but {} still not found",
            packages.join(" "),
            still_missing.join(", ")
        ))
    }
}

/// Runs `apt-get ARGS` non-interactively, as root or through sudo. Its
/// output is kept and shown only when it fails: a passing CI log stays short.
fn apt_get(args: &[&str]) -> Result<(), String> {
    let shown = format!("apt-get {}", args.join(" "));
    let mut command = if is_root() || !on_path("sudo") {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        // Without a terminal nobody can type a password: fail at once
        // instead of waiting on a prompt.
        if !std::io::stdin().is_terminal() {
            sudo.arg("-n");
        }
        // sudo resets the environment; `env` carries the setting through.
        sudo.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    let output = command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
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

/// The owner of `/proc/self` is the process's effective user: root can run
/// apt-get directly. Unknown counts as not root, which only means sudo.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;

    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
