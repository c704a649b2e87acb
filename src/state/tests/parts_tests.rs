//! Each step's part of the run: a new target forgets the later steps' parts whole.

use super::*;
use crate::data::privileges::GrantsAnswer;

/// A run past Copy rows whose every part after Connect holds something.
fn everything_learnt() -> Migration {
    let mut m = at_copy();
    m.permissions.admin = Some(target());
    m.permissions.dba_script = Some("/p/.dj2pg/fix-permissions.sql".into());
    m.schema.grants_answer = Some(GrantsAnswer::Keep);
    m.copy.answers.derived = Some(true);
    m.copy.paused = true;
    m.cutover.watching = true;
    m.settings.validation = Some(crate::data::settings::Validation {
        ok: true,
        check: crate::data::settings::CommandOutcome {
            command: "python manage.py check".into(),
            success: true,
            output: String::new(),
        },
        read: None,
        vendor: Some("postgresql".into()),
        migrations_rows: Some(1),
        message: "Django reads PostgreSQL".into(),
    });
    m.done.report_files = vec!["/p/.dj2pg/report.md".into()];
    // The steps before Connect learnt something too (about the project, not the target).
    m.reset.selection = vec!["shop".into()];
    m.settings_style = crate::data::settings::SettingsStyle::DatabaseUrl;
    m
}

/// The parts a new target must forget, as JSON (so a part compares whole, whatever it holds).
fn later_parts(m: &Migration) -> Vec<(Step, serde_json::Value)> {
    steps::connect::REOPENED_BY_CONNECT
        .iter()
        .map(|&step| {
            let value = match step {
                Step::FixPermissions => serde_json::to_value(&m.permissions),
                Step::CreateSchema => serde_json::to_value(&m.schema),
                Step::CopyRows => serde_json::to_value(&m.copy),
                Step::Cutover => serde_json::to_value(&m.cutover),
                Step::UpdateSettings => serde_json::to_value(&m.settings),
                Step::Done => serde_json::to_value(&m.done),
                other => panic!("{other:?} is not after Connect"),
            };
            (step, value.unwrap())
        })
        .collect()
}

#[test]
fn another_target_resets_every_later_part_whole() {
    let mut m = everything_learnt();
    let fresh = later_parts(&run());
    let before = later_parts(&m);
    for ((step, was), (_, default)) in before.iter().zip(&fresh) {
        assert_ne!(
            was, default,
            "{step:?}: the test starts from something learnt"
        );
    }
    update(&mut m, Msg::Select(Step::Connect));
    let mut other = target();
    other.host = "db-other.example".into();
    update(&mut m, Msg::SubmitConnection(other));
    assert_eq!(
        later_parts(&m),
        fresh,
        "every part after Connect is forgotten"
    );
    assert_eq!(m.permissions, PermissionsPart::default());
    assert_eq!(m.schema, SchemaPart::default());
    assert_eq!(m.copy, CopyPart::default());
    assert_eq!(m.cutover, Default::default());
    assert_eq!(m.settings, SettingsPart::default());
    assert_eq!(m.done, DonePart::default());
    // What is about the project, or the user's own answer, stays.
    assert_eq!(m.reset.selection, vec!["shop".to_string()]);
    assert_eq!(
        m.settings_style,
        crate::data::settings::SettingsStyle::DatabaseUrl
    );
    assert!(m.discovery.is_some());
}

#[test]
fn reset_part_forgets_each_step_whole() {
    let mut m = everything_learnt();
    for step in Step::ALL {
        m.reset_part(step);
    }
    let fresh = run();
    assert_eq!(m.discovery, None);
    assert_eq!(m.connect, fresh.connect);
    assert_eq!(m.backup, fresh.backup);
    assert_eq!(m.reset, fresh.reset);
    assert_eq!(m.dry_run, fresh.dry_run);
    assert_eq!(later_parts(&m), later_parts(&fresh));
}
