//! What the `tokenrig` and `tokenrig-sim` binaries share about their command
//! lines: the one-line error contract.

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
