//! Discover: find manage.py, the settings, the Python and the SQLite file. Its part is
//! `Migration::discovery`.

use crate::data::django::Discovery;
use crate::state::update::finish;
use crate::state::{Effect, JobId, Migration, Status, Step};

/// Discover's job.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    Ok(Effect::Discover {
        job,
        project: m.options.project.clone(),
        python: m.options.python.clone(),
    })
}

pub(in crate::state) fn discovered(
    m: &mut Migration,
    step: Step,
    d: Discovery,
    fx: &mut Vec<Effect>,
) {
    let summary = d.summary_line();
    m.discovery = Some(d);
    finish(m, step, Status::Done { summary }, fx);
}
