//! Screen snapshots (80x24) of Create schema's embeddings screens: the choice per column
//! (driven with the keys a user presses, a refused index explained) and the diff of the
//! project change before anything is written. The shared helpers are in `tui_common`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dj2pg::data::commands::{CommandOutcome, CommandStatus, DryRunReport};
use dj2pg::data::embeddings::{EmbeddingColumn, EmbeddingsChoice, EmbeddingsDiff, IndexChoice};
use dj2pg::django::settings_rewrite::diff_texts;
use dj2pg::state::{self, Effect, JobEvent, Migration, Msg, Status, Step};
use dj2pg::tui::{UiState, handle_key};

mod tui_common;
use tui_common::*;

fn column(field: &str, dim: usize, rows: u64, nulls: u64, half: &str) -> EmbeddingColumn {
    EmbeddingColumn {
        field: field.into(),
        dim,
        rows,
        nulls,
        precision_vector: "exact".into(),
        precision_half: half.into(),
        ..EmbeddingColumn::default()
    }
}

fn cols() -> Vec<EmbeddingColumn> {
    vec![
        column(
            "classifier.Embedding.vector_json",
            384,
            2000,
            0,
            "rel err ≤4.9e-4",
        ),
        column(
            "classifier.Document.vector_blob",
            3072,
            2000,
            12,
            "rel err ≤4.9e-4",
        ),
    ]
}

/// The dry run passed and found two embeddings columns: the choice is on screen.
fn asked() -> Migration {
    let mut m = connected();
    for s in &Step::ALL[..Step::DryRun.index()] {
        if !m.status(*s).lets_next_start() {
            m.step_mut(*s).status = Status::Done {
                summary: "ok".into(),
            };
        }
    }
    m.step_mut(Step::DryRun).status = Status::Pending;
    m.cursor = Step::DryRun;
    let out = state::update(&mut m, Msg::Activate);
    let Some(Effect::DryRun { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let ok = CommandOutcome {
        display: "python manage.py migrate".into(),
        status: CommandStatus::Succeeded,
        lines: vec![],
        omitted_lines: 0,
        duration_ms: 10,
    };
    let report = DryRunReport {
        makemigrations: ok.clone(),
        drifted_apps: vec![],
        migrate: Some(ok),
        schema: None,
        schema_error: None,
    };
    let out = state::update(
        &mut m,
        Msg::Job(*job, JobEvent::DryRunFinished(Box::new(report))),
    );
    let Some(Effect::FindEmbeddings { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    state::update(&mut m, Msg::Job(*job, JobEvent::EmbeddingsFound(cols())));
    m
}

/// At Create schema, asked there (a run saved before the dry run asked).
fn asked_at_create_schema() -> Migration {
    let mut m = connected();
    for s in &Step::ALL[..Step::CreateSchema.index()] {
        if !m.status(*s).lets_next_start() {
            m.step_mut(*s).status = Status::Done {
                summary: "ok".into(),
            };
        }
    }
    m.cursor = Step::CreateSchema;
    let out = state::update(&mut m, Msg::Activate);
    let Some(Effect::FindEmbeddings { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    state::update(&mut m, Msg::Job(*job, JobEvent::EmbeddingsFound(cols())));
    m
}

fn press(m: &mut Migration, ui: &mut UiState, code: KeyCode) {
    if let Some(msg) = handle_key(m, ui, KeyEvent::new(code, KeyModifiers::NONE)) {
        state::update(m, msg);
    }
}

#[test]
fn embeddings_choice_per_column_with_a_refused_index() {
    let mut m = asked();
    let mut ui = UiState::default();
    press(&mut m, &mut ui, KeyCode::Char('v')); // first column: vector, HNSW cosine
    press(&mut m, &mut ui, KeyCode::Down);
    press(&mut m, &mut ui, KeyCode::Char('v')); // 3,072 dims: vector, index refused
    press(&mut m, &mut ui, KeyCode::Char('c'));
    let c = &m.embeddings.plan.as_ref().unwrap().columns;
    assert_eq!(
        (c[0].ty, c[0].index),
        (EmbeddingsChoice::Vector, IndexChoice::HnswCosine)
    );
    assert_eq!(
        (c[1].ty, c[1].index),
        (EmbeddingsChoice::Vector, IndexChoice::None)
    );
    insta::assert_snapshot!(snap(&m, &ui));
}

#[test]
fn embeddings_diff_before_anything_is_written() {
    let mut m = asked_at_create_schema();
    let mut ui = UiState::default();
    press(&mut m, &mut ui, KeyCode::Char('v'));
    let out = state::update(
        &mut m,
        Msg::Decide(dj2pg::state::ChoiceId::EmbeddingsChosen),
    );
    let Some(Effect::PlanEmbeddings { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let models_old = "class Embedding(models.Model):\n    text = models.TextField()\n    vector_json = models.JSONField()\n";
    let models_new = "from pgvector.django import VectorField\n\nclass Embedding(models.Model):\n    text = models.TextField()\n    vector_json = VectorField(dimensions=384)\n";
    let diff = EmbeddingsDiff {
        files: vec![
            (
                "classifier/models.py".into(),
                diff_texts(models_old, models_new, "classifier/models.py"),
            ),
            (
                "requirements.txt".into(),
                diff_texts(
                    "Django>=4.2\n",
                    "Django>=4.2\npgvector>=0.4\n",
                    "requirements.txt",
                ),
            ),
        ],
        notes: vec!["classifier.Document.vector_blob: kept as BinaryField".into()],
    };
    state::update(
        &mut m,
        Msg::Job(*job, JobEvent::EmbeddingsPlanned(Box::new(diff))),
    );
    insta::assert_snapshot!(snap(&m, &ui));

    // Applied, then migrate ran: the done screen says what became pgvector and what was
    // written (and how to put it back).
    let out = state::update(&mut m, Msg::Decide(dj2pg::state::ChoiceId::ApplyEmbeddings));
    let Some(Effect::ApplyEmbeddings { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let out = state::update(
        &mut m,
        Msg::Job(*job, JobEvent::EmbeddingsApplied(EmbeddingsChoice::Vector)),
    );
    let Some(Effect::CreateSchema { job, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let report = dj2pg::data::commands::CreateSchemaReport {
        driver: dj2pg::data::commands::DriverCheck {
            python: "/home/ana/sentiment-api/.venv/bin/python".into(),
            driver: Some(("psycopg".into(), "3.2.13".into())),
            import_error: None,
            in_virtualenv: true,
            install_command: None,
        },
        migrate: Some(CommandOutcome {
            display: "python manage.py migrate --noinput".into(),
            status: CommandStatus::Succeeded,
            lines: vec![],
            omitted_lines: 0,
            duration_ms: 900,
        }),
        failure: None,
        warnings: vec![],
        names: None,
    };
    state::update(
        &mut m,
        Msg::Job(*job, JobEvent::SchemaCreated(Box::new(report))),
    );
    let screen = snap(&m, &UiState::default());
    assert!(
        screen.contains("7/11 Create schema") && screen.contains("✓ done"),
        "{screen}"
    );
    assert!(
        screen.contains("classifier.Embedding.vector_json → vector(384),")
            && screen.contains("HNSW cosine"),
        "{screen}"
    );
    assert!(
        screen.contains("Written: classifier/models.py, requirements.txt")
            && screen.contains("dj2pg restore"),
        "{screen}"
    );
    assert!(
        !screen.contains("vector_blob →"),
        "a kept column is not listed: {screen}"
    );
}
