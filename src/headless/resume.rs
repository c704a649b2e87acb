//! Resuming a saved run of the project.

use super::perform;
use crate::output::{Name, Printer};
use crate::runner::Runner;
use crate::state::{self, Effect, Migration, Msg};
use anyhow::{Context, Result};
use std::sync::mpsc;

/// Resume a saved run: check that what its done steps rest on still stands (reopening what
/// does not, each with its reason), then apply the flags that differ from the saved run.
/// False (after saying which flag and why) when a flag is refused: nothing was changed.
pub(super) fn resume(
    m: &mut Migration,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
    printer: &mut Printer<'_>,
    flags: &state::resume::Flags,
) -> Result<bool> {
    let fx = state::update(m, Msg::Resume(true));
    perform(m, runner, fx)?;
    while m.job.is_some() {
        let msg = rx
            .recv()
            .context("the resume check stopped without reporting")?;
        let fx = state::update(m, msg);
        perform(m, runner, fx)?;
    }
    for f in &m.resume_findings {
        let event = if f.holds {
            Name::Checked
        } else {
            Name::Reopened
        };
        printer.say(f.step, event, &f.text);
    }
    let outcomes = state::resume::apply_flags(m, flags);
    let mut refused = false;
    for o in &outcomes {
        match o {
            state::resume::FlagOutcome::Applied {
                flag,
                text,
                reopened,
            } => {
                let mut line = format!("{flag}: applied: {text}");
                if !reopened.is_empty() {
                    let names: Vec<&str> = reopened.iter().map(|s| s.title()).collect();
                    line.push_str(&format!("; reopened {}", names.join(", ")));
                }
                printer.say(m.cursor, Name::Flag, &line);
            }
            state::resume::FlagOutcome::Refused { flag, text } => {
                refused = true;
                printer.say(m.cursor, Name::Refused, &format!("{flag}: {text}"));
            }
        }
    }
    if !outcomes.is_empty() {
        let fx = vec![Effect::Save];
        perform(m, runner, fx)?;
    }
    Ok(!refused)
}
