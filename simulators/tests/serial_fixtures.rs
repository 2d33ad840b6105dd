//! The captured exchanges in `fixtures/serial/`, replayed twice: into the
//! protocol engine (sans-IO, exact bytes per write), and through the real
//! `tokenrig-sim` on a kernel pseudo-terminal, so the fixtures are what the
//! wire really carries.
//!
//! `TOKENRIG_BLESS=1` rewrites each fixture's answers from the engine; the
//! PTY replay then checks the process says the same.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use support::{Exchange, Sim, exchanges};
use tokenrig_core::clock::{SystemClock, UnixTime};
use tokenrig_core::device::Model;
use tokenrig_core::otp::SecretKey;
use tokenrig_simulators::serial::engine::{LineEngine, Volatile};
use tokenrig_simulators::serial::spec::SimSpec;

/// The spec a fixture's `# sim:` arguments describe (the flags the
/// fixtures use; a new flag in a fixture fails here loudly).
fn spec(exchange: &Exchange) -> SimSpec {
    let model: Model = exchange.args[0]
        .parse()
        .expect("first argument is the model");
    let mut spec = SimSpec {
        model,
        serial: String::new(),
        key: SecretKey::new(Vec::new()),
        counter: 0,
        step_secs: 60,
        drift_ppm: 0.0,
        test_clock: None,
    };
    let mut args = exchange.args[1..].iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().expect("flag has a value").as_str();
        match flag.as_str() {
            "--serial" => spec.serial = value().to_owned(),
            "--key" => spec.key = SecretKey::from_hex(value()).expect("hex key"),
            "--counter" => spec.counter = value().parse().unwrap(),
            "--step" => spec.step_secs = value().parse().unwrap(),
            "--drift-ppm" => spec.drift_ppm = value().parse().unwrap(),
            "--start" => spec.test_clock = Some(UnixTime::from_secs(value().parse().unwrap())),
            "--test-clock" => {}
            other => panic!("{}: flag {other} not understood here", exchange.name),
        }
    }
    spec
}

fn engine_answers(exchange: &Exchange) -> Vec<Vec<u8>> {
    let sim = spec(exchange)
        .build(Arc::new(SystemClock))
        .expect("fixture spec is valid");
    let mut engine = LineEngine::new(sim, Volatile);
    exchange
        .steps
        .iter()
        .map(|step| {
            let mut out = Vec::new();
            engine.receive(&step.sent, &mut out);
            out
        })
        .collect()
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_engine_answers_every_fixture_byte_for_byte() {
    let bless = std::env::var_os("TOKENRIG_BLESS").is_some();
    for exchange in exchanges() {
        let answers = engine_answers(&exchange);
        if bless {
            std::fs::write(&exchange.path, exchange.render(&answers)).expect("fixture written");
            continue;
        }
        for (i, (step, answer)) in exchange.steps.iter().zip(&answers).enumerate() {
            assert_eq!(
                show(answer),
                show(&step.answer),
                "{} step {} (sent {:?})",
                exchange.name,
                i + 1,
                show(&step.sent)
            );
        }
    }
}

#[test]
fn the_simulator_on_a_real_pty_says_the_same() {
    for exchange in exchanges() {
        let mut args: Vec<&str> = exchange.args.iter().map(String::as_str).collect();
        args.push("--pty");
        let sim = Sim::start(&args);
        let mut line = serialport::new(&sim.path, 9_600)
            .timeout(Duration::from_secs(2))
            .open()
            .expect("the PTY opens as a serial port");
        for (i, step) in exchange.steps.iter().enumerate() {
            line.write_all(&step.sent).unwrap();
            let mut got = vec![0u8; step.answer.len()];
            line.read_exact(&mut got)
                .unwrap_or_else(|e| panic!("{} step {}: {e}", exchange.name, i + 1));
            assert_eq!(
                show(&got),
                show(&step.answer),
                "{} step {}",
                exchange.name,
                i + 1
            );
        }
        // Nothing more than the fixture says.
        line.set_timeout(Duration::from_millis(100)).unwrap();
        let mut extra = [0u8; 64];
        assert!(
            line.read(&mut extra).is_err(),
            "{}: extra bytes",
            exchange.name
        );
    }
}
