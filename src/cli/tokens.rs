//! `tokenrig tokens`: the tokens in the store as an aligned table.

use clap::Args;
use tokenrig::device::Family;
use tokenrig::store::TokenSummary;
use tokenrig::user::TaxCode;

use super::db::DbArgs;
use super::{CliError, write_lines};

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only this user's tokens
    #[arg(long, value_name = "CF", value_parser = TaxCode::parse)]
    user: Option<TaxCode>,
}

const HEADER: [&str; 7] = [
    "SERIAL",
    "KIND",
    "STATUS",
    "COUNTER/OFFSET",
    "FAILURES",
    "LOCKED",
    "USER",
];

pub fn run(a: TokensArgs) -> Result<(), CliError> {
    let tokens = a.db.open()?.tokens(a.user.as_ref())?;
    let mut rows = vec![HEADER.map(str::to_owned)];
    rows.extend(tokens.iter().map(row));
    let mut widths = [0; HEADER.len()];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    write_lines(rows.iter().map(|r| {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        cells.join("  ").trim_end().to_owned()
    }))
}

/// Event tokens show the next counter they accept; time tokens their
/// learned clock offset in steps.
fn row(t: &TokenSummary) -> [String; HEADER.len()] {
    let position = match t.model.family() {
        Family::Event => t.state.next_counter.to_string(),
        Family::Time => format!("{:+} steps", t.state.drift_steps),
    };
    [
        t.serial.as_str().to_owned(),
        t.model.to_string(),
        t.status.to_string(),
        position,
        t.state.failures.to_string(),
        if t.state.locked { "yes" } else { "no" }.to_owned(),
        t.username
            .as_ref()
            .map_or_else(|| "-".to_owned(), |u| u.as_str().to_owned()),
    ]
}
