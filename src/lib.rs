//! dj2pg: move a Django project from SQLite to PostgreSQL without losing a row.
//!
//! The crate is split the way the design card splits the product:
//! - [`state`]: the pure migration state machine (no IO), and its persistence.
//! - [`django`]: discovery and introspection of a Django project.
//! - [`backup`]: SQLite backups and migration archives.
//! - [`pg`]: PostgreSQL connection settings and TLS (the throwaway clusters of the demo and
//!   the tests are the `dj2pg-tempcluster` crate, behind the `demo` feature).
//! - [`copy`]: the copy engine (plan, conversions, preflight, COPY, verification).
//! - [`tui`]: the terminal wizard, a view of the state machine.
//! - [`cli`] and [`headless`]: the command line and the terminal-free runner; [`output`]:
//!   the events both print (text, or versioned JSON lines).
#![forbid(unsafe_code)]

pub mod assets;
pub mod atomic;
pub mod backup;
pub mod cli;
pub mod copy;
pub mod data;
#[cfg(feature = "demo")]
pub mod demo;
pub mod django;
pub mod embeddings;
pub mod headless;
pub mod interrupt;
pub mod jobs;
pub mod output;
pub mod pg;
pub mod resume_check;
pub mod rules;
pub mod runner;
pub mod shell;
pub mod state;
pub mod store;
pub mod surface;
pub mod tui;
pub mod units;
pub mod wizard;
