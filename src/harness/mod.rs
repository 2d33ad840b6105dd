//! The conformance harness: scenarios as data (`scenario.rs`, TOML under
//! `fixtures/conformance/`), run against a verifier behind the small
//! [`Target`] trait (`builtin.rs`: tokenrig's own, in process; `http.rs`:
//! any tokenrig-compatible HTTP verifier; `privacyidea.rs`; `radius.rs`: any
//! RADIUS-fronted OTP server, set up through another target), with the devices driven on the
//! case's virtual clock (`runner.rs`), reported as a table, JSON or JUnit
//! (`report.rs`).
//!
//! A case's result is `pass`, `fail` (the verifier answered otherwise than
//! expected), `unsupported` (the target cannot run it, e.g. no clock
//! control: never counted as a pass) or `error` (setup or transport broke).

pub mod builtin;
pub mod catalogue;
pub mod embedded;
pub mod faketime;
pub mod http;
pub mod load;
pub mod plan;
pub mod privacyidea;
pub mod radius;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod target;

pub use builtin::Builtin;
pub use runner::{CaseResult, Observer, Quiet, RunOptions, Status, run, run_case};
pub use scenario::{Case, ScenarioError, SuiteSource, load, load_suite};
pub use target::{
    ClockControl, Offers, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict,
};
