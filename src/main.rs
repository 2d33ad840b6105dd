//! The `tokenrig` command: parses arguments, runs one command, and maps every
//! error to one line on stderr and a non-zero exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
