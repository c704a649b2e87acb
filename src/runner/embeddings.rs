//! The embeddings effects of Create schema (find the columns, plan the change as diffs,
//! write it): each a job of `crate::embeddings`, kept out of `Runner::run`.

use super::{Runner, log_to, spawn_job};
use crate::data::privileges::Diagnosis;
use crate::pg::{ConnConfig, Secret};
use crate::state::{Effect, JobEvent};

/// Fix permissions' diagnosis, with the `vector` extension when a column becomes a pgvector
/// column and the app database lacks it.
pub(super) fn with_vector(
    mut d: Diagnosis,
    vector: bool,
    app: &ConnConfig,
    app_pw: Option<&Secret>,
    provider: Option<String>,
) -> anyhow::Result<Diagnosis> {
    if vector {
        d.extension = crate::pg::privileges::vector_need(app, app_pw, provider.as_deref())?;
    }
    Ok(d)
}

impl Runner {
    pub(super) fn embeddings(&mut self, effect: Effect) {
        match effect {
            Effect::FindEmbeddings { job, discovery } => spawn_job(
                &self.tx,
                job,
                "find-embeddings",
                move |tx| match crate::embeddings::find(&discovery) {
                    Ok(found) => {
                        let mut log = log_to(tx, job);
                        crate::embeddings::describe(&found)
                            .into_iter()
                            .for_each(&mut log);
                        let cols = crate::embeddings::columns::columns(&discovery, &found);
                        JobEvent::EmbeddingsFound(cols)
                    }
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                },
            ),
            Effect::PlanEmbeddings {
                job,
                discovery,
                columns,
            } => spawn_job(&self.tx, job, "plan-embeddings", move |_| {
                match crate::embeddings::columns::preview(&discovery, &columns) {
                    Ok(diff) => JobEvent::EmbeddingsPlanned(Box::new(diff)),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                }
            }),
            Effect::ApplyEmbeddings {
                job,
                discovery,
                backup_dir,
                target,
                admin,
                columns,
            } => {
                let (password, admin_password) =
                    (self.password.clone(), self.admin_password.clone());
                spawn_job(&self.tx, job, "apply-embeddings", move |tx| {
                    let mut log = log_to(tx, job);
                    let inputs = crate::embeddings::Inputs {
                        discovery: &discovery,
                        backup_dir: backup_dir.as_deref(),
                        target: Some((&target, password.as_ref())),
                        admin: admin.as_ref().map(|a| (a, admin_password.as_ref())),
                        // The user chose the change on a screen that says it installs it.
                        install: true,
                    };
                    let chosen = crate::embeddings::columns::choice(&columns);
                    let result = crate::embeddings::run(&inputs, &chosen, &mut |event, text| {
                        log(format!("{event}: {text}"))
                    });
                    let choice = crate::data::embeddings::EmbeddingsPlan {
                        columns,
                        ..Default::default()
                    }
                    .summary();
                    match result {
                        Ok(_) => JobEvent::EmbeddingsApplied(choice),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            _ => {}
        }
    }
}
