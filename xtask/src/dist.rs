//! `cargo xtask dist`: what a package of tokenrig ships besides the
//! binaries, generated from the binaries' own command lines so it cannot
//! drift from them: man pages (`target/dist/man/`) and shell completions
//! (`target/dist/completions/`) for `tokenrig` and `tokenrig-sim`.
//!
//! Also [`install_test`], the CI step that installs both binaries the way
//! a user does and runs them away from the repository.

use std::process::Command;

use crate::process::{cargo_step, repo_root};

const BINARIES: [&str; 2] = ["tokenrig", "tokenrig-sim"];
const SHELLS: [(&str, &str); 5] = [
    ("bash", "{}.bash"),
    ("zsh", "_{}"),
    ("fish", "{}.fish"),
    ("elvish", "{}.elv"),
    ("powershell", "_{}.ps1"),
];

pub fn run() -> Result<(), String> {
    cargo_step(&["build", "--release", "--workspace", "--bins"])?;
    let root = repo_root();
    let dist = root.join("target/dist");
    let _ = std::fs::remove_dir_all(&dist);
    let completions = dist.join("completions");
    std::fs::create_dir_all(&completions).map_err(|e| format!("{}: {e}", completions.display()))?;
    for binary in BINARIES {
        let path = root.join("target/release").join(binary);
        let man = dist.join("man");
        run_ok(Command::new(&path).arg("man").arg("--out").arg(&man))?;
        for (shell, file) in SHELLS {
            let out = Command::new(&path)
                .args(["completions", shell])
                .output()
                .map_err(|e| format!("{binary} completions {shell}: {e}"))?;
            if !out.status.success() || out.stdout.is_empty() {
                return Err(format!("{binary} completions {shell} failed"));
            }
            let name = file.replace("{}", binary);
            std::fs::write(completions.join(&name), &out.stdout)
                .map_err(|e| format!("{name}: {e}"))?;
        }
    }
    println!("xtask: man pages and completions in {}", dist.display());
    Ok(())
}

/// Installs both binaries with `cargo install` into a fresh root under
/// `target/`, then, from a directory outside the repository, runs the
/// suite, the demo and the simulator's help. A debug install that reuses
/// the test build: what is checked is that the installed tool needs
/// nothing from the repository, not its speed.
pub fn install_test() -> Result<(), String> {
    let root = repo_root();
    let base = root.join("target/install-test");
    let _ = std::fs::remove_dir_all(&base);
    let prefix = base.join("root");
    // Outside the repository, so nothing can be found relative to it.
    let elsewhere = std::env::temp_dir().join(format!("tokenrig-install-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).map_err(|e| format!("{}: {e}", elsewhere.display()))?;
    let target_dir = root.join("target");
    for package in [".", "simulators"] {
        cargo_step(&[
            "install",
            "--locked",
            "--debug",
            "--force",
            "--path",
            package,
            "--target-dir",
            &target_dir.display().to_string(),
            "--root",
            &prefix.display().to_string(),
        ])?;
    }
    let bin = prefix.join("bin");
    for args in [
        &["tokenrig", "conformance", "--target", "builtin"][..],
        &["tokenrig", "demo"],
        &["tokenrig-sim", "--help"],
    ] {
        println!(
            "xtask: installed: {} (in {})",
            args.join(" "),
            elsewhere.display()
        );
        run_ok(
            Command::new(bin.join(args[0]))
                .args(&args[1..])
                .current_dir(&elsewhere)
                .stdout(std::process::Stdio::null()),
        )?;
    }
    let _ = std::fs::remove_dir_all(&elsewhere);
    println!("xtask: the installed tool works outside the repository");
    Ok(())
}

fn run_ok(command: &mut Command) -> Result<(), String> {
    let name = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("{name} could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}
