//! Fix permissions: the diagnosis table (✓/✗ per privilege, with why), the recipes with
//! their exact SQL (greyed with the reason when they cannot work for this admin), the
//! question; after a fix, the SQL that ran, where, and the re-check. Scrolls (PgUp/PgDn).
//!
//! `l` opens the admin login over the screen ([`super::admin_login`]).

use super::super::keys::{Hint, hint};
use super::super::ui_state::UiState;
use super::super::widgets::{
    decision, hanging, pending_intro, running_lines, step_failure, wrap, wrapped,
};
use super::{Handled, admin_login, scrolled, status_lines};
use crate::data::privileges::{ApplyReport, Check, Diagnosis, ExtensionNeed, Recipe};
use crate::state::{Choice, ChoiceId, Migration, Status, Step};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

const STEP: Step = Step::FixPermissions;

const WHAT: &[&str] = &[
    "Checks what the app role may do, connected to your app's own database (schema \
     privileges live per database): CONNECT, USAGE and CREATE on schema public, and who owns \
     its tables. Since PostgreSQL 15 a new role may not create in public, and Django's \
     migrate fails with \"permission denied for schema public\".",
    "When something is missing it shows the fixes with their exact SQL. One runs as the \
     admin, in a transaction, then is checked again as the app role; or save the SQL for a \
     DBA. Nothing changes until you choose.",
];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let blank = Line::default;
    let mut lines = Vec::new();
    match m.status(STEP) {
        Status::Pending => {
            lines.extend(pending_intro(m, STEP, WHAT, w));
            lines.push(blank());
            lines.extend(provider_lines(m, w));
            lines.extend(admin_login::admin_line(m, w));
        }
        Status::Running { detail, .. } => {
            lines.extend(running_lines(detail, ui.tick, w));
            lines.push(blank());
            let db = m
                .connect
                .target
                .as_ref()
                .map_or("the app database", |t| &t.dbname);
            lines.extend(wrapped(
                &format!("Connected to {db}: schema privileges live per database."),
                w,
                Style::new().fg(Color::DarkGray),
            ));
        }
        Status::NeedsDecision {
            question, choices, ..
        } => {
            if let Some(d) = &m.permissions.diagnosis {
                lines.extend(diagnosis_lines(d, w));
                lines.push(blank());
            }
            lines.extend(provider_lines(m, w));
            lines.extend(admin_login::admin_line(m, w));
            if let Some(path) = &m.permissions.dba_script {
                lines.extend(wrapped(
                    &format!("The SQL for a DBA is saved in {}", path.display()),
                    w,
                    Style::new().fg(Color::Green),
                ));
            }
            lines.push(blank());
            lines.extend(recipe_lines(m, choices, w));
            lines.extend(decision::lines(question, choices, w));
        }
        Status::Done { summary } => {
            lines.extend(wrapped(
                &format!("✓ {summary}"),
                w,
                Style::new().fg(Color::Green),
            ));
            lines.push(blank());
            lines.extend(provider_lines(m, w));
            match &m.permissions.applied {
                Some(report) => lines.extend(applied_lines(m, report, w)),
                None => {
                    if let Some(d) = &m.permissions.diagnosis {
                        lines.extend(diagnosis_lines(d, w));
                    }
                }
            }
        }
        Status::Failed { .. } | Status::Stopped { .. } => {
            lines.extend(step_failure(m, STEP, w));
            lines.push(blank());
            if let Some(report) = &m.permissions.applied {
                lines.extend(applied_lines(m, report, w));
                lines.push(blank());
            }
            lines.extend(admin_login::admin_line(m, w));
        }
        _ => lines.extend(status_lines(m, STEP, w, ui.tick)),
    }
    scrolled(frame, area, lines, ui, STEP);
    if admin_login::shown(m, ui) {
        admin_login::render(frame, area, m, &ui.admin);
    }
}

/// The provider and the role model Connect recognised from the catalog, where the admin's
/// credentials are found, the recipe for that model; a blank line after, when any.
fn provider_lines(m: &Migration, w: u16) -> Vec<Line<'static>> {
    let recognised = m
        .connect
        .server
        .as_ref()
        .is_some_and(|s| s.provider.is_some());
    let notes = crate::state::report::permission_notes(m);
    let mut lines = Vec::new();
    // Without a provider there is no role model to name; a recipe that ran is shown below.
    let shown = notes
        .iter()
        .filter(|_| recognised)
        .filter(|n| m.permissions.applied.is_none() || !n.starts_with("Permission recipe"));
    for n in shown {
        lines.extend(hanging(n, w, 2, Some(Span::raw("· ")), Style::new()));
    }
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines
}

/// One check: `✓`/`✗` and its name, then why, indented under it.
fn check_lines(c: &Check, w: u16) -> Vec<Line<'static>> {
    let (glyph, color) = if c.ok {
        ("✓ ", Color::Green)
    } else {
        ("✗ ", Color::Red)
    };
    let name_style = if c.ok {
        Style::new()
    } else {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    };
    let mut lines = hanging(
        &c.name,
        w,
        2,
        Some(Span::styled(glyph, Style::new().fg(color))),
        name_style,
    );
    let detail_style = if c.ok {
        Style::new().fg(Color::DarkGray)
    } else {
        Style::new()
    };
    lines.extend(hanging(&c.detail, w, 4, None, detail_style));
    lines
}

/// The diagnosis table: what was checked, where, and each verdict.
fn diagnosis_lines(d: &Diagnosis, w: u16) -> Vec<Line<'static>> {
    let mut lines = wrapped(
        &format!(
            "{} in database {} (PostgreSQL {})",
            d.app.role, d.database, d.server_version
        ),
        w,
        Style::new().add_modifier(Modifier::BOLD),
    );
    for c in &d.checks {
        lines.extend(check_lines(c, w));
    }
    if let Some(e) = &d.extension {
        lines.extend(extension_lines(e, &d.database, w));
    }
    lines
}

/// The `vector` extension a pgvector column needs: missing, who may create it, the SQL.
fn extension_lines(e: &ExtensionNeed, db: &str, w: u16) -> Vec<Line<'static>> {
    let red = Style::new().fg(Color::Red);
    let mut lines = hanging(
        &format!("extension {} in database {db}", e.name),
        w,
        2,
        Some(Span::styled("✗ ", red)),
        red.add_modifier(Modifier::BOLD),
    );
    let what = if e.available {
        format!(
            "missing, and your embeddings choice needs it. The app role cannot create it; \
             the admin runs {} (first in every recipe). Rule: {}",
            e.sql, e.rule
        )
    } else {
        format!(
            "this server does not offer pgvector: keep the embeddings as they are (e), or \
             use a server with it. Rule: {}",
            e.rule
        )
    };
    lines.extend(hanging(&what, w, 4, None, Style::new()));
    lines
}

/// Every recipe: letter, title, "(recommended)", its key, what it does, its SQL.
fn recipe_lines(m: &Migration, choices: &[Choice], w: u16) -> Vec<Line<'static>> {
    if m.permissions.recipes.is_empty() {
        return Vec::new();
    }
    let db = m.permissions.recipes[0].database.clone();
    let mut lines = wrapped(
        &format!("Fixes (run as the admin, in one transaction, in {db})"),
        w,
        Style::new().add_modifier(Modifier::BOLD),
    );
    // Without the admin's facts every recipe is "not checked": say it once, and show them
    // all as what a DBA could run instead of greying them all.
    let admin_known = m
        .permissions
        .diagnosis
        .as_ref()
        .is_some_and(|d| d.admin.is_some());
    if !admin_known {
        lines.extend(wrapped(
            "Which of these can work depends on the admin's rights: log in (l) to check. A \
             DBA can run any of them.",
            w,
            Style::new().fg(Color::DarkGray),
        ));
    }
    // The recipe `w` writes for a DBA (the state machine's pick: recommended, else the first).
    let saved = choices.iter().find(|c| c.id == ChoiceId::SaveSql).and(
        m.permissions
            .recipes
            .iter()
            .find(|r| r.recommended)
            .or_else(|| m.permissions.recipes.first())
            .map(|r| r.id),
    );
    for r in &m.permissions.recipes {
        let key = choices
            .iter()
            .find(|c| c.id == ChoiceId::Recipe(r.id))
            .map(|c| c.key);
        let mut title = r.title.clone();
        if r.recommended {
            title.push_str(" (recommended)");
        }
        if let Some(k) = key {
            title.push_str(&format!("  [{k}]"));
        }
        if saved == Some(r.id) {
            title.push_str("  (w saves this one)");
        }
        lines.extend(recipe(r, &title, admin_known, w));
    }
    lines.push(Line::default());
    lines
}

/// One recipe under its `title` line (letter first): why it cannot work, if so, what it
/// does, and its SQL.
fn recipe(r: &Recipe, title: &str, admin_known: bool, w: u16) -> Vec<Line<'static>> {
    let grey = Style::new().fg(Color::DarkGray);
    let unavailable = admin_known.then(|| r.available.as_ref().err()).flatten();
    let (title_style, text_style, sql_style) = match unavailable {
        Some(_) => (grey, grey, grey),
        None => (
            Style::new().add_modifier(Modifier::BOLD),
            Style::new(),
            Style::new().fg(Color::Gray),
        ),
    };
    let letter = Span::styled(format!("{}  ", r.id.letter()), title_style);
    let mut lines = vec![Line::default()];
    lines.extend(hanging(title, w, 3, Some(letter), title_style));
    if let Some(reason) = unavailable {
        lines.extend(hanging(&format!("unavailable: {reason}"), w, 3, None, grey));
    }
    lines.extend(hanging(&r.explanation, w, 3, None, text_style));
    lines.extend(sql_lines(&r.sql, w, sql_style));
    lines
}

/// SQL statements as code: indented, a long one wrapped under itself (continuations two
/// columns further in, so each statement's start stands out).
fn sql_lines(sql: &[String], w: u16, style: Style) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for statement in sql {
        for (i, part) in wrap(statement, (w as usize).saturating_sub(7))
            .into_iter()
            .enumerate()
        {
            let indent = if i == 0 { 5 } else { 7 };
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(part, style),
            ]));
        }
    }
    lines
}

/// What ran, where, and the re-check made as the app role.
fn applied_lines(m: &Migration, report: &ApplyReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = wrapped(
        &format!(
            "Recipe {} ran as the admin in database {}:",
            report.recipe.letter(),
            report.ran_in
        ),
        w,
        Style::new().add_modifier(Modifier::BOLD),
    );
    lines.extend(sql_lines(&report.sql, w, Style::new().fg(Color::Gray)));
    lines.push(Line::default());
    let who = m
        .connect
        .target
        .as_ref()
        .map_or("the app role", |t| t.user.as_str());
    let (verdict, color) = if report.recheck.effective {
        ("effective", Color::Green)
    } else {
        ("NOT effective", Color::Red)
    };
    lines.extend(wrapped(
        &format!(
            "Re-checked as {who} in {}: {verdict}",
            report.recheck.database
        ),
        w,
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    ));
    for c in &report.recheck.checks {
        lines.extend(check_lines(c, w));
    }
    lines
}

/// `l` opens the admin login when it may be used.
pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    if key.code == KeyCode::Char('l')
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        && admin_login::can_open(m)
    {
        ui.admin.open(m);
        return Handled::Consumed;
    }
    Handled::Ignored
}

pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if admin_login::can_open(m) {
        out.push(hint("l", "login"));
    }
}
