//! The embeddings question at the start of Create schema: asked once, when the SQLite file
//! holds embeddings; keep goes straight on to migrate, vector/halfvec make the change first.

use super::*;
use crate::data::embeddings::EmbeddingsChoice;

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

fn found(m: &mut Migration, lines: Vec<String>) -> Vec<Effect> {
    let out = update(m, Msg::Activate);
    let Effect::FindEmbeddings { job, .. } = &out[0] else {
        panic!("looks for embeddings first: {out:?}")
    };
    update(m, Msg::Job(*job, JobEvent::EmbeddingsFound(lines)))
}

#[test]
fn no_embeddings_goes_straight_on_to_migrate_without_asking() {
    let mut m = at_create_schema();
    let out = found(&mut m, vec![]);
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    assert_eq!(m.embeddings, Some(EmbeddingsChoice::Keep));
}

#[test]
fn embeddings_are_asked_about_and_keep_runs_migrate() {
    let mut m = at_create_schema();
    found(
        &mut m,
        vec!["classifier_embedding.vector_json: 114 12-dimension JSON lists".into()],
    );
    let Status::NeedsDecision {
        kind,
        question,
        choices,
    } = m.status(Step::CreateSchema)
    else {
        panic!("{:?}", m.status(Step::CreateSchema))
    };
    assert_eq!(*kind, Question::Embeddings);
    assert!(
        question.contains("classifier_embedding.vector_json"),
        "{question}"
    );
    let keys: Vec<char> = choices.iter().map(|c| c.key).collect();
    assert_eq!(keys, ['k', 'v', 'h']);
    let out = update(&mut m, Msg::Decide(ChoiceId::KeepEmbeddings));
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    // Asked once: a retry of migrate does not ask again.
    assert_eq!(m.embeddings, Some(EmbeddingsChoice::Keep));
}

#[test]
fn halfvec_makes_the_change_then_runs_migrate() {
    let mut m = at_create_schema();
    found(&mut m, vec!["x".into()]);
    let out = update(&mut m, Msg::Decide(ChoiceId::ToHalfVec));
    let Effect::ApplyEmbeddings {
        job,
        choice,
        target,
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(*choice, EmbeddingsChoice::HalfVec);
    assert_eq!(target, &super::target());
    let job = *job;
    assert!(
        m.embeddings.is_none(),
        "decided only once the change is made"
    );
    let out = update(
        &mut m,
        Msg::Job(job, JobEvent::EmbeddingsApplied(EmbeddingsChoice::HalfVec)),
    );
    assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    assert_eq!(m.embeddings, Some(EmbeddingsChoice::HalfVec));
}

#[test]
fn a_failed_change_is_retryable_and_asks_again() {
    let mut m = at_create_schema();
    found(&mut m, vec!["x".into()]);
    let out = update(&mut m, Msg::Decide(ChoiceId::ToVector));
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
    let out = update(&mut m, Msg::Retry);
    assert!(matches!(&out[0], Effect::FindEmbeddings { .. }), "{out:?}");
}
