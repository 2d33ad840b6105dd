//! `tokenrig conformance`: run the scenario suite against a verifier.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use tokenrig::harness::{self, Builtin, Status, Target, report};
use tokenrig::verifier::Policy;

use super::CliError;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tokenrig conformance                                  # the suite in fixtures/conformance, builtin target
  tokenrig conformance --filter 'RSY-*' --junit junit.xml
  tokenrig conformance --target http://127.0.0.1:8080 --admin-token \"$TOKEN\"
  tokenrig conformance --list

Exit 0 only when every selected case passed; unsupported cases are not passes.
Scenario format: docs/conformance.md.")]
pub struct ConformanceArgs {
    /// `builtin` (tokenrig's verifier in process, virtual clock) or the
    /// base URL of a tokenrig-compatible HTTP verifier
    #[arg(long, default_value = "builtin")]
    target: String,
    /// Suite files or directories of .toml files
    #[arg(
        long = "suite",
        value_name = "PATH",
        default_value = "fixtures/conformance"
    )]
    suites: Vec<PathBuf>,
    /// Run only cases whose id matches (`*` matches any run of characters)
    #[arg(long, value_name = "PATTERN")]
    filter: Option<String>,
    /// Write a JUnit XML report here
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report here
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print the selected cases (id and description) and exit
    #[arg(long)]
    list: bool,
    /// Seed for keys, serials and users [default: random, printed]
    #[arg(long)]
    seed: Option<u64>,
    /// Bearer token of the HTTP target's admin API [default: $TOKENRIG_ADMIN_TOKEN]
    #[arg(long, env = "TOKENRIG_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// `*` matches any run of characters; everything else literally.
fn matches(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((head, rest)) => {
            let Some(tail) = id.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| matches(rest, &tail[i..]))
        }
    }
}

pub fn run(a: ConformanceArgs) -> Result<bool, CliError> {
    let mut cases = harness::load(&a.suites).map_err(|e| match e {
        harness::ScenarioError::Read { .. } => CliError::Usage(format!(
            "{e} (the default suite is fixtures/conformance in the repository: run from its root, or give --suite)"
        )),
        e => CliError::Usage(e.to_string()),
    })?;
    if let Some(pattern) = &a.filter {
        cases.retain(|c| matches(pattern, &c.id));
        if cases.is_empty() {
            return Err(CliError::Usage(format!(
                "--filter {pattern:?} selects no case"
            )));
        }
    }
    if a.list {
        super::write_lines(cases.iter().map(|c| format!("{}  {}", c.id, c.description)))?;
        return Ok(true);
    }
    let mut target: Box<dyn Target> = if a.target == "builtin" {
        Box::new(Builtin::new(Policy::default()))
    } else if a.target.starts_with("http://") || a.target.starts_with("https://") {
        let token = a.admin_token.clone().ok_or_else(|| {
            CliError::Usage(
                "an HTTP target needs --admin-token or TOKENRIG_ADMIN_TOKEN (to import tokens and read SMS codes)"
                    .to_owned(),
            )
        })?;
        Box::new(
            harness::http::Http::new(&a.target, &token)
                .map_err(|e| CliError::Usage(format!("--target: {e}")))?,
        )
    } else {
        return Err(CliError::Usage(format!(
            "--target {:?}: expected builtin or an http(s):// URL",
            a.target
        )));
    };
    let seed = a.seed.unwrap_or_else(rand::random);
    let name = target.name();
    eprintln!(
        "tokenrig: running {} case(s) against {name} (seed {seed})",
        cases.len()
    );
    let results = harness::run(target.as_mut(), &cases, seed, progress(cases.len()));
    if let Some(path) = &a.json {
        write_file(path, &report::json(&name, seed, &results))?;
    }
    if let Some(path) = &a.junit {
        write_file(path, &report::junit(&name, &results))?;
    }
    let text = report::human(&name, &results);
    super::write_lines([text.trim_end()])?;
    Ok(report::Summary::of(&results).all_passed())
}

/// A dot per passed case on stderr (F failed, u unsupported, E error), a
/// count every 50 and at the end; the report itself goes to stdout.
pub fn progress(total: usize) -> impl FnMut(&harness::CaseResult) {
    let mut done = 0;
    move |r| {
        done += 1;
        let mark = match r.status {
            Status::Pass => ".",
            Status::Fail => "F",
            Status::Unsupported => "u",
            Status::Error => "E",
        };
        let mut err = std::io::stderr();
        let _ = write!(err, "{mark}");
        if done % 50 == 0 || done == total {
            let _ = writeln!(err, " {done}/{total}");
        }
    }
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| {
        CliError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn glob_patterns() {
        assert!(matches("RSY-*", "RSY-EVT-001"));
        assert!(matches("*-001", "RSY-EVT-001"));
        assert!(matches("*EVT*", "RSY-EVT-001"));
        assert!(matches("RSY-EVT-001", "RSY-EVT-001"));
        assert!(!matches("RSY-*", "VAL-EVT-001"));
        assert!(!matches("RSY", "RSY-EVT-001"));
    }
}
