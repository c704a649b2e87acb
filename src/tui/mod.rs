//! The terminal wizard: a view of the state machine. Being built.

use crate::state::Migration;

/// Run the wizard until the user quits.
pub fn run(_m: Migration, _runner: crate::runner::Runner) -> anyhow::Result<()> {
    anyhow::bail!("the terminal wizard is being built")
}
