//! `cargo xtask layers` (also a `ci` step): the layer rules the compiler
//! cannot see on its own. `tokenrig-core` does no I/O because nothing in
//! its normal dependency closure could do it for it, and it reads the wall
//! clock in one place, `SystemClock`.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::process::{cargo, repo_root};

/// The pure crate the rules are about.
const CORE: &str = "tokenrig-core";

/// Crates that bring a runtime, a socket, a database, a device, a thread
/// pool or the file system with them. The core may reach none of them.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "axum",
    "hyper",
    "hyper-util",
    "reqwest",
    "ureq",
    "rusqlite",
    "libsqlite3-sys",
    "postgres",
    "tokio-postgres",
    "hidapi",
    "serialport",
    "nix",
    "signal-hook",
    "crossbeam-channel",
    "tempfile",
    "tracing-subscriber",
];

/// Clock reads; only `SystemClock` in `clock.rs` may make one.
const CLOCK_READS: &[&str] = &["SystemTime::now(", "Instant::now("];

pub fn run() -> Result<(), String> {
    println!("xtask: layer rules for {CORE}");
    let output = cargo()
        .args(["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata could not start: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let mut problems: Vec<String> = forbidden_paths(&metadata, CORE)?
        .into_iter()
        .map(|chain| {
            let reached = chain.last().map_or("", String::as_str);
            format!("{CORE} reaches {reached}: {}", chain.join(" → "))
        })
        .collect();
    problems.extend(clock_reads(&repo_root().join("core/src"))?);
    problems.extend(module_arrows(&repo_root().join("src"))?);
    if problems.is_empty() {
        println!("xtask: {CORE} reaches no I/O crate and reads the clock only in SystemClock");
        println!("xtask: modules in src/ use only layers below their own");
        Ok(())
    } else {
        Err(format!("layer rules broken:\n  {}", problems.join("\n  ")))
    }
}

/// Each forbidden crate `root` reaches through normal dependencies (not
/// dev or build ones: tests may use tempfile), with the chain that
/// reaches it, shortest first.
fn forbidden_paths(metadata: &Value, root: &str) -> Result<Vec<Vec<String>>, String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let start = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .ok_or_else(|| format!("cargo metadata: no package {root}"))?;

    // Breadth first, so the chain printed for a crate is a shortest one.
    let mut parent: HashMap<&str, &str> = HashMap::from([(start, start)]);
    let mut queue = VecDeque::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        let name = names.get(id).copied().unwrap_or(id);
        if FORBIDDEN.contains(&name) {
            let mut chain = vec![name.to_owned()];
            let mut at = id;
            while at != start {
                at = parent[at];
                chain.push(names.get(at).copied().unwrap_or(at).to_owned());
            }
            chain.reverse();
            found.push(chain);
            continue;
        }
        let deps = nodes.get(id).and_then(|n| n["deps"].as_array());
        for dep in deps.into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()));
            if let (true, Some(pkg)) = (normal, dep["pkg"].as_str())
                && !parent.contains_key(pkg)
            {
                parent.insert(pkg, id);
                queue.push_back(pkg);
            }
        }
    }
    Ok(found)
}

/// Every clock read under `dir` other than the one in `clock.rs`, as
/// `file:line: text`. Comments are skipped: docs may name the call.
fn clock_reads(root: &Path) -> Result<Vec<String>, String> {
    let clock_rs = root.join("clock.rs");
    let mut reads = Vec::new();
    let mut system_clock_seen = false;
    for (path, text) in rust_files(root)? {
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || !CLOCK_READS.iter().any(|r| code.contains(r)) {
                continue;
            }
            // `SystemClock::now`: the one read allowed.
            if path == clock_rs && code.contains("SystemTime::now(") && !system_clock_seen {
                system_clock_seen = true;
                continue;
            }
            reads.push(format!(
                "{}:{}: reads the clock outside SystemClock: {code}",
                path.display(),
                n + 1
            ));
        }
    }
    Ok(reads)
}

/// Every `.rs` file under `root` with its text, in path order.
fn rust_files(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                files.push((path, text));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The main crate's top-level modules, bottom up: a module may use only
/// modules of a lower layer. The first row is `tokenrig-core`'s, re-exported.
const LAYERS: &[&[&str]] = &[
    &[
        "clock",
        "device",
        "inventory",
        "otp",
        "user",
        "verifier",
        "error",
        "cmdline",
    ],
    &["store", "sms", "transport", "simulate"],
    &["service"],
    &["server", "harness"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Each `use` of a module from the same or a higher layer in `src/` (no
/// circle, no arrow up), and each module no layer names. Test code is not
/// held to it: it may look under any layer.
fn module_arrows(src: &Path) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (path, text) in rust_files(src)? {
        let Ok(relative) = path.strip_prefix(src) else {
            continue;
        };
        let parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        let from = parts[0].as_str();
        if matches!(from, "lib" | "main") || parts.iter().any(|p| p == "tests") {
            continue;
        }
        let Some(from_layer) = layer_of(from) else {
            problems.push(format!(
                "src/{from}: a module no layer in xtask/src/layers.rs names"
            ));
            continue;
        };
        // The library's own paths, or the binary's view of the library.
        let prefix = if from == "cli" {
            "tokenrig::"
        } else {
            "crate::"
        };
        for (n, module) in used_modules(&text, prefix) {
            if module == from {
                continue;
            }
            match layer_of(&module) {
                Some(to) if to < from_layer => {}
                _ => problems.push(format!(
                    "{}:{n}: {from} uses {module}, which is not below it",
                    path.display()
                )),
            }
        }
    }
    problems.sort();
    problems.dedup();
    Ok(problems)
}

/// `(line, module)` for each `prefix`module path outside comments and
/// before the file's `#[cfg(test)]` part.
fn used_modules(text: &str, prefix: &str) -> Vec<(usize, String)> {
    let mut used = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.push((n + 1, name));
            }
            rest = after;
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrow_up_or_sideways_is_found_and_tests_are_not_held_to_it() {
        let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
        let write = |path: &str, text: &str| {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
            std::fs::write(file, text).expect("write");
        };
        write(
            "store/mod.rs",
            "use crate::verifier::Policy;\nuse crate::service::Service;\n",
        );
        write(
            "sms/mod.rs",
            "// crate::store in a comment\nuse crate::store::Store;\n",
        );
        write(
            "service/mod.rs",
            "use crate::store::Store;\n#[cfg(test)]\nuse crate::server::X;\n",
        );
        write("service/tests.rs", "use crate::server::Y;\n");
        write("gadget.rs", "use crate::otp::Code;\n");
        let found = module_arrows(&dir).expect("scan");
        std::fs::remove_dir_all(&dir).expect("clean");
        let expected = [
            "src/gadget: a module no layer in xtask/src/layers.rs names".to_owned(),
            format!(
                "{}: sms uses store, which is not below it",
                dir.join("sms/mod.rs:2").display()
            ),
            format!(
                "{}: store uses service, which is not below it",
                dir.join("store/mod.rs:2").display()
            ),
        ];
        let mut found = found;
        found.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(found, expected);
    }
    use serde_json::json;

    fn package(name: &str) -> Value {
        json!({ "id": format!("{name}-id"), "name": name })
    }

    fn dep(name: &str, kind: Option<&str>) -> Value {
        json!({ "pkg": format!("{name}-id"), "dep_kinds": [{ "kind": kind }] })
    }

    #[test]
    fn a_forbidden_crate_is_named_with_its_chain_and_dev_edges_are_ignored() {
        let packages = ["core", "mid", "tokio", "tempfile"].map(package);
        let metadata = json!({
            "packages": packages,
            "resolve": { "nodes": [
                { "id": "core-id", "deps": [dep("mid", None), dep("tempfile", Some("dev"))] },
                { "id": "mid-id", "deps": [dep("tokio", None)] },
                { "id": "tokio-id", "deps": [] },
                { "id": "tempfile-id", "deps": [] },
            ] },
        });
        assert_eq!(
            forbidden_paths(&metadata, "core").unwrap(),
            [["core", "mid", "tokio"]]
        );
    }
}
