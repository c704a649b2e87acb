//! Embeddings: found when the dry run passed → a choice per column (type and index, the
//! dimension limits enforced with the reason), the end of Dry run → Fix permissions plans
//! the `vector` extension when a column becomes a pgvector column → at Create schema the
//! change is planned and shown as a diff → written only once the user confirms → `migrate`.
//! With every column kept, nothing is planned or written.
//!
//! Why at the dry run: Fix permissions (before Create schema) must know whether the
//! extension is needed, and the choice needs only the SQLite file and the models. A run
//! saved before the dry run asked is asked at Create schema instead (same screen).
//!
//! Invariant: no [`Effect::ApplyEmbeddings`] before the user applied the diff on screen
//! (`ChoiceId::ApplyEmbeddings` on `Question::EmbeddingsDiff`).

use super::dry_run::dry_run_summary;
use crate::data::embeddings::{
    EmbeddingColumn, EmbeddingsChoice, EmbeddingsDiff, EmbeddingsPlan, IndexChoice,
};
use crate::rules;
use crate::state::update::{finish, try_launch};
use crate::state::{ChoiceId, Effect, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};

/// What the run knows of the embeddings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsPart {
    /// The answer once decided (and the change made, if any): Create schema then runs
    /// `migrate`.
    pub choice: Option<EmbeddingsChoice>,
    /// The embeddings found, each column's choice, and the change once planned (the
    /// choice screen and its diff).
    pub plan: Option<EmbeddingsPlan>,
}

impl EmbeddingsPart {
    /// Each column found, with its choice (none before the dry run found them).
    pub fn columns(&self) -> Vec<EmbeddingColumn> {
        self.plan
            .as_ref()
            .map(|p| p.columns.clone())
            .unwrap_or_default()
    }
}

const STEP: Step = Step::CreateSchema;

/// The columns were found: ask per column (choices made before for the same field stay).
pub(in crate::state) fn found(
    m: &mut Migration,
    mut cols: Vec<EmbeddingColumn>,
    fx: &mut Vec<Effect>,
) {
    let step = m.job.map_or(STEP, |(_, s)| s);
    if let Some(old) = &m.embeddings.plan {
        for c in &mut cols {
            if let Some(o) = old.columns.iter().find(|o| o.field == c.field)
                && c.refusal(o.ty, o.index).is_none()
            {
                (c.ty, c.index) = (o.ty, o.index);
            }
        }
    }
    let none = cols.is_empty();
    m.embeddings.plan = Some(EmbeddingsPlan {
        columns: cols,
        ..EmbeddingsPlan::default()
    });
    match (none, step) {
        (true, Step::DryRun) => chosen_at_dry_run(m, fx),
        (true, _) => applied(m, EmbeddingsChoice::Keep, fx),
        (false, step) => ask_columns(m, step, fx),
    }
}

/// The dry run ends once the embeddings are chosen.
fn chosen_at_dry_run(m: &mut Migration, fx: &mut Vec<Effect>) {
    let plan = m.embeddings.plan.as_ref();
    let changed = plan.map_or(0, |p| {
        p.columns
            .iter()
            .filter(|c| c.ty != EmbeddingsChoice::Keep)
            .count()
    });
    if changed == 0 {
        m.embeddings.choice = Some(EmbeddingsChoice::Keep);
    }
    let mut summary = m
        .dry_run
        .report
        .as_ref()
        .map(dry_run_summary)
        .unwrap_or_default();
    if plan.is_some_and(|p| !p.columns.is_empty()) {
        summary.push_str(&match changed {
            0 => "; embeddings kept as they are".to_string(),
            n => format!("; {n} embeddings column(s) to become pgvector columns at Create schema"),
        });
    }
    finish(m, Step::DryRun, Status::Done { summary }, fx);
}

fn ask_columns(m: &mut Migration, step: Step, fx: &mut Vec<Effect>) {
    let n = m.embeddings.plan.as_ref().map_or(0, |p| p.columns.len());
    let (question, choices) = rules::embeddings_question(n);
    finish(
        m,
        step,
        Status::NeedsDecision {
            kind: Question::Embeddings,
            question,
            choices,
        },
        fx,
    );
}

/// The choice screen is up (and no job runs): choices may change.
fn choosing(m: &mut Migration) -> Option<&mut EmbeddingsPlan> {
    let asking = [Step::DryRun, STEP].iter().any(|s| {
        matches!(
            m.status(*s),
            Status::NeedsDecision {
                kind: Question::Embeddings,
                ..
            }
        )
    });
    if !asking || m.job.is_some() {
        return None;
    }
    m.embeddings.plan.as_mut()
}

/// Column `column` becomes `ty`; its index stays when the limits allow, else none. Refused
/// (with the reason kept for the screen) when `ty` itself is not possible.
pub(in crate::state) fn set_type(m: &mut Migration, column: usize, ty: EmbeddingsChoice) {
    let Some(plan) = choosing(m) else { return };
    let Some(c) = plan.columns.get_mut(column) else {
        return;
    };
    let index = c.fitting_index(ty);
    match c.refusal(ty, index) {
        Some(why) => plan.refusal = Some(why),
        None => {
            plan.refusal = (index != c.index && ty != EmbeddingsChoice::Keep).then(|| {
                format!(
                    "{}: {} cannot be indexed with {} at {} dimensions: no index",
                    c.field,
                    ty.word(),
                    c.index.word(),
                    c.dim
                )
            });
            (c.ty, c.index) = (ty, index);
        }
    }
}

/// Column `column` gets `index`; refused (with the reason) beyond the type's limit.
pub(in crate::state) fn set_index(m: &mut Migration, column: usize, index: IndexChoice) {
    let Some(plan) = choosing(m) else { return };
    let Some(c) = plan.columns.get_mut(column) else {
        return;
    };
    match c.refusal(c.ty, index) {
        Some(why) => plan.refusal = Some(why),
        None => {
            plan.refusal = None;
            c.index = index;
        }
    }
}

/// `a` on the choice screen: at the dry run, it ends; at Create schema, all kept → migrate,
/// else plan the change, to show its diff.
pub(in crate::state) fn decide_columns(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    if id != ChoiceId::EmbeddingsChosen {
        return;
    }
    if m.cursor == Step::DryRun {
        chosen_at_dry_run(m, fx);
        return;
    }
    let Some(plan) = &m.embeddings.plan else {
        return;
    };
    if !plan.changes() {
        applied(m, EmbeddingsChoice::Keep, fx);
        return;
    }
    try_launch(
        m,
        STEP,
        "planning the pgvector change",
        None,
        fx,
        |m, job| {
            Ok(Effect::PlanEmbeddings {
                job,
                discovery: Box::new(m.discovery.clone().ok_or("Run Discover first.")?),
                columns: m.embeddings.columns(),
            })
        },
    );
}

/// The change is planned: show it, and ask before writing anything.
pub(in crate::state) fn planned(m: &mut Migration, diff: EmbeddingsDiff, fx: &mut Vec<Effect>) {
    if let Some(plan) = &mut m.embeddings.plan {
        plan.diff = Some(diff);
    }
    let (question, choices) = rules::embeddings_diff_question();
    finish(
        m,
        STEP,
        Status::NeedsDecision {
            kind: Question::EmbeddingsDiff,
            question,
            choices,
        },
        fx,
    );
}

/// On the diff: apply (extension, pgvector-python, files) or go back to the choices.
pub(in crate::state) fn decide_diff(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::BackToChoices => {
            if let Some(plan) = &mut m.embeddings.plan {
                plan.diff = None;
            }
            ask_columns(m, STEP, fx);
        }
        ChoiceId::ApplyEmbeddings => apply(m, fx),
        _ => {}
    }
}

fn apply(m: &mut Migration, fx: &mut Vec<Effect>) {
    try_launch(m, STEP, "making the pgvector change", None, fx, |m, job| {
        let connect_first = || "Connect to PostgreSQL first (step Connect).".to_string();
        Ok(Effect::ApplyEmbeddings {
            job,
            discovery: Box::new(m.discovery.clone().ok_or_else(connect_first)?),
            backup_dir: m.backup.report.as_ref().map(|b| b.backup_dir.clone()),
            target: m.connect.target.clone().ok_or_else(connect_first)?,
            admin: m.permissions.admin.clone(),
            columns: m.embeddings.columns(),
        })
    });
}

/// Every column kept (Fix permissions' way out when the server cannot make the vector
/// extension): nothing to plan, no extension to ask for.
pub(in crate::state) fn keep_all(m: &mut Migration) {
    if let Some(plan) = &mut m.embeddings.plan {
        for c in &mut plan.columns {
            c.ty = EmbeddingsChoice::Keep;
        }
        plan.refusal = None;
        plan.diff = None;
    }
    m.embeddings.choice = Some(EmbeddingsChoice::Keep);
}

/// The embeddings are decided (and changed, if asked): on to `migrate`.
pub(in crate::state) fn applied(m: &mut Migration, choice: EmbeddingsChoice, fx: &mut Vec<Effect>) {
    m.embeddings.choice = Some(choice);
    m.job = None;
    crate::state::update::start(m, STEP, fx);
}
