//! The copy engine: every row from the SQLite file into the PostgreSQL schema Django made.
//!
//! Being built (issue 3). The types below are the contract with the state machine.

mod progress;
mod report;

pub use progress::{CopyProgress, TableProgress, TablePhase};
pub use report::{CopyReport, PreflightReport, Problem, TableCheck};
