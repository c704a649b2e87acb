//! The jobs on the target server: Connect and Fix permissions.

use super::{Job, Outcome};
use crate::data::privileges::RecipeOptions;
use crate::data::resume::Record;
use crate::pg::privileges;
use crate::pg::{ConnConfig, Secret};
use crate::resume_check::now_text;
use crate::state::JobEvent;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Connect (cancellable by Esc), route around a connection pool, and describe the server.
pub fn connect(
    job: &Job,
    config: &ConnConfig,
    direct: Option<&ConnConfig>,
    admin: Option<&ConnConfig>,
    password: Option<&Secret>,
) -> Outcome {
    let cancel = job.cancel();
    let client = match config.connect_until(password, "", Some(&cancel)) {
        Ok(client) => client,
        // The state machine words it for the surface (wizard: the form and Enter).
        Err(_) if cancel.load(Ordering::SeqCst) => return Ok(JobEvent::ConnectStopped),
        Err(e) => return Ok(JobEvent::ConnectFailed(e)),
    };
    let mut client = client;
    match crate::pg::pool_route::route(config, direct, admin, password, &mut client) {
        Err(e) => Ok(JobEvent::ConnectFailed(e)),
        Ok(routed) => connected(job, client, routed, &config.host),
    }
}

/// Connect's result: what a resume checks (the target as given: the same server, database,
/// role?), the pool and its direct connection when there is one, then the description of
/// the connection the schema and the copy will use.
fn connected(
    job: &Job,
    mut client: postgres::Client,
    routed: Option<(crate::data::pg::PoolRoute, postgres::Client)>,
    host: &str,
) -> Outcome {
    // Unreadable, the identity is not recorded, and a resume redoes Connect rather than
    // trust it.
    if let Ok(identity) = crate::resume_check::target_identity(&mut client) {
        let at = now_text();
        job.record(Record::Target { identity, at });
    }
    let timeouts = crate::pg::timeouts(&mut client);
    let mut client = match routed {
        Some((route, direct)) => {
            job.send(JobEvent::PoolRouted(Box::new(route)));
            direct
        }
        None => client,
    };
    let mut info = crate::pg::describe(&mut client)?;
    info.provider = crate::pg::provider::recognise(&mut client, host);
    info.timeouts = timeouts;
    Ok(JobEvent::Connected(Box::new(info)))
}

/// What Fix permissions diagnoses: the app role (and the admin, when known) in `schema`;
/// with `vector`, the `vector` extension too (a column becomes a pgvector column), with
/// the rule of `provider`.
pub struct DiagnoseJob {
    pub app: (ConnConfig, Option<Secret>),
    pub admin: Option<(ConnConfig, Option<Secret>)>,
    pub schema: String,
    pub vector: bool,
    pub provider: Option<String>,
}

/// Fix permissions: what the app role lacks, and the recipes that would give it.
pub fn diagnose(job: &Job, w: DiagnoseJob) -> Outcome {
    let (app, app_pw) = (&w.app.0, w.app.1.as_ref());
    let admin = w.admin.as_ref().map(|(a, pw)| (a, pw.as_ref()));
    let mut d = privileges::diagnose(app, app_pw, admin, &w.schema, &mut job.log())?;
    if w.vector {
        d.extension = privileges::vector_need(app, app_pw, w.provider.as_deref())?;
    }
    let options = RecipeOptions {
        admin_role: d
            .admin
            .as_ref()
            .map_or_else(|| "doadmin".into(), |a| a.role.clone()),
        ..RecipeOptions::default()
    };
    let mut recipes = privileges::recipes(&d, &options);
    if let Some(need) = &d.extension {
        privileges::add_to_recipes(need, &mut recipes);
    }
    Ok(JobEvent::Diagnosed(Box::new(d), recipes))
}

/// Run a recipe as the admin, then check it as the app role.
pub fn apply_recipe(
    job: &Job,
    recipe: &crate::data::privileges::Recipe,
    app: (&ConnConfig, Option<&Secret>),
    admin: (&ConnConfig, Option<&Secret>),
) -> Outcome {
    let r = privileges::apply(recipe, app.0, app.1, admin.0, admin.1, &mut job.log())?;
    Ok(JobEvent::Applied(Box::new(r)))
}

/// The SQL for a DBA, written to a file.
pub fn save_dba_script(
    recipe: &crate::data::privileges::Recipe,
    diagnosis: &crate::data::privileges::Diagnosis,
    app: &ConnConfig,
    path: &Path,
) -> Outcome {
    let script = privileges::dba_script(recipe, diagnosis, app, path);
    crate::atomic::write(path, script.as_bytes())?;
    Ok(JobEvent::DbaScriptSaved(path.to_path_buf()))
}
