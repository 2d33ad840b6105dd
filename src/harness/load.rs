//! Validation throughput through the [`Target`] trait: one method for
//! every verifier an adapter reaches, so two products are compared by the
//! same load (`cargo xtask peers`).
//!
//! Closed loop: each client is a thread with its own connection that
//! sends its next validation when the last is answered. A client imports
//! its own fresh event tokens first (set-up, not measured) and submits
//! each token's next code in turn, so every request is an accept the
//! verifier must commit, and no two clients race on one code.

use std::time::{Duration, Instant};

use super::target::{Subject, Target, TargetError, TokenSpec};
use crate::device::{Model, keygen};
use crate::otp::{Algorithm, Digits, OtpKey};

/// What a load measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub clients: usize,
    /// Validations answered within the measured time.
    pub validations: u64,
    /// Of those, how many were not accepted (each should have been).
    pub rejected: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.validations as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `duration` of closed-loop validations, one client per target,
/// each over `tokens_per_client` tokens derived from `seed`.
pub fn validate_load(
    targets: Vec<Box<dyn Target>>,
    tokens_per_client: usize,
    duration: Duration,
    seed: u64,
) -> Result<LoadReport, TargetError> {
    let clients = targets.len();
    let mut prepared = Vec::with_capacity(clients);
    for (client, mut target) in targets.into_iter().enumerate() {
        let tokens = tokens(seed, client as u64, tokens_per_client.max(1));
        target.begin_case()?;
        let specs: Vec<TokenSpec> = tokens.iter().map(|(spec, _)| spec.clone()).collect();
        target.import(&specs)?;
        prepared.push((target, tokens));
    }
    let started = Instant::now();
    let deadline = started + duration;
    let outcomes: Vec<Result<(u64, Vec<Duration>), TargetError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .into_iter()
            .map(|(mut target, tokens)| {
                scope.spawn(move || client(target.as_mut(), &tokens, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(TargetError::Failed("a load client panicked".into())))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut rejected = 0;
    let mut latencies = Vec::new();
    for outcome in outcomes {
        let (r, l) = outcome?;
        rejected += r;
        latencies.extend(l);
    }
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(LoadReport {
        clients,
        validations: latencies.len() as u64,
        rejected,
        elapsed,
        p50: percentile(50),
        p99: percentile(99),
    })
}

/// One client's tokens: C100s at counter 0 and their keys.
fn tokens(seed: u64, client: u64, count: usize) -> Vec<(TokenSpec, OtpKey)> {
    (0..count as u64)
        .map(|i| {
            let index = client << 32 | i;
            let serial = keygen::serial_from_seed(Model::C100, seed, index);
            let key = keygen::key_from_seed(seed, index, 20);
            let spec = TokenSpec {
                serial,
                model: Model::C100,
                key_hex: data_encoding::HEXLOWER.encode(key.as_bytes()),
                algorithm: Algorithm::Sha1.name(),
                digits: 6,
                step: None,
                counter: 0,
            };
            (spec, OtpKey::new(Algorithm::Sha1, &key))
        })
        .collect()
}

/// Validates each token's next code in turn until `deadline`: the number
/// rejected, and the latency of every answer.
fn client(
    target: &mut dyn Target,
    tokens: &[(TokenSpec, OtpKey)],
    deadline: Instant,
) -> Result<(u64, Vec<Duration>), TargetError> {
    let digits = Digits::new(6).map_err(|e| TargetError::Failed(e.to_string()))?;
    let mut counters = vec![0u64; tokens.len()];
    let mut latencies = Vec::new();
    let mut rejected = 0;
    for i in (0..tokens.len()).cycle() {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let (spec, key) = &tokens[i];
        let code = key.hotp(counters[i], digits).to_string();
        counters[i] += 1;
        let verdict = target.validate(&Subject::Serial(spec.serial), &code)?;
        latencies.push(sent.elapsed());
        if !verdict.accepted {
            rejected += 1;
        }
    }
    Ok((rejected, latencies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Builtin;
    use crate::verifier::Policy;

    #[test]
    fn every_validation_of_a_load_is_an_accept() {
        let targets: Vec<Box<dyn Target>> = (0..2)
            .map(|_| Box::new(Builtin::new(Policy::default())) as Box<dyn Target>)
            .collect();
        let report = validate_load(targets, 3, Duration::from_millis(300), 9).expect("load");
        assert_eq!(report.clients, 2);
        assert!(report.validations > 0, "{report:?}");
        assert_eq!(report.rejected, 0, "{report:?}");
        assert!(report.p50 <= report.p99);
    }
}
