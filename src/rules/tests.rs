//! The copy's questions: order, answers, stops, flags.

use super::*;
use crate::data::copy::{DerivedTable, PreflightReport, Problem, ProblemPolicy};

fn report(problems: usize, nonempty: usize, derived: usize) -> PreflightReport {
    PreflightReport {
        problems: (0..problems)
            .map(|i| Problem {
                table: "t".into(),
                pk: i.to_string(),
                column: "c".into(),
                issue: "bad".into(),
                excerpt: "x".into(),
                fix: None,
            })
            .collect(),
        nonempty_targets: (0..nonempty).map(|i| (format!("n{i}"), 3)).collect(),
        derived: (0..derived)
            .map(|i| DerivedTable {
                table: format!("wagtailsearch_{i}"),
                source_rows: 1,
                reason: "search index".into(),
                rebuild: Some("python manage.py update_index".into()),
            })
            .collect(),
        ..PreflightReport::default()
    }
}

#[test]
fn a_clean_preflight_goes_ahead_unasked() {
    assert_eq!(
        copy_next(&report(0, 0, 0), &CopyAnswers::default()),
        CopyNext::Go(ProblemPolicy::Abort)
    );
}

#[test]
fn bad_values_are_asked_before_nonempty_targets_and_skip_does_not_answer_both() {
    let r = report(2, 1, 0);
    let mut a = CopyAnswers::default();
    assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::BadValues));
    assert!(answer(&mut a, Question::BadValues, ChoiceId::SkipRows));
    // The finding: skipping bad rows used to empty non-empty targets unasked.
    assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::NonEmptyTargets));
    assert!(answer(
        &mut a,
        Question::NonEmptyTargets,
        ChoiceId::EmptyAndLoad
    ));
    assert_eq!(copy_next(&r, &a), CopyNext::Go(ProblemPolicy::SkipRows));
}

#[test]
fn derived_tables_come_first_and_abort_stops() {
    let r = report(1, 1, 1);
    let mut a = CopyAnswers::default();
    assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::DerivedTables));
    let (text, choices) = ask(&r, Question::DerivedTables);
    assert!(text.contains("python manage.py update_index"), "{text}");
    assert_eq!(choices[0].id, ChoiceId::LeaveEmpty);
    assert!(answer(&mut a, Question::DerivedTables, ChoiceId::Abort));
    assert_eq!(copy_next(&r, &a), CopyNext::Stop(Question::DerivedTables));
}

#[test]
fn an_answer_of_another_question_is_refused() {
    let mut a = CopyAnswers::default();
    assert!(!answer(&mut a, Question::BadValues, ChoiceId::EmptyAndLoad));
    assert!(!answer(&mut a, Question::NonEmptyTargets, ChoiceId::Fix));
    assert_eq!(a, CopyAnswers::default());
}

#[test]
fn flags_answer_every_question_and_stop_where_they_say_no() {
    let r = report(1, 1, 1);
    let skip_no_yes = answers_from_flags(ProblemPolicy::SkipRows, false);
    assert_eq!(
        copy_next(&r, &skip_no_yes),
        CopyNext::Stop(Question::NonEmptyTargets)
    );
    let msg = stop_message(&r, Question::NonEmptyTargets, Surface::CommandLine);
    assert!(msg.contains("--yes") && msg.contains("n0 (3)"), "{msg}");
    let all = answers_from_flags(ProblemPolicy::Fix, true);
    assert_eq!(copy_next(&r, &all), CopyNext::Go(ProblemPolicy::Fix));
    assert_eq!(
        flag_choice(&all, Question::DerivedTables),
        ChoiceId::LeaveEmpty
    );
    assert_eq!(
        flag_choice(&skip_no_yes, Question::NonEmptyTargets),
        ChoiceId::Abort
    );
    // Every choice offered can be recorded as the answer to its question.
    for q in [
        Question::DerivedTables,
        Question::BadValues,
        Question::NonEmptyTargets,
    ] {
        for c in ask(&r, q).1 {
            assert!(answer(&mut CopyAnswers::default(), q, c.id), "{q:?} {c:?}");
        }
    }
}
