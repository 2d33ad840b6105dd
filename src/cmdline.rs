//! What the `tokenrig` and `tokenrig-sim` binaries share about their command
//! lines: the one-line error contract, shell completions and the man page.

use std::io::{self, Write};

/// The shells `completions` writes scripts for.
pub use clap_complete::Shell;

/// Writes `command`'s completion script for `shell`. Rendered in memory
/// first: clap_complete panics on a failed write (a closed pipe).
pub fn write_completions(
    command: &mut clap::Command,
    shell: Shell,
    out: &mut dyn Write,
) -> io::Result<()> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, command, name, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Writes `command`'s man pages (roff) into `dir`: one for the command
/// and one per subcommand (`tokenrig-serve.1`, …).
pub fn write_man_pages(command: clap::Command, dir: &std::path::Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(command, dir)
}

/// clap's error, cut to the one line the CLI contract promises: its first
/// paragraph joined onto one line (the part naming what is wrong), without
/// the usage and tips clap prints below it.
pub fn clap_error_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = paragraph.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if line.is_empty() {
        "invalid arguments".to_owned()
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn command() -> Command {
        Command::new("t")
            .arg(Arg::new("key").long("key").required(true).value_name("HEX"))
            .arg(
                Arg::new("counter")
                    .long("counter")
                    .required(true)
                    .value_name("N"),
            )
    }

    #[test]
    fn missing_arguments_are_named_on_one_line() {
        let e = command().try_get_matches_from(["t"]).unwrap_err();
        assert_eq!(
            clap_error_line(&e),
            "the following required arguments were not provided: --key <HEX> --counter <N>"
        );
    }

    #[test]
    fn unknown_flags_keep_only_the_first_paragraph() {
        let e = command()
            .try_get_matches_from(["t", "--kye", "x"])
            .unwrap_err();
        let line = clap_error_line(&e);
        assert!(
            line.starts_with("unexpected argument '--kye' found"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
