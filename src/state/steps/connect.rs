//! Connect: the target the user chose, what the server said, the pool in front of it. A
//! new target reopens the steps after Connect and forgets their parts whole.

use crate::data::pg::{ConnConfig, ConnectError, Field, PoolRoute, ServerInfo};
use crate::state::update::{self, finish};
use crate::state::{Effect, JobId, Migration, Status, Step};
use serde::{Deserialize, Serialize};

/// What Connect knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectPart {
    /// The connection the user chose; the password is never part of it on disk.
    pub target: Option<ConnConfig>,
    pub server: Option<ServerInfo>,
    /// The connection pool Connect found in front of the target, and the direct
    /// connection the schema and the copy use instead ([`crate::state::Migration::work_target`]).
    #[serde(default)]
    pub pool: Option<PoolRoute>,
    /// The form field the last failed Connect points at (cleared by a new attempt).
    #[serde(default)]
    pub field: Option<Field>,
}

/// The user submitted the connection form with a direct connection (the target is a pool).
pub(in crate::state) fn submit_direct(
    m: &mut Migration,
    target: ConnConfig,
    direct: ConnConfig,
    fx: &mut Vec<Effect>,
) {
    if m.job.is_none() && m.may_start(Step::Connect) {
        m.options.direct_url = Some(direct);
        submit(m, target, fx);
    }
}

/// The user submitted the connection form: connect (again).
pub(in crate::state) fn submit(m: &mut Migration, config: ConnConfig, fx: &mut Vec<Effect>) {
    if m.job.is_some() || !m.may_start(Step::Connect) {
        return;
    }
    if m.connect.target.as_ref().is_some_and(|old| *old != config) {
        // Another target: what the later steps did was for the old one.
        reopen_after_connect(m);
    }
    // A new attempt: what the last one learnt (server, pool, the field it blamed) goes.
    m.connect = ConnectPart {
        target: Some(config),
        ..ConnectPart::default()
    };
    update::start(m, Step::Connect, fx);
}

/// The steps after Connect back to pending, and what they learnt about the old target
/// forgotten, whole parts at a time (the backup, reset and dry run are about the project
/// and stay; so do the embeddings choice and the settings style, which are the user's).
fn reopen_after_connect(m: &mut Migration) {
    for step in REOPENED_BY_CONNECT {
        m.step_mut(step).status = Status::Pending;
        m.reset_part(step);
    }
}

/// The steps whose work was about the target: a new target reopens them.
pub(in crate::state) const REOPENED_BY_CONNECT: [Step; 6] = [
    Step::FixPermissions,
    Step::CreateSchema,
    Step::CopyRows,
    Step::Cutover,
    Step::UpdateSettings,
    Step::Done,
];

/// Connect's job.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    let config = m
        .connect
        .target
        .clone()
        .ok_or("Fill in the connection form first (host, database, user).")?;
    Ok(Effect::Connect {
        job,
        config,
        direct: m.options.direct_url.clone(),
        admin: m.permissions.admin.clone(),
    })
}

/// The server answered: Connect is done.
pub(in crate::state) fn connected(
    m: &mut Migration,
    step: Step,
    info: ServerInfo,
    fx: &mut Vec<Effect>,
) {
    let mut summary = info.summary_line();
    if let Some(p) = &m.connect.pool {
        summary.push_str(&format!(
            "; through a connection pool ({}): the schema and the copy go over the \
             direct connection {} ({}), the app's settings keep the pool",
            p.reason,
            p.direct.display_url(),
            p.direct_from
        ));
    }
    m.connect.server = Some(info);
    finish(m, step, Status::Done { summary }, fx);
}

/// A pool is in front of the target (sent before `Connected`).
pub(in crate::state) fn pool_routed(m: &mut Migration, route: PoolRoute) {
    m.connect.pool = Some(route);
}

/// The connection failed: the message, and the form field it points at.
pub(in crate::state) fn failed(
    m: &mut Migration,
    step: Step,
    e: ConnectError,
    fx: &mut Vec<Effect>,
) {
    m.connect.field = Some(e.field);
    let message = e.render(m.surface);
    finish(m, step, Status::Failed { message }, fx)
}

/// The user stopped the attempt before the server answered.
pub(in crate::state) fn stopped(m: &mut Migration, step: Step, fx: &mut Vec<Effect>) {
    let message = format!(
        "You stopped the connection attempt before the server answered. {}",
        m.surface.connect_again()
    );
    finish(m, step, Status::Failed { message }, fx)
}
