//! The terminal wizard: a view of the state machine. Being built.

use crate::pg::Secret;
use crate::state::{Migration, Msg};
use std::sync::mpsc::Receiver;

/// What the Connect form starts with (the demo fills it). The password stays in memory.
#[derive(Clone, Debug, Default)]
pub struct Prefill {
    /// A connection URL without password.
    pub url: Option<String>,
    pub password: Option<Secret>,
}

/// Run the wizard until the user quits.
pub fn run(
    m: Migration,
    _runner: crate::runner::Runner,
    _rx: Receiver<Msg>,
    _prefill: Prefill,
) -> anyhow::Result<Migration> {
    let _ = m;
    anyhow::bail!("the terminal wizard is being built")
}
