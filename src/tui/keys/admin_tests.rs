//! Key-map tests of the admin login on Fix permissions: `l` opens it, its letters are text,
//! Enter submits the URL's connection, Esc closes it.

use super::*;
use crate::pg::ConnConfig;
use crate::state::{Choice, ChoiceId, Question, RunOptions};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    press(KeyCode::Char(c))
}

/// Fix permissions asking what to do, everything before it done, no admin known.
fn asking() -> Migration {
    let mut m = Migration::new(RunOptions::default());
    for s in &Step::ALL[..Step::FixPermissions.index()] {
        m.step_mut(*s).status = Status::Done {
            summary: "ok".into(),
        };
    }
    m.connect.target =
        ConnConfig::from_url("postgresql://app@db.example:25060/appdb?sslmode=require")
            .ok()
            .map(|(c, _)| c);
    m.cursor = Step::FixPermissions;
    let choice = |id, key, label: &str| Choice {
        id,
        key,
        label: label.into(),
    };
    m.step_mut(Step::FixPermissions).status = Status::NeedsDecision {
        kind: Question::PermissionFix,
        question: "CREATE on schema public is missing.".into(),
        choices: vec![
            choice(ChoiceId::SaveSql, 'w', "Save the SQL for a DBA"),
            choice(ChoiceId::Recheck, 'c', "Check again"),
        ],
    };
    m
}

fn keys_of(m: &Migration, ui: &UiState) -> Vec<String> {
    hints(m, ui)
        .into_iter()
        .map(|h| format!("{} {}", h.key, h.label))
        .collect()
}

#[test]
fn l_opens_the_admin_login() {
    let m = asking();
    let mut ui = UiState::default();
    assert!(keys_of(&m, &ui).contains(&"l login".to_string()));
    assert_eq!(handle_key(&m, &mut ui, ch('l')), None);
    assert!(ui.admin.open);
    assert_eq!(
        ui.admin.masked_url(),
        "postgresql://doadmin@db.example:25060/appdb?sslmode=require"
    );
    let keys = keys_of(&m, &ui);
    assert!(keys.contains(&"Esc close".to_string()), "{keys:?}");
    assert!(!keys.iter().any(|k| k.starts_with("q ")), "{keys:?}");
}

#[test]
fn l_does_nothing_while_a_job_runs() {
    let mut m = asking();
    m.job = Some((3, Step::FixPermissions));
    m.step_mut(Step::FixPermissions).status = Status::Running {
        detail: "diagnosing".into(),
        fraction: None,
    };
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('l')), None);
    assert!(!ui.admin.open);
    assert!(!keys_of(&m, &ui).contains(&"l login".to_string()));
}

#[test]
fn letters_in_the_admin_login_are_text_not_keys() {
    let m = asking();
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, ch('l'));
    // q would quit, w and c would answer the question: here they are the password.
    for c in "qwc?jk".chars() {
        assert_eq!(handle_key(&m, &mut ui, ch(c)), None);
    }
    assert_eq!(ui.overlay, Overlay::None, "q was typed, not a quit");
    assert_eq!(ui.admin.masked_password(), "••••••");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&m, &mut ui, ctrl_c), Some(Msg::Quit));
}

#[test]
fn enter_submits_the_admin_of_the_url() {
    let m = asking();
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, ch('l'));
    for c in "s3cret".chars() {
        handle_key(&m, &mut ui, ch(c));
    }
    let Some(Msg::SubmitAdmin(config)) = handle_key(&m, &mut ui, press(KeyCode::Enter)) else {
        panic!("Enter submits the admin login");
    };
    assert_eq!(config.user, "doadmin");
    assert_eq!(config.host, "db.example");
    assert_eq!(config.port, 25060);
    assert_eq!(config.dbname, "appdb");
    assert!(!format!("{config:?}").contains("s3cret"));
    assert!(!ui.admin.open, "the form closes on submit");
    let secret = ui.admin.take_secret().map(|s| s.expose().to_string());
    assert_eq!(secret.as_deref(), Some("s3cret"), "the driver takes it");
}

#[test]
fn a_bad_url_stays_in_the_form_with_its_reason() {
    let m = asking();
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, ch('l'));
    handle_key(&m, &mut ui, press(KeyCode::Tab));
    for _ in 0..80 {
        handle_key(&m, &mut ui, press(KeyCode::Backspace));
    }
    for c in "mysql://root@h/db".chars() {
        handle_key(&m, &mut ui, ch(c));
    }
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Enter)), None);
    assert!(ui.admin.open);
    assert!(ui.admin.error.is_some());
}

#[test]
fn esc_closes_the_admin_login_and_then_goes_back() {
    let m = asking();
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, ch('l'));
    handle_key(&m, &mut ui, ch('x'));
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Esc)), None);
    assert!(!ui.admin.open);
    assert_eq!(
        ui.admin.masked_password(),
        "",
        "closing forgets the password"
    );
    assert_eq!(
        handle_key(&m, &mut ui, press(KeyCode::Esc)),
        Some(Msg::Prev)
    );
    assert_eq!(
        handle_key(&m, &mut ui, ch('w')),
        Some(Msg::Decide(ChoiceId::SaveSql))
    );
}
