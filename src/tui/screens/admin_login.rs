//! The admin login over the Fix permissions screen: `l` opens it, Enter sends
//! `Msg::SubmitAdmin`, Esc closes it.
//!
//! While it is open every key is text or form navigation (`q` is a letter, not quit); only
//! Ctrl-C, handled before any screen, still quits. The password is drawn masked only.

use super::super::admin_form::AdminForm;
use super::super::connect_form::FormField;
use super::super::keys::{Hint, hint};
use super::super::overlays::popup;
use super::super::ui_state::UiState;
use super::super::widgets::form::{FieldView, render_field};
use super::super::widgets::{blocked_by, hanging, key, wrapped};
use super::Handled;
use crate::pg::ConnConfig;
use crate::state::{Migration, Msg, Status, Step};
use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Whether `l` opens the form now: nothing runs and Fix permissions waits for the user.
pub fn can_open(m: &Migration) -> bool {
    m.job.is_none()
        && matches!(
            m.status(Step::FixPermissions),
            Status::Pending
                | Status::Failed { .. }
                | Status::Stopped { .. }
                | Status::NeedsDecision { .. }
        )
}

/// Whether the form is on screen (it only ever is on Fix permissions).
pub fn shown(m: &Migration, ui: &UiState) -> bool {
    m.cursor == Step::FixPermissions && ui.admin.open
}

/// Why Enter would not start a diagnosis now, if so.
fn not_ready(m: &Migration) -> Option<String> {
    if m.job.is_some() {
        return Some("wait for the running job to finish".into());
    }
    blocked_by(m, Step::FixPermissions)
        .map(|before| format!("log in once {} is done", before.title()))
}

/// Draw the form as a box over `area` (the step's body).
pub fn render(frame: &mut Frame, area: Rect, m: &Migration, form: &AdminForm) {
    let width = area.width.min(60);
    let text_w = width.saturating_sub(4);
    let who = match m.connect.server.as_ref().and_then(|s| s.provider.as_ref()) {
        Some(p) => format!(
            "on {}, {}",
            p.name.as_deref().unwrap_or("this server"),
            p.admin
        ),
        None => "on DigitalOcean, doadmin (its password is under Databases › Users)".into(),
    };
    let mut intro = wrapped(
        &format!(
            "Log in as a role that may grant privileges on this database: {who}. It stays in \
             memory only."
        ),
        text_w,
        Style::new().fg(Color::Gray),
    );
    intro.push(Line::default());
    let mut tail = Vec::new();
    if let Some(err) = &form.error {
        tail.extend(wrapped(err, text_w, Style::new().fg(Color::Red)));
    } else if let Ok((c, _)) = ConnConfig::from_url(&form.masked_url()) {
        tail.extend(wrapped(
            &format!(
                "As {}, database {}, on {} port {}",
                c.user, c.dbname, c.host, c.port
            ),
            text_w,
            Style::new().fg(Color::DarkGray),
        ));
    }
    tail.push(Line::default());
    let action = match not_ready(m) {
        Some(why) => vec![Span::styled(
            format!("Fill it in now; {why}."),
            Style::new().fg(Color::Yellow),
        )],
        None => vec![
            key("Enter"),
            Span::raw(" logs in and diagnoses again  "),
            key("Esc"),
            Span::raw(" closes"),
        ],
    };
    tail.push(Line::from(action));
    let height = (intro.len() + 2 + tail.len()) as u16 + 2;
    let inner = popup(frame, area, width, height, "Admin login");
    let mut y = inner.y;
    let put = |frame: &mut Frame, line: Line<'static>, y: &mut u16| {
        if *y < inner.bottom() {
            frame.render_widget(Paragraph::new(line), Rect::new(inner.x, *y, inner.width, 1));
            *y += 1;
        }
    };
    for line in intro {
        put(frame, line, &mut y);
    }
    let fields = [
        (
            FormField::Url,
            form.masked_url(),
            form.url_cursor(),
            "postgresql://doadmin@host:25060/db",
        ),
        (
            FormField::Password,
            form.masked_password(),
            form.password_cursor(),
            "(type the admin's password)",
        ),
    ];
    for (field, value, cursor, placeholder) in fields {
        if y >= inner.bottom() {
            break;
        }
        let view = FieldView {
            label: field.label(),
            value,
            cursor: Some(cursor),
            focused: form.focus() == field,
            flagged: form.error.is_some() && field == form.flagged(),
            placeholder,
        };
        render_field(frame, Rect::new(inner.x, y, inner.width, 1), &view, true);
        y += 1;
    }
    for line in tail {
        put(frame, line, &mut y);
    }
}

/// The form's keys, while it is open.
pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    let form = &mut ui.admin;
    match key.code {
        KeyCode::Esc => form.close(),
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => form.toggle_focus(),
        KeyCode::Enter => match not_ready(m) {
            Some(why) => form.error = Some(format!("Not yet: {why}.")),
            None => {
                if let Some(config) = form.submit() {
                    return Handled::Send(Msg::SubmitAdmin(config));
                }
            }
        },
        KeyCode::PageUp | KeyCode::PageDown => {}
        _ => {
            if let Some(req) = tui_input::backend::crossterm::to_input_request(&Event::Key(key)) {
                form.input(req);
            }
        }
    }
    Handled::Consumed
}

/// Paste into the form when it is open; returns whether it took the text.
pub fn on_paste(m: &Migration, ui: &mut UiState, text: &str) -> bool {
    if shown(m, ui) {
        ui.admin.paste(text);
        true
    } else {
        false
    }
}

/// The form's keys for the hint bar (the wizard's own keys do not apply while it is open).
pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if not_ready(m).is_none() {
        out.push(hint("Enter", "log in"));
    }
    out.push(hint("Tab", "other field"));
    out.push(hint("Esc", "close"));
    out.push(hint("Ctrl-C", "quit"));
}

/// The line the Fix permissions screen shows about the admin.
pub fn admin_line(m: &Migration, width: u16) -> Vec<Line<'static>> {
    match &m.permissions.admin {
        None => hanging(
            "log in as the admin (e.g. doadmin) to run a fix here",
            width,
            3,
            Some(key("l  ")),
            Style::new(),
        ),
        Some(admin) => {
            let mut lines = wrapped(
                &format!(
                    "Admin: {} on {} port {}",
                    admin.user, admin.host, admin.port
                ),
                width,
                Style::new(),
            );
            if can_open(m) {
                lines.extend(hanging(
                    "log in as another admin (or retype the password)",
                    width,
                    3,
                    Some(key("l  ")),
                    Style::new().fg(Color::DarkGray),
                ));
            }
            lines
        }
    }
}
