//! Shared by tests that start external programs: reference peers and
//! database servers. Each test binary uses part of it.
#![allow(dead_code)]

pub mod fleet;
pub mod postgres;
pub mod privacyidea;
pub mod server;
pub mod store;
mod tools;

// Not every test binary that includes this module finds a tool.
#[allow(unused_imports)]
pub use tools::{require_tool, skip_or_fail};
