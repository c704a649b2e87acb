//! Key-map tests: keys in, messages (or none) out; no terminal.

use super::*;
use crate::pg::ConnConfig;
use crate::state::{Choice, ChoiceId, ResumeOffer, RunOptions};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn run() -> Migration {
    Migration::new(RunOptions {
        project: "/home/ana/sentiment-api".into(),
        ..RunOptions::default()
    })
}

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    press(KeyCode::Char(c))
}

fn done(m: &mut Migration, step: Step) {
    m.step_mut(step).status = Status::Done {
        summary: "ok".into(),
    };
}

fn keys_of(m: &Migration, ui: &UiState) -> Vec<String> {
    hints(m, ui)
        .into_iter()
        .map(|h| format!("{} {}", h.key, h.label))
        .collect()
}

#[test]
fn s_on_a_step_that_cannot_be_skipped_sends_nothing() {
    let m = run();
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('s')), None);
    assert!(!keys_of(&m, &ui).iter().any(|k| k.starts_with("s ")));
}

#[test]
fn s_on_a_skippable_pending_step_skips() {
    let mut m = run();
    done(&mut m, Step::Discover);
    m.step_mut(Step::DryRun).status = Status::Pending;
    m.cursor = Step::DryRun;
    let mut ui = UiState::default();
    assert!(keys_of(&m, &ui).contains(&"s skip".to_string()));
    assert_eq!(handle_key(&m, &mut ui, ch('s')), Some(Msg::Skip));
}

#[test]
fn q_asks_first_and_y_quits() {
    let m = run();
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('q')), None);
    assert_eq!(ui.overlay, Overlay::ConfirmQuit);
    assert_eq!(handle_key(&m, &mut ui, ch('y')), Some(Msg::Quit));
    assert_eq!(ui.overlay, Overlay::None);
}

#[test]
fn n_or_esc_keeps_the_wizard_open() {
    let m = run();
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, ch('q'));
    assert_eq!(handle_key(&m, &mut ui, ch('n')), None);
    assert_eq!(ui.overlay, Overlay::None);
    handle_key(&m, &mut ui, ch('q'));
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Esc)), None);
    assert_eq!(ui.overlay, Overlay::None);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut m = run();
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    ui.overlay = Overlay::Help;
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(handle_key(&m, &mut ui, ctrl_c), Some(Msg::Quit));
    assert_eq!(handle_key(&m, &mut ui, ctrl_c), Some(Msg::Quit));
}

#[test]
fn enter_runs_a_pending_step_and_moves_on_from_a_done_one() {
    let mut m = run();
    let mut ui = UiState::default();
    assert!(keys_of(&m, &ui).contains(&"Enter run".to_string()));
    assert_eq!(
        handle_key(&m, &mut ui, press(KeyCode::Enter)),
        Some(Msg::Activate)
    );
    done(&mut m, Step::Discover);
    assert!(keys_of(&m, &ui).contains(&"Enter next".to_string()));
}

#[test]
fn nothing_runs_while_a_job_does() {
    let mut m = run();
    m.job = Some((1, Step::Discover));
    m.step_mut(Step::Discover).status = Status::Running {
        detail: "x".into(),
        fraction: None,
    };
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Enter)), None);
    assert_eq!(handle_key(&m, &mut ui, ch('r')), None);
    assert_eq!(
        handle_key(&m, &mut ui, ch('p')),
        None,
        "p only while copying"
    );
}

#[test]
fn r_retries_only_a_failed_step() {
    let mut m = run();
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('r')), None);
    m.step_mut(Step::Discover).status = Status::Failed {
        message: "no manage.py".into(),
    };
    assert!(keys_of(&m, &ui).contains(&"r retry".to_string()));
    assert_eq!(handle_key(&m, &mut ui, ch('r')), Some(Msg::Retry));
}

#[test]
fn arrows_and_j_k_look_at_steps() {
    let m = run();
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('j')), Some(Msg::Next));
    assert_eq!(
        handle_key(&m, &mut ui, press(KeyCode::Down)),
        Some(Msg::Next)
    );
    // Nothing before the first step.
    assert_eq!(handle_key(&m, &mut ui, ch('k')), None);
}

#[test]
fn esc_closes_the_help_before_going_back() {
    let mut m = run();
    m.cursor = Step::Backup;
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('?')), None);
    assert_eq!(ui.overlay, Overlay::Help);
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Esc)), None);
    assert_eq!(ui.overlay, Overlay::None);
    assert_eq!(
        handle_key(&m, &mut ui, press(KeyCode::Esc)),
        Some(Msg::Prev)
    );
}

#[test]
fn the_resume_question_takes_y_and_n_only() {
    let mut m = run();
    m.resume_offer = Some(ResumeOffer {
        step: Step::Connect,
        saved_at: "2025-03-01 10:00".into(),
    });
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Enter)), None);
    assert_eq!(handle_key(&m, &mut ui, ch('j')), None);
    assert_eq!(handle_key(&m, &mut ui, ch('y')), Some(Msg::Resume(true)));
    assert_eq!(handle_key(&m, &mut ui, ch('n')), Some(Msg::Resume(false)));
}

#[test]
fn typing_in_the_connect_form_is_text_until_esc() {
    let mut m = run();
    done(&mut m, Step::Discover);
    done(&mut m, Step::Backup);
    done(&mut m, Step::ResetMigrations);
    done(&mut m, Step::DryRun);
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    for c in "postgresql://app:pq@db:25060/appdb".chars() {
        assert_eq!(handle_key(&m, &mut ui, ch(c)), None);
    }
    assert_eq!(ui.overlay, Overlay::None, "q was typed, not a quit");
    assert_eq!(ui.connect.url.value(), "postgresql://app@db:25060/appdb");
    let Some(Msg::SubmitConnection(config)) = handle_key(&m, &mut ui, press(KeyCode::Enter)) else {
        panic!("Enter submits the form");
    };
    assert_eq!(config.user, "app");
    assert_eq!(config.port, 25060);
    assert_eq!(
        ui.connect
            .secret()
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("pq")
    );
    assert!(!format!("{config:?}").contains("pq"));
    handle_key(&m, &mut ui, press(KeyCode::Esc));
    assert_eq!(handle_key(&m, &mut ui, ch('q')), None);
    assert_eq!(ui.overlay, Overlay::ConfirmQuit);
}

#[test]
fn the_form_does_not_submit_before_discover() {
    let mut m = run();
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    ui.connect = crate::tui::ConnectForm::new(Some("postgresql://u@h/db"), None);
    assert_eq!(handle_key(&m, &mut ui, press(KeyCode::Enter)), None);
    assert!(!keys_of(&m, &ui).iter().any(|k| k.starts_with("Enter")));
}

#[test]
fn ssl_mode_cycles_with_the_arrows() {
    let mut m = run();
    done(&mut m, Step::Discover);
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    handle_key(&m, &mut ui, press(KeyCode::Tab));
    handle_key(&m, &mut ui, press(KeyCode::Tab));
    handle_key(&m, &mut ui, press(KeyCode::Right));
    assert_eq!(ui.connect.sslmode, crate::pg::SslMode::VerifyCa);
    handle_key(&m, &mut ui, ch(' '));
    assert_eq!(ui.connect.sslmode, crate::pg::SslMode::VerifyFull);
}

#[test]
fn decisions_pick_choices_by_key() {
    let mut m = run();
    m.cursor = Step::CopyRows;
    m.step_mut(Step::CopyRows).status = Status::NeedsDecision {
        kind: crate::state::Question::BadValues,
        question: "3 values would fail".into(),
        choices: vec![
            Choice {
                id: ChoiceId::Abort,
                key: 'a',
                label: "Abort".into(),
            },
            Choice {
                id: ChoiceId::Fix,
                key: 'f',
                label: "Fix".into(),
            },
        ],
    };
    let mut ui = UiState::default();
    assert_eq!(
        handle_key(&m, &mut ui, ch('f')),
        Some(Msg::Decide(ChoiceId::Fix))
    );
    assert_eq!(handle_key(&m, &mut ui, ch('x')), None);
    assert!(keys_of(&m, &ui).contains(&"a abort".to_string()));
}

#[test]
fn p_and_c_only_while_copying() {
    let mut m = run();
    m.cursor = Step::CopyRows;
    m.connect.target = Some(
        ConnConfig::from_url("postgresql://u@h/db")
            .map(|c| c.0)
            .expect("url"),
    );
    let mut ui = UiState::default();
    assert_eq!(handle_key(&m, &mut ui, ch('c')), None);
    m.job = Some((7, Step::CopyRows));
    assert_eq!(handle_key(&m, &mut ui, ch('p')), Some(Msg::TogglePause));
    assert_eq!(handle_key(&m, &mut ui, ch('c')), Some(Msg::Cancel));
    assert!(keys_of(&m, &ui).contains(&"p pause".to_string()));
}

/// Draw `m` on a `w`×`h` terminal, as the event loop does before reading a key.
fn draw_at(m: &Migration, ui: &UiState, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| crate::tui::draw(f, m, ui)).unwrap();
    t.backend().to_string()
}

#[test]
fn on_a_too_small_terminal_blind_keys_do_nothing_and_q_quits() {
    // A question whose `y` writes settings.py, hidden behind "Enlarge it".
    let mut m = run();
    done(&mut m, Step::Discover);
    m.cursor = Step::Backup;
    m.step_mut(Step::Backup).status = Status::NeedsDecision {
        kind: crate::state::Question::GitNotClean,
        question: "The git tree has uncommitted changes".into(),
        choices: vec![
            Choice {
                id: ChoiceId::Continue,
                key: 'y',
                label: "Go on with this backup".into(),
            },
            Choice {
                id: ChoiceId::Abort,
                key: 'a',
                label: "Stop".into(),
            },
        ],
    };
    let mut ui = UiState::default();
    // At a usable size the same `y` answers the question: the test below can fail.
    draw_at(&m, &ui, 80, 24);
    assert_eq!(
        handle_key(&m, &mut ui, ch('y')),
        Some(Msg::Decide(ChoiceId::Continue))
    );

    let screen = draw_at(&m, &ui, 60, 20);
    assert!(screen.contains("Enlarge it"), "{screen}");
    for key in [
        ch('y'),
        ch('a'),
        ch('s'),
        ch('r'),
        ch('u'),
        ch('?'),
        ch('e'),
        press(KeyCode::Enter),
        press(KeyCode::Esc),
        press(KeyCode::Tab),
        press(KeyCode::Down),
        press(KeyCode::PageDown),
    ] {
        assert_eq!(handle_key(&m, &mut ui, key), None, "{key:?}");
        assert_eq!(ui.overlay, Overlay::None, "{key:?}");
    }
    assert_eq!(ui.scroll(Step::Backup), 0);
    assert_eq!(keys_of(&m, &ui), ["q quit"]);
    // q quits at once (no dialog nobody could see); Ctrl-C too.
    assert_eq!(handle_key(&m, &mut ui, ch('q')), Some(Msg::Quit));
    assert_eq!(
        handle_key(
            &m,
            &mut ui,
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        ),
        Some(Msg::Quit)
    );

    // Enlarged again, keys act again.
    draw_at(&m, &ui, 100, 30);
    assert_eq!(
        handle_key(&m, &mut ui, ch('y')),
        Some(Msg::Decide(ChoiceId::Continue))
    );
}

#[test]
fn on_a_too_small_terminal_a_paste_is_not_typed_into_a_hidden_form() {
    let mut m = run();
    done(&mut m, Step::Discover);
    m.cursor = Step::Connect;
    let mut ui = UiState::default();
    draw_at(&m, &ui, 60, 20);
    crate::tui::handle_paste(&m, &mut ui, "postgresql://app@db:25060/app");
    assert_eq!(ui.connect.url.value(), "");
}

#[test]
fn esc_stops_a_connection_attempt_and_the_hint_says_so() {
    let mut m = run();
    done(&mut m, Step::Discover);
    m.cursor = Step::Connect;
    m.job = Some((7, Step::Connect));
    m.step_mut(Step::Connect).status = Status::Running {
        detail: "connecting".into(),
        fraction: None,
    };
    let mut ui = UiState::default();
    assert!(keys_of(&m, &ui).contains(&"Esc stop trying".to_string()));
    assert_eq!(
        handle_key(&m, &mut ui, press(KeyCode::Esc)),
        Some(Msg::Cancel)
    );
    // And the state machine turns it into the job's cancel flag.
    let fx = crate::state::update(&mut m, Msg::Cancel);
    assert!(
        fx.contains(&crate::state::Effect::Cancel { job: 7 }),
        "{fx:?}"
    );
}

#[test]
fn a_hint_bar_too_wide_for_80_columns_drops_whole_hints_and_keeps_quit() {
    let wide: Vec<Hint> = [
        ("1", "recipe A"),
        ("2", "recipe C"),
        ("w", "save SQL"),
        ("c", "recheck"),
        ("l", "login"),
        ("s", "skip"),
        ("↑↓", "steps"),
        ("?", "help"),
        ("q", "quit"),
    ]
    .iter()
    .map(|(k, l)| hint(k, l))
    .collect();
    assert!(hints_width(&wide) > 80);
    let fit = fit_hints(wide.clone(), 80);
    assert!(hints_width(&fit) <= 80, "{fit:?}");
    assert_eq!(fit.last(), Some(&hint("q", "quit")));
    assert!(fit.contains(&hint("?", "more keys")));
    // The screen's own first keys stay, whole.
    assert_eq!(&fit[..2], &wide[..2]);
    // What fits is left alone.
    assert_eq!(fit_hints(wide.clone(), 120), wide);
}
