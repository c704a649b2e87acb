//! The jobs of Create schema: the embeddings change before `migrate`, then `migrate` on
//! PostgreSQL with the default grants it would hand out (Supabase's API roles) asked about
//! first and revoked after.

use super::{Job, Outcome};
use crate::data::privileges::{DefaultGrants, GrantsAnswer};
use crate::data::resume::Record;
use crate::pg::{ConnConfig, Secret};
use crate::resume_check::now_text;
use crate::state::JobEvent;
use anyhow::anyhow;
use std::path::Path;

/// What Create schema runs: migrate's input, the target's password, the grants answer.
pub struct SchemaJob {
    pub input: crate::data::commands::CreateSchemaInput,
    pub password: Option<Secret>,
    pub grants: Option<GrantsAnswer>,
    pub app_roles: Vec<String>,
}

/// `migrate` on the target; default grants asked about before and revoked after; the
/// migrations applied recorded for a resume to check.
pub fn create_schema(job: &Job, s: SchemaJob) -> Outcome {
    let mut log = job.log();
    let target = s.input.target.clone();
    let password = s.password;
    // Before migrate creates anything: would its tables be handed to other roles? Asked
    // once; the answer comes back here.
    let before = match grants_before(&target, password.as_ref(), s.grants, &s.app_roles)? {
        GrantsBefore::Ask(found) => return Ok(JobEvent::DefaultGrantsFound(Box::new(found))),
        GrantsBefore::Revoke(found, before) => Some((found, before)),
        GrantsBefore::Nothing => None,
    };
    let mut r = crate::django::create_schema(s.input, password.clone(), &mut log, job.cancel())?;
    if !r.passed() {
        return Ok(JobEvent::SchemaCreated(Box::new(r)));
    }
    if let Some((found, before)) = before {
        let done = revoke_after(&target, password.as_ref(), &found, &before)?;
        done.sql.iter().cloned().for_each(&mut log);
        r.warnings.push(format!(
            "revoked {}'s default grants to {} on the {} table(s) and {} sequence(s) migrate \
             created (REVOKE in the log)",
            found.role,
            found.grantee_words(),
            done.tables,
            done.sequences
        ));
    }
    // What a resume checks: the migrations migrate applied.
    let applied = target
        .connect(password.as_ref())
        .map_err(|e| e.message)
        .and_then(|mut c| crate::resume_check::applied_migrations(&mut c));
    match applied {
        Ok(applied) => job.record(Record::Schema {
            applied,
            at: now_text(),
        }),
        Err(e) => log(format!(
            "could not read django_migrations back ({e}): a resume will run Create schema again"
        )),
    }
    Ok(JobEvent::SchemaCreated(Box::new(r)))
}

/// What Create schema does about default grants before migrate.
enum GrantsBefore {
    /// None found, or the user keeps them.
    Nothing,
    /// Found and not yet answered: ask.
    Ask(DefaultGrants),
    /// Revoke after migrate: the grants, and the relations of `public` before it.
    Revoke(DefaultGrants, Vec<(String, String)>),
}

fn grants_before(
    target: &ConnConfig,
    password: Option<&Secret>,
    answer: Option<GrantsAnswer>,
    app_roles: &[String],
) -> anyhow::Result<GrantsBefore> {
    if answer == Some(GrantsAnswer::Keep) {
        return Ok(GrantsBefore::Nothing);
    }
    let mut client = target.connect(password).map_err(|e| anyhow!("{e}"))?;
    let Some(found) = crate::pg::default_grants::find(&mut client, app_roles)? else {
        return Ok(GrantsBefore::Nothing);
    };
    Ok(match answer {
        Some(_) => {
            let before = crate::pg::default_grants::relations(&mut client)?;
            GrantsBefore::Revoke(found, before)
        }
        None => GrantsBefore::Ask(found),
    })
}

fn revoke_after(
    target: &ConnConfig,
    password: Option<&Secret>,
    found: &DefaultGrants,
    before: &[(String, String)],
) -> anyhow::Result<crate::pg::default_grants::Revoked> {
    let mut client = target.connect(password).map_err(|e| anyhow!("{e}"))?;
    let after = crate::pg::default_grants::relations(&mut client)?;
    crate::pg::default_grants::revoke_new(&mut client, found, before, &after)
}

/// The SQLite file's embeddings: described in the log, one choice line per column.
pub fn find_embeddings(job: &Job, discovery: &crate::data::django::Discovery) -> Outcome {
    let found = crate::embeddings::find(discovery)?;
    let mut say = job.say();
    for line in crate::embeddings::describe(&found) {
        say(crate::output::Name::Embeddings, &line);
    }
    let cols = crate::embeddings::columns::columns(discovery, &found);
    Ok(JobEvent::EmbeddingsFound(cols))
}

/// The chosen change as diffs, nothing written.
pub fn plan_embeddings(
    discovery: &crate::data::django::Discovery,
    columns: &[crate::data::embeddings::EmbeddingColumn],
) -> Outcome {
    let diff = crate::embeddings::columns::preview(discovery, columns)?;
    Ok(JobEvent::EmbeddingsPlanned(Box::new(diff)))
}

/// What the embeddings change needs.
pub struct EmbeddingsJob {
    pub discovery: Box<crate::data::django::Discovery>,
    pub backup_dir: Option<std::path::PathBuf>,
    pub target: (ConnConfig, Option<Secret>),
    pub admin: Option<(ConnConfig, Option<Secret>)>,
    pub columns: Vec<crate::data::embeddings::EmbeddingColumn>,
    /// pgvector-python may be installed into the project's Python when missing.
    pub install: bool,
}

/// The confirmed pgvector change written into the project (with backups), the extension
/// made.
pub fn apply_embeddings(job: &Job, e: EmbeddingsJob) -> Outcome {
    let inputs = crate::embeddings::Inputs {
        discovery: &e.discovery,
        backup_dir: e.backup_dir.as_deref().map(Path::new),
        target: Some((&e.target.0, e.target.1.as_ref())),
        admin: e.admin.as_ref().map(|(a, pw)| (a, pw.as_ref())),
        install: e.install,
    };
    let chosen = crate::embeddings::columns::choice(&e.columns);
    crate::embeddings::run(&inputs, &chosen, &mut job.say())?;
    let choice = crate::data::embeddings::EmbeddingsPlan {
        columns: e.columns,
        ..Default::default()
    }
    .summary();
    Ok(JobEvent::EmbeddingsApplied(choice))
}
