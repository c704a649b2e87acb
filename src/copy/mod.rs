//! The copy engine: every row from the SQLite file into the PostgreSQL schema Django made.
//!
//! Being built (issue 3). The types below are the contract with the state machine.

mod convert;
mod numeric;
mod progress;
mod report;
mod types;

pub use convert::{Fix, Issue, Zone};
pub use progress::{CopyProgress, TablePhase, TableProgress};
pub use report::{CopyReport, PreflightReport, Problem, TableCheck};
pub use types::PgType;
