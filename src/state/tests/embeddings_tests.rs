//! The embeddings at the start of Create schema: found → a choice per column (type and
//! index, the dimension limits refused with the reason) → the change planned and shown as
//! a diff → written only after apply → migrate. All kept: straight on to migrate.

use super::*;
use crate::data::embeddings::{EmbeddingColumn, EmbeddingsChoice, EmbeddingsDiff, IndexChoice};

/// At Create schema, nothing decided about embeddings yet.
fn at_create_schema() -> Migration {
    let mut m = at_copy();
    for s in Step::ALL {
        if s >= Step::CreateSchema {
            m.step_mut(s).status = Status::Pending;
        }
    }
    update(&mut m, Msg::Select(Step::CreateSchema));
    m
}

fn column(field: &str, dim: usize) -> EmbeddingColumn {
    EmbeddingColumn {
        field: field.into(),
        dim,
        rows: 114,
        precision_vector: "exact".into(),
        precision_half: "rel err ≤4.9e-4".into(),
        ..EmbeddingColumn::default()
    }
}

fn found(m: &mut Migration, cols: Vec<EmbeddingColumn>) -> Vec<Effect> {
    let out = update(m, Msg::Activate);
    let Effect::FindEmbeddings { job, .. } = &out[0] else {
        panic!("looks for embeddings first: {out:?}")
    };
    update(m, Msg::Job(*job, JobEvent::EmbeddingsFound(cols)))
}

fn choice_of(m: &Migration, i: usize) -> (EmbeddingsChoice, IndexChoice) {
    let c = &m.embeddings.plan.as_ref().unwrap().columns[i];
    (c.ty, c.index)
}

fn refusal(m: &Migration) -> Option<String> {
    m.embeddings.plan.as_ref().unwrap().refusal.clone()
}

/// Two columns found and on screen.
fn asked() -> Migration {
    let mut m = at_create_schema();
    found(
        &mut m,
        vec![
            column("classifier.Embedding.vector_json", 384),
            column("classifier.Document.vector_blob", 3072),
        ],
    );
    m
}

#[test]
fn no_embeddings_goes_straight_on_to_migrate_without_asking() {
    let mut m = at_create_schema();
    let out = found(&mut m, vec![]);
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::Keep));
}

#[test]
fn embeddings_found_are_asked_about_per_column_all_kept_at_first() {
    let m = asked();
    let Status::NeedsDecision { kind, choices, .. } = m.status(Step::CreateSchema) else {
        panic!("{:?}", m.status(Step::CreateSchema))
    };
    assert_eq!(*kind, Question::Embeddings);
    let keys: Vec<char> = choices.iter().map(|c| c.key).collect();
    assert_eq!(keys, ['a']);
    assert_eq!(
        choice_of(&m, 0),
        (EmbeddingsChoice::Keep, IndexChoice::HnswCosine)
    );
    assert_eq!(choice_of(&m, 1).0, EmbeddingsChoice::Keep);
}

#[test]
fn all_kept_runs_migrate_and_is_not_asked_again() {
    let mut m = asked();
    let out = update(&mut m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::Keep));
}

#[test]
fn each_column_gets_its_own_type_and_index() {
    let mut m = asked();
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Vector,
        },
    );
    update(
        &mut m,
        Msg::EmbeddingIndex {
            column: 0,
            index: IndexChoice::HnswL2,
        },
    );
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 1,
            ty: EmbeddingsChoice::HalfVec,
        },
    );
    assert_eq!(
        choice_of(&m, 0),
        (EmbeddingsChoice::Vector, IndexChoice::HnswL2)
    );
    assert_eq!(
        choice_of(&m, 1),
        (EmbeddingsChoice::HalfVec, IndexChoice::HnswCosine)
    );
    assert_eq!(refusal(&m), None);
}

#[test]
fn an_index_beyond_the_limit_is_refused_with_the_reason() {
    let mut m = asked();
    // 3,072 dimensions: vector holds it, but an HNSW index on vector only up to 2,000.
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 1,
            ty: EmbeddingsChoice::Vector,
        },
    );
    assert_eq!(
        choice_of(&m, 1),
        (EmbeddingsChoice::Vector, IndexChoice::None),
        "the index falls to none, said so"
    );
    assert!(
        refusal(&m).unwrap().contains("no index"),
        "{:?}",
        refusal(&m)
    );
    update(
        &mut m,
        Msg::EmbeddingIndex {
            column: 1,
            index: IndexChoice::HnswCosine,
        },
    );
    assert_eq!(choice_of(&m, 1).1, IndexChoice::None, "refused");
    let why = refusal(&m).unwrap();
    assert!(
        why.contains("at most 2000") && why.contains("halfvec"),
        "{why}"
    );
    // halfvec indexes up to 4,000: allowed.
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 1,
            ty: EmbeddingsChoice::HalfVec,
        },
    );
    update(
        &mut m,
        Msg::EmbeddingIndex {
            column: 1,
            index: IndexChoice::HnswCosine,
        },
    );
    assert_eq!(
        choice_of(&m, 1),
        (EmbeddingsChoice::HalfVec, IndexChoice::HnswCosine)
    );
    assert_eq!(refusal(&m), None);
}

#[test]
fn beyond_sixteen_thousand_dimensions_only_keep_is_possible() {
    let mut m = at_create_schema();
    found(&mut m, vec![column("a.B.c", 16_001)]);
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::HalfVec,
        },
    );
    assert_eq!(choice_of(&m, 0).0, EmbeddingsChoice::Keep);
    assert!(refusal(&m).unwrap().contains("16000"), "{:?}", refusal(&m));
    let mut m = at_create_schema();
    let mut c = column("a.B.c", 12);
    c.keep_only = Some("no Django model field holds it".into());
    found(&mut m, vec![c]);
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Vector,
        },
    );
    assert_eq!(choice_of(&m, 0).0, EmbeddingsChoice::Keep);
    assert!(refusal(&m).unwrap().contains("no Django model field"));
}

/// Vector chosen, `a`: the change is planned, not written.
fn planned(m: &mut Migration) -> Vec<Effect> {
    update(
        m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Vector,
        },
    );
    let out = update(m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    let Effect::PlanEmbeddings { job, columns, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(columns[0].ty, EmbeddingsChoice::Vector);
    let job = *job;
    let diff = EmbeddingsDiff {
        files: vec![(
            "classifier/models.py".into(),
            crate::django::settings_rewrite::diff_texts("a\n", "b\n", "models.py"),
        )],
        notes: vec![],
    };
    update(
        m,
        Msg::Job(job, JobEvent::EmbeddingsPlanned(Box::new(diff))),
    )
}

fn applies(fx: &[Effect]) -> bool {
    fx.iter()
        .any(|e| matches!(e, Effect::ApplyEmbeddings { .. }))
}

#[test]
fn the_change_is_shown_as_a_diff_and_nothing_is_applied_before_the_confirm() {
    let mut m = asked();
    let out = planned(&mut m);
    assert!(!applies(&out), "{out:?}");
    let Status::NeedsDecision { kind, choices, .. } = m.status(Step::CreateSchema) else {
        panic!()
    };
    assert_eq!(*kind, Question::EmbeddingsDiff);
    let keys: Vec<char> = choices.iter().map(|c| c.key).collect();
    assert_eq!(keys, ['a', 'b']);
    assert!(m.embeddings.plan.as_ref().unwrap().diff.is_some());
    // Choices cannot change under the diff, and the choice screen's answer does nothing.
    let out = update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Keep,
        },
    );
    assert!(out.is_empty() && choice_of(&m, 0).0 == EmbeddingsChoice::Vector);
    let out = update(&mut m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    assert!(!applies(&out), "{out:?}");
    assert_eq!(m.embeddings.choice, None, "not decided before the confirm");
}

#[test]
fn going_back_from_the_diff_keeps_the_choices_and_writes_nothing() {
    let mut m = asked();
    planned(&mut m);
    let out = update(&mut m, Msg::Decide(ChoiceId::BackToChoices));
    assert!(!applies(&out), "{out:?}");
    assert!(matches!(
        m.status(Step::CreateSchema),
        Status::NeedsDecision {
            kind: Question::Embeddings,
            ..
        }
    ));
    assert_eq!(choice_of(&m, 0).0, EmbeddingsChoice::Vector);
    assert!(m.embeddings.plan.as_ref().unwrap().diff.is_none());
}

#[test]
fn apply_makes_the_change_then_runs_migrate() {
    let mut m = asked();
    planned(&mut m);
    let out = update(&mut m, Msg::Decide(ChoiceId::ApplyEmbeddings));
    let Effect::ApplyEmbeddings {
        job,
        columns,
        target,
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(columns[0].ty, EmbeddingsChoice::Vector);
    assert_eq!(columns[1].ty, EmbeddingsChoice::Keep);
    assert_eq!(target, &super::target());
    let job = *job;
    assert!(
        m.embeddings.choice.is_none(),
        "decided only once the change is made"
    );
    let out = update(
        &mut m,
        Msg::Job(job, JobEvent::EmbeddingsApplied(EmbeddingsChoice::Vector)),
    );
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::Vector));
}

#[test]
fn a_failed_change_is_retryable_and_asks_again_with_the_choices_kept() {
    let mut m = asked();
    planned(&mut m);
    let out = update(&mut m, Msg::Decide(ChoiceId::ApplyEmbeddings));
    let Effect::ApplyEmbeddings { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    update(
        &mut m,
        Msg::Job(
            *job,
            JobEvent::Failed("the vector extension is not installed".into()),
        ),
    );
    assert!(matches!(
        m.status(Step::CreateSchema),
        Status::Failed { .. }
    ));
    // The retry plans the same change again and shows its diff: nothing written yet.
    let out = update(&mut m, Msg::Retry);
    let Effect::PlanEmbeddings { columns, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        columns[0].ty,
        EmbeddingsChoice::Vector,
        "the choices are kept"
    );
    assert!(!applies(&out));
}

fn passed_dry_run() -> crate::data::commands::DryRunReport {
    use crate::data::commands::{CommandOutcome, CommandStatus, DryRunReport};
    let ok = CommandOutcome {
        display: "python manage.py migrate".into(),
        status: CommandStatus::Succeeded,
        lines: vec![],
        omitted_lines: 0,
        duration_ms: 10,
    };
    DryRunReport {
        makemigrations: ok.clone(),
        drifted_apps: vec![],
        migrate: Some(ok),
        schema: None,
        schema_error: None,
    }
}

/// The choice is made when the dry run passed, so that Fix permissions, before Create
/// schema, plans the vector extension; Create schema then shows the diff first.
#[test]
fn chosen_at_the_dry_run_then_fix_permissions_wants_the_extension_then_the_diff() {
    let mut m = at_create_schema();
    for s in [Step::DryRun, Step::FixPermissions] {
        m.step_mut(s).status = Status::Pending;
    }
    update(&mut m, Msg::Select(Step::DryRun));
    let out = update(&mut m, Msg::Activate);
    let Effect::DryRun { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let out = update(
        &mut m,
        Msg::Job(*job, JobEvent::DryRunFinished(Box::new(passed_dry_run()))),
    );
    let Effect::FindEmbeddings { job, .. } = &out[0] else {
        panic!("the dry run passed: embeddings are looked for: {out:?}")
    };
    assert!(matches!(m.status(Step::DryRun), Status::Running { .. }));
    update(
        &mut m,
        Msg::Job(
            *job,
            JobEvent::EmbeddingsFound(vec![column("classifier.Embedding.vector_json", 384)]),
        ),
    );
    assert!(matches!(
        m.status(Step::DryRun),
        Status::NeedsDecision {
            kind: Question::Embeddings,
            ..
        }
    ));
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Vector,
        },
    );
    let out = update(&mut m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    assert!(!applies(&out));
    let Status::Done { summary } = m.status(Step::DryRun) else {
        panic!("{:?}", m.status(Step::DryRun))
    };
    assert!(
        summary.contains("1 embeddings column(s) to become pgvector"),
        "{summary}"
    );
    assert_eq!(
        m.embeddings.choice, None,
        "the change is made at Create schema"
    );

    update(&mut m, Msg::Select(Step::FixPermissions));
    let out = update(&mut m, Msg::Activate);
    let Effect::Diagnose { vector, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert!(*vector, "Fix permissions looks for the vector extension");
    m.step_mut(Step::FixPermissions).status = Status::Done {
        summary: "ok".into(),
    };
    m.job = None;

    update(&mut m, Msg::Select(Step::CreateSchema));
    let out = update(&mut m, Msg::Activate);
    let Effect::PlanEmbeddings { columns, .. } = &out[0] else {
        panic!("Create schema plans the change first: {out:?}")
    };
    assert_eq!(columns[0].ty, EmbeddingsChoice::Vector);
}

#[test]
fn all_kept_at_the_dry_run_needs_no_extension_and_migrate_runs_at_once() {
    let mut m = at_create_schema();
    m.step_mut(Step::DryRun).status = Status::Pending;
    update(&mut m, Msg::Select(Step::DryRun));
    let out = update(&mut m, Msg::Activate);
    let Effect::DryRun { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let out = update(
        &mut m,
        Msg::Job(*job, JobEvent::DryRunFinished(Box::new(passed_dry_run()))),
    );
    let Effect::FindEmbeddings { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    update(
        &mut m,
        Msg::Job(*job, JobEvent::EmbeddingsFound(vec![column("a.B.c", 12)])),
    );
    update(&mut m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::Keep));
    update(&mut m, Msg::Select(Step::CreateSchema));
    let out = update(&mut m, Msg::Activate);
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
}

/// The server cannot make the vector extension: Fix permissions offers `e`, which keeps
/// every column and diagnoses again without the extension (so the recipes no longer
/// include it).
#[test]
fn fix_permissions_offers_keeping_the_embeddings_when_the_extension_cannot_be_made() {
    use crate::data::privileges::{ExtensionNeed, RecipeOptions};
    use crate::pg::privileges::{self, tests as fx};
    let mut m = at_create_schema();
    for s in [Step::DryRun, Step::FixPermissions] {
        m.step_mut(s).status = Status::Pending;
    }
    update(&mut m, Msg::Select(Step::DryRun));
    let out = update(&mut m, Msg::Activate);
    let Effect::DryRun { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let out = update(
        &mut m,
        Msg::Job(*job, JobEvent::DryRunFinished(Box::new(passed_dry_run()))),
    );
    let Effect::FindEmbeddings { job, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let cols = vec![column("classifier.Embedding.vector_json", 384)];
    update(&mut m, Msg::Job(*job, JobEvent::EmbeddingsFound(cols)));
    update(
        &mut m,
        Msg::EmbeddingType {
            column: 0,
            ty: EmbeddingsChoice::Vector,
        },
    );
    update(&mut m, Msg::Decide(ChoiceId::EmbeddingsChosen));
    update(&mut m, Msg::Select(Step::FixPermissions));
    let out = update(&mut m, Msg::Activate);
    let Effect::Diagnose { job, vector, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert!(*vector);
    let mut d = fx::diagnosis(fx::app(), None);
    d.extension = Some(ExtensionNeed {
        name: "vector".into(),
        sql: "CREATE EXTENSION IF NOT EXISTS vector".into(),
        available: false,
        rule: "a superuser creates it".into(),
    });
    let mut recipes = privileges::recipes(&d, &RecipeOptions::default());
    privileges::add_to_recipes(d.extension.as_ref().unwrap(), &mut recipes);
    update(
        &mut m,
        Msg::Job(*job, JobEvent::Diagnosed(Box::new(d), recipes)),
    );
    let Status::NeedsDecision { choices, .. } = m.status(Step::FixPermissions) else {
        panic!("{:?}", m.status(Step::FixPermissions))
    };
    let keep = choices
        .iter()
        .find(|c| c.id == ChoiceId::KeepEmbeddings)
        .expect("a way out: keep the embeddings");
    assert_eq!(keep.key, 'e');

    let out = update(&mut m, Msg::Decide(ChoiceId::KeepEmbeddings));
    let Effect::Diagnose { vector, .. } = &out[0] else {
        panic!("diagnosed again: {out:?}")
    };
    assert!(!*vector, "no extension asked for once every column is kept");
    assert_eq!(choice_of(&m, 0).0, EmbeddingsChoice::Keep);
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::Keep));
}
