//! `tokenrig demo --quartz`: the motivation in miniature. A C100 and a
//! C200 pressed on a virtual clock: event codes that never repeat, and a
//! time token whose quartz drifts away from the verifier's clock over a
//! year.

use std::sync::Arc;
use std::time::Duration;

use tokenrig::clock::{Clock, ClockOffset, Drift, DriftingClock, VirtualClock};
use tokenrig::device::{C100, C200, Token, keygen};
use tokenrig::otp::{Algorithm, Digits, OtpKey, TotpParams};

use super::{C100_SERIAL, C200_SERIAL, START, serial};
use crate::cli::{CliError, Context, write_lines};

const DAY: u64 = 86_400;

/// Prints a C100's first presses and a C200 drifting over a year.
pub fn run(seed: u64, drift_ppm: f64) -> Result<(), CliError> {
    let drift = Drift::from_ppm(drift_ppm).input("--drift-ppm")?;
    let clock = VirtualClock::new(START);
    let mut lines = vec![format!(
        "tokenrig demo: virtual tokens on a virtual clock starting 2026-01-01 00:00 UTC (keys from seed {})",
        seed
    )];
    lines.extend(c100_presses(seed)?);
    lines.extend(c200_over_a_year(seed, drift, &clock)?);
    write_lines(lines)
}

/// Five presses of a C100: each shows the next counter's code.
fn c100_presses(seed: u64) -> Result<Vec<String>, CliError> {
    let mut fob = C100::new(
        serial(C100_SERIAL),
        keygen::key_from_seed(seed, 0, keygen::DEFAULT_KEY_LEN),
    );
    let mut lines = vec![
        String::new(),
        format!(
            "C100 event key fob {}, {} digits",
            fob.serial(),
            fob.digits()
        ),
        "  press  counter  code".to_owned(),
    ];
    for press in 1..=5 {
        let counter = fob.counter().unwrap_or(u64::MAX);
        let code = fob.press().map_err(CliError::input)?;
        lines.push(format!("  {press:>5}  {counter:>7}  {code}"));
    }
    Ok(lines)
}

/// A C200 whose quartz runs `drift` fast, pressed on days 0, 1, 30, 182 and
/// 365, next to the code a verifier with an exact clock would expect.
fn c200_over_a_year(
    seed: u64,
    drift: Drift,
    clock: &VirtualClock,
) -> Result<Vec<String>, CliError> {
    let key = keygen::key_from_seed(seed, 1, keygen::DEFAULT_KEY_LEN);
    let exact = OtpKey::new(Algorithm::Sha1, &key);
    let quartz = DriftingClock::new(Arc::new(clock.clone()), drift, ClockOffset::ZERO);
    let mut fob = C200::new(serial(C200_SERIAL), key, quartz);
    let params = TotpParams::new(fob.step());
    let step = fob.step().as_secs() as f64;
    let mut lines = vec![
        String::new(),
        format!(
            "C200 time key fob {}, {} step, quartz {:+} ppm",
            fob.serial(),
            fob.step(),
            drift.as_ppm()
        ),
        "    day  token clock ahead  steps ahead  token shows  exact clock expects".to_owned(),
    ];
    let mut day = 0;
    for target in [0, 1, 30, 182, 365] {
        clock.advance(Duration::from_secs((target - day) * DAY));
        day = target;
        let now = clock.now();
        let ahead = fob.clock().now().as_nanos() as f64 / 1e9 - now.as_nanos() as f64 / 1e9;
        let shown = fob.press().map_err(CliError::input)?;
        let expected = exact
            .totp(now.as_secs(), params, Digits::SIX)
            .map_err(CliError::input)?;
        lines.push(format!(
            "  {day:>5}  {ahead:>15.1} s  {:>11.1}  {:>11}  {:>19}",
            ahead / step,
            shown.to_string(),
            expected.to_string(),
        ));
    }
    lines.push(String::new());
    lines.push(
        "A verifier looking only ±1 step around an exact clock rejects this token within"
            .to_owned(),
    );
    lines.push("months; a verifier that learns each token's drift keeps accepting it.".to_owned());
    Ok(lines)
}
