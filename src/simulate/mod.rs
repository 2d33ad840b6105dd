//! `tokenrig simulate`: a fleet of key fobs over years, every login decided
//! by the real verifier core, to choose windows and resync policy with
//! evidence.
//!
//! - [`fleet`]: what is simulated (token kinds, years, seed, quartz drift,
//!   shelf time, how people log in) from defaults, a TOML file and flags.
//! - [`grid`]: the policies compared, and the guessing risk each implies.
//! - [`engine`]: one token's life through `validate`/`resync` with codes
//!   from the device models; the fleet token-major on every core.
//! - [`report`]: the human table, JSON and CSV, from integer tallies.
//! - [`plot`]: SVG plots of desync against window, drift over the years,
//!   risk against usability.

pub mod engine;
pub mod fleet;
pub mod grid;
pub mod plot;
pub mod report;
