//! tokenrig's codes against OATH Toolkit's `oathtool`, the reference peer:
//! bit for bit, over random keys, counters, times, steps, digits and hashes.
//!
//! The oathtool 2.6.7 (Debian) command lines used, checked by hand and by the
//! first two tests below before the random cases trust them:
//! - HOTP, SHA-1 only in oathtool: `oathtool --hotp -d D -c COUNTER -w W HEX`
//!   prints W+1 codes, for COUNTER..=COUNTER+W. `-c` takes the whole u64
//!   range up to 2^64-1.
//! - TOTP: `oathtool --totp=sha256 -d D -s STEP -S @T0 -N @TIME -w W HEX`
//!   prints the codes of W+1 consecutive steps, starting at TIME's step.
//!
//! One process checks a window of codes, so ~10,000 codes cost only as many
//! processes as there are cases. Where oathtool and tokenrig differ by design,
//! the cases stay inside what both define:
//! - oathtool's time is a signed 64-bit `time_t`. Its TOTP window steps the
//!   time forward, and past i64::MAX that arithmetic overflows and the codes
//!   after the first go astray (seen at `-N @9223372036854775807 -w 2`):
//!   windows stop at the last step whose time is <= i64::MAX.
//! - before T0 oathtool computes step 0 (C division truncates toward zero),
//!   tokenrig refuses the time: times stay >= T0.
//! - an HOTP window past 2^64-1 wraps to counter 0 in oathtool: windows stop
//!   at 2^64-1.
//!
//! The RNG seed is random per run and printed on failure; set
//! `TOKENRIG_PEER_SEED` to replay a run.

mod support;
mod vectors;

use std::path::Path;
use std::process::Command;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};

/// Random (key, parameters) cases, each one oathtool process.
const RANDOM_CASES: usize = 1200;
/// Codes per case beyond the first (`-w`); 0..=MAX_WINDOW at random.
const MAX_WINDOW: u64 = 15;
/// Latest time oathtool accepts: its `time_t` is signed.
const MAX_TIME: u64 = i64::MAX as u64;
/// 2100-01-01: the range where real tokens live.
const YEAR_2100: u64 = 4_102_444_800;

#[test]
fn time_option_gives_the_rfc6238_appendix_b_values() {
    let Some(oathtool) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    for v in vectors::totp_vectors() {
        let key = hex(vectors::rfc6238_key(v.algorithm).as_bytes());
        let args = [
            format!("--totp={}", v.algorithm.name()),
            "-d".into(),
            "8".into(),
            "-N".into(),
            format!("@{}", v.time),
            key,
        ];
        let codes = run_oathtool(&oathtool, &args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            codes,
            [v.totp],
            "oathtool {args:?} against RFC 6238 Appendix B"
        );
    }
}

#[test]
fn window_option_gives_consecutive_rfc4226_counters() {
    let Some(oathtool) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    let expected: Vec<String> = vectors::hotp_vectors()
        .into_iter()
        .map(|v| v.hotp)
        .collect();
    let args = [
        "--hotp".into(),
        "-c".into(),
        "0".into(),
        "-w".into(),
        (expected.len() - 1).to_string(),
        hex(vectors::rfc4226_key().as_bytes()),
    ];
    let codes = run_oathtool(&oathtool, &args).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        codes, expected,
        "oathtool {args:?} against RFC 4226 Appendix D"
    );
}

#[test]
fn random_cases_match_oathtool_bit_for_bit() {
    let Some(oathtool) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    let seed = match std::env::var("TOKENRIG_PEER_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("TOKENRIG_PEER_SEED={s:?} is not a u64")),
        Err(_) => rand::random(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut cases = edge_cases(&mut rng);
    cases.extend((0..RANDOM_CASES).map(|i| random_case(&mut rng, i % 2 == 0)));
    // Also here, not only in the assertion: a panic anywhere else must still
    // leave the seed in the log.
    eprintln!("TOKENRIG_PEER_SEED={seed}: {} cases", cases.len());

    // Mostly waiting on child processes: a few more threads than cores.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .min(8);
    let per_thread = cases.len().div_ceil(threads);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = cases
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(|| {
                    chunk
                        .iter()
                        .filter_map(|c| c.check(&oathtool))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    });

    let codes: u64 = cases.iter().map(|c| c.window + 1).sum();
    assert!(
        failures.is_empty(),
        "{} of {} cases ({codes} codes) differ from oathtool; replay with TOKENRIG_PEER_SEED={seed}\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// How a case turns a key into codes.
#[derive(Debug)]
enum Mode {
    Hotp {
        counter: u64,
    },
    Totp {
        algorithm: Algorithm,
        time: u64,
        step: u64,
        t0: u64,
    },
}

/// One key and its parameters: one oathtool process, `window + 1` codes.
struct Case {
    key: Vec<u8>,
    digits: u8,
    window: u64,
    mode: Mode,
}

impl Case {
    fn args(&self) -> Vec<String> {
        let mut args = match self.mode {
            Mode::Hotp { counter } => vec!["--hotp".into(), "-c".into(), counter.to_string()],
            Mode::Totp {
                algorithm,
                time,
                step,
                t0,
            } => vec![
                format!("--totp={}", algorithm.name()),
                "-s".into(),
                step.to_string(),
                "-S".into(),
                format!("@{t0}"),
                "-N".into(),
                format!("@{time}"),
            ],
        };
        args.extend([
            "-d".into(),
            self.digits.to_string(),
            "-w".into(),
            self.window.to_string(),
            hex(&self.key),
        ]);
        args
    }

    /// tokenrig's codes for the case, through the public API.
    fn ours(&self) -> Vec<String> {
        let digits = Digits::new(self.digits).expect("cases use 6 to 8 digits");
        let secret = SecretKey::new(self.key.clone());
        match self.mode {
            Mode::Hotp { counter } => {
                let key = OtpKey::new(Algorithm::Sha1, &secret);
                (0..=self.window)
                    .map(|i| key.hotp(counter + i, digits).to_string())
                    .collect()
            }
            Mode::Totp {
                algorithm,
                time,
                step,
                t0,
            } => {
                let key = OtpKey::new(algorithm, &secret);
                let step = TimeStep::from_secs(step).expect("cases use 30 or 60 s");
                let params = TotpParams { step, t0 };
                (0..=self.window)
                    .map(|i| {
                        let at = time + i * step.as_secs();
                        key.totp(at, params, digits)
                            .expect("cases keep time >= T0")
                            .to_string()
                    })
                    .collect()
            }
        }
    }

    /// `None` when oathtool agrees; otherwise everything needed to replay
    /// the case by hand (test keys are random, not secrets).
    fn check(&self, oathtool: &Path) -> Option<String> {
        let ours = self.ours();
        let theirs = match run_oathtool(oathtool, &self.args()) {
            Ok(codes) => codes,
            Err(e) => return Some(e),
        };
        (ours != theirs).then(|| {
            format!(
                "{}-byte key {}, {:?}, {} digits, window {}:\n  tokenrig {ours:?}\n  oathtool {theirs:?}\n  (oathtool {})",
                self.key.len(),
                hex(&self.key),
                self.mode,
                self.digits,
                self.window,
                self.args().join(" ")
            )
        })
    }
}

/// The boundaries random draws would rarely hit, each with a random key.
fn edge_cases(rng: &mut ChaCha20Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    // The last counters: 2^64-1 itself, and a full window ending there.
    for (counter, window) in [
        (u64::MAX, 0),
        (u64::MAX - MAX_WINDOW, MAX_WINDOW),
        ((1 << 63) - 2, 3),
        ((1 << 32) - 2, 3),
        (0, MAX_WINDOW),
    ] {
        cases.push(Case {
            key: random_key(rng),
            digits: random_digits(rng),
            window,
            mode: Mode::Hotp { counter },
        });
    }
    // oathtool's last second, and the first and last second of a step.
    for algorithm in Algorithm::ALL {
        for (time, step, t0) in [
            (MAX_TIME - 60, 30, 0),
            (MAX_TIME, 30, 0),
            (MAX_TIME, 60, MAX_TIME - 59),
            (0, 30, 0),
            (59, 60, 0),
            (60, 60, 0),
        ] {
            cases.push(Case {
                key: random_key(rng),
                digits: random_digits(rng),
                window: totp_window(2, time, step),
                mode: Mode::Totp {
                    algorithm,
                    time,
                    step,
                    t0,
                },
            });
        }
    }
    cases
}

fn random_case(rng: &mut ChaCha20Rng, hotp: bool) -> Case {
    let key = random_key(rng);
    let digits = random_digits(rng);
    let mut window = rng.random_range(0..=MAX_WINDOW);
    let mode = if hotp {
        let counter = random_counter(rng);
        window = window.min(u64::MAX - counter);
        Mode::Hotp { counter }
    } else {
        let algorithm = Algorithm::ALL[rng.random_range(0..Algorithm::ALL.len())];
        let step = if rng.random_bool(0.5) { 30 } else { 60 };
        let time = random_time(rng, step);
        window = totp_window(window, time, step);
        let t0 = if rng.random_bool(0.3) {
            rng.random_range(0..=time)
        } else {
            0
        };
        Mode::Totp {
            algorithm,
            time,
            step,
            t0,
        }
    };
    Case {
        key,
        digits,
        window,
        mode,
    }
}

/// The widest window up to `wanted` whose last code's time oathtool can
/// still represent (see the module doc).
fn totp_window(wanted: u64, time: u64, step: u64) -> u64 {
    wanted.min((MAX_TIME - time) / step)
}

fn random_key(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut key = vec![0u8; rng.random_range(10..=64)];
    rng.fill(&mut key[..]);
    key
}

fn random_digits(rng: &mut ChaCha20Rng) -> u8 {
    rng.random_range(6..=8)
}

/// Uniform u64 draws almost never land near the ends, so a share of draws
/// goes to small counters and to the neighbourhoods of 2^32, 2^63 and 2^64-1.
fn random_counter(rng: &mut ChaCha20Rng) -> u64 {
    let near = rng.random_range(0..64u64);
    match rng.random_range(0..5) {
        0 => rng.random_range(0..1000),
        1 => u64::MAX - near,
        2 => (1u64 << 63) - 32 + near,
        3 => (1u64 << 32) - 32 + near,
        _ => rng.random(),
    }
}

/// Realistic times, exact step edges, and the whole range oathtool accepts.
fn random_time(rng: &mut ChaCha20Rng, step: u64) -> u64 {
    match rng.random_range(0..3) {
        0 => rng.random_range(0..=YEAR_2100),
        1 => {
            rng.random_range(0..=YEAR_2100 / step) * step
                + if rng.random_bool(0.5) { 0 } else { step - 1 }
        }
        _ => rng.random_range(0..=MAX_TIME),
    }
}

/// Runs oathtool and returns the codes it printed, one per line.
fn run_oathtool(oathtool: &Path, args: &[String]) -> Result<Vec<String>, String> {
    let output = Command::new(oathtool)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", oathtool.display()))?;
    if !output.status.success() {
        return Err(format!(
            "oathtool {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}
