//! What a driver loaded or was given reaches the run as messages, never by its hand.

use super::*;
use crate::data::embeddings::EmbeddingsChoice;
use crate::data::settings::SettingsStyle;
use crate::surface::Surface;

fn given(m: &mut Migration, what: Given) -> Vec<Effect> {
    update(m, Msg::Given(what))
}

#[test]
fn given_settings_surface_direct_and_embeddings_are_kept_without_effects() {
    let mut m = run();
    let mut direct = target();
    direct.port = 5432;
    for what in [
        Given::Surface(Surface::CommandLine),
        Given::SettingsStyle(SettingsStyle::DatabaseUrl),
        Given::Direct(direct.clone()),
        Given::Embeddings(EmbeddingsChoice::HalfVec),
    ] {
        assert!(
            given(&mut m, what).is_empty(),
            "nothing runs, nothing is saved"
        );
    }
    assert_eq!(m.surface, Surface::CommandLine);
    assert_eq!(m.settings_style, SettingsStyle::DatabaseUrl);
    assert_eq!(m.options.direct_url, Some(direct));
    assert_eq!(m.embeddings.choice, Some(EmbeddingsChoice::HalfVec));
    assert!(m.job.is_none());
}

#[test]
fn a_given_admin_never_replaces_the_runs_own() {
    let mut m = run();
    let mut first = target();
    first.user = "doadmin".into();
    given(&mut m, Given::Admin(first.clone()));
    assert_eq!(m.permissions.admin.as_ref(), Some(&first));
    let mut second = target();
    second.user = "other".into();
    given(&mut m, Given::Admin(second));
    assert_eq!(
        m.permissions.admin,
        Some(first),
        "the run keeps the admin it has"
    );
}

#[test]
fn what_is_given_passes_while_the_resume_question_is_open() {
    let mut m = discovered();
    m.resume_offer = Some(ResumeOffer {
        step: Step::Connect,
        saved_at: "now".into(),
    });
    given(&mut m, Given::Surface(Surface::CommandLine));
    assert_eq!(m.surface, Surface::CommandLine);
    assert!(
        update(&mut m, Msg::Activate).is_empty(),
        "the user's moves wait"
    );
}

#[test]
fn interrupted_offers_the_resume_at_the_step_that_ran() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    m.copy.paused = true;
    m.quitting = true;
    m.cursor = Step::Discover;
    let fx = update(
        &mut m,
        Msg::Interrupted {
            saved_at: "2026-12-03 07:00".into(),
        },
    );
    assert!(fx.is_empty());
    assert!(!m.copy.paused && !m.quitting && m.job.is_none());
    let offer = m.resume_offer.clone().expect("the resume is offered");
    assert_eq!(
        (offer.step, offer.saved_at.as_str()),
        (Step::CopyRows, "2026-12-03 07:00")
    );
    // The question holds the run until answered; resuming checks what done steps rest on.
    assert!(update(&mut m, Msg::Retry).is_empty());
    update(&mut m, Msg::Resume(true));
    assert!(m.resume_offer.is_none());
    assert_eq!(m.cursor, Step::CopyRows);
}

#[test]
fn a_settings_question_from_before_the_stop_is_planned_again() {
    let mut m = discovered();
    m.step_mut(Step::UpdateSettings).status = Status::NeedsDecision {
        kind: Question::SettingsWrite,
        question: "Write the settings change shown?".into(),
        choices: vec![],
    };
    update(
        &mut m,
        Msg::Interrupted {
            saved_at: String::new(),
        },
    );
    assert_eq!(m.status(Step::UpdateSettings), &Status::Pending);
}
