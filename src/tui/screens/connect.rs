//! Connect: the connection form (URL, masked password, SSL mode, CA file), a spinner while
//! connecting, the failure pointing at the field to fix, then what the server told us.
//!
//! While the form is active, printable keys are typed into it: the wizard's letter keys
//! (`q`, `?`, `j`/`k`) come back after Esc. Arrows still move between steps.

use super::super::connect_form::{ConnectForm, FormField};
use super::super::keys::{Hint, hint};
use super::super::ui_state::UiState;
use super::super::widgets::form::{FieldView, LABEL_WIDTH, render_field};
use super::super::widgets::{failure, field_line, hanging, key, spinner, wrapped};
use super::{Handled, status_lines};
use crate::pg::{ServerInfo, SslMode};
use crate::state::{Migration, Msg, Status, Step};
use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Whether the form is on screen (rather than the spinner or the server's description).
pub fn form_shown(m: &Migration, ui: &UiState) -> bool {
    match m.status(Step::Connect) {
        Status::Pending | Status::Failed { .. } => true,
        Status::Done { .. } => ui.connect.editing,
        _ => false,
    }
}

/// Whether a connection attempt is under way (Esc stops it).
fn connecting(m: &Migration) -> bool {
    matches!(m.job, Some((_, Step::Connect)))
}

/// Whether submitting the form would start a connection now.
fn can_submit(m: &Migration) -> bool {
    m.job.is_none() && m.may_start(Step::Connect)
}

fn ssl_note(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "no TLS: trusted network only",
        SslMode::Prefer => "TLS if offered, unverified",
        SslMode::Require => "encrypted, not verified",
        SslMode::VerifyCa => "encrypted + CA checked",
        SslMode::VerifyFull => "encrypted + CA + host name",
    }
}

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::Connect) {
        _ if form_shown(m, ui) => return render_form(frame, area, m, ui),
        Status::Running { detail, .. } => {
            let target = m
                .connect
                .target
                .as_ref()
                .map(|t| t.display_url())
                .unwrap_or_default();
            let mut l = wrapped(
                &format!("{} Connecting to {target}… {detail}", spinner(ui.tick)),
                w,
                Style::new(),
            );
            l.push(Line::default());
            let wait = m
                .connect
                .target
                .as_ref()
                .and_then(|t| t.connect_timeout())
                .map_or_else(
                    || "as long as the server takes (connect_timeout=0)".to_string(),
                    |t| format!("up to {} s (connect_timeout)", t.as_secs()),
                );
            l.extend(wrapped(
                &format!(
                    "A firewall or a provider's trusted-sources list can make this wait {wait}. \
                     Esc stops trying."
                ),
                w,
                Style::new().fg(Color::DarkGray),
            ));
            l
        }
        Status::Done { .. } => match &m.connect.server {
            Some(info) => {
                // The provider's rules can run past the bottom: scroll (PgDn / PgUp).
                return super::scrolled(frame, area, server_lines(m, info, w), ui, Step::Connect);
            }
            None => status_lines(m, Step::Connect, w, ui.tick),
        },
        _ => status_lines(m, Step::Connect, w, ui.tick),
    };
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_form(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let form = &ui.connect;
    let w = area.width;
    let failed = match m.status(Step::Connect) {
        Status::Failed { message } => Some(message.as_str()),
        _ => None,
    };
    let flagged = failed.and(m.connect.field).map(FormField::of);
    let mut y = area.y;
    let put = |frame: &mut Frame, lines: Vec<Line<'static>>, y: &mut u16| {
        for line in lines {
            if *y < area.bottom() {
                frame.render_widget(Paragraph::new(line), Rect::new(area.x, *y, w, 1));
                *y += 1;
            }
        }
    };
    put(
        frame,
        wrapped(
            "Paste the URL from your provider's dashboard; a password in it moves to its own \
             field.",
            w,
            Style::new().fg(Color::Gray),
        ),
        &mut y,
    );
    put(frame, vec![Line::default()], &mut y);
    let focused = |f: FormField| form.active && form.focus == f;
    for (field, value, cursor, placeholder) in form_fields(form) {
        if y >= area.bottom() {
            break;
        }
        let view = FieldView {
            label: field.label(),
            value,
            cursor,
            focused: focused(field),
            flagged: flagged == Some(field),
            placeholder,
        };
        render_field(frame, Rect::new(area.x, y, w, 1), &view, true);
        y += 1;
        if field == FormField::Url
            && let Some(err) = &form.url_error
        {
            let indent = " ".repeat(LABEL_WIDTH as usize);
            let text = wrapped(
                err,
                w.saturating_sub(LABEL_WIDTH),
                Style::new().fg(Color::Red),
            )
            .into_iter()
            .map(|l| {
                let mut spans = vec![Span::raw(indent.clone())];
                spans.extend(l.spans);
                Line::from(spans)
            })
            .collect();
            put(frame, text, &mut y);
        }
    }
    put(frame, vec![Line::default()], &mut y);
    put(
        frame,
        form_tail(m, failed.is_some(), flagged.is_some(), w),
        &mut y,
    );
}

/// The form's fields in order (the direct URL only when asked for): each with its value as
/// shown, its cursor and its placeholder.
fn form_fields(form: &ConnectForm) -> Vec<(FormField, String, Option<usize>, &'static str)> {
    let fields = [
        (
            FormField::Url,
            form.masked_url(),
            Some(form.url.cursor()),
            "postgresql://user@host:25060/db?sslmode=require",
        ),
        (
            FormField::Password,
            form.masked_password(),
            Some(form.password_cursor()),
            "(empty: $PGPASSWORD or ~/.pgpass)",
        ),
        (
            FormField::SslMode,
            format!("◂ {} ▸  {}", form.sslmode.as_str(), ssl_note(form.sslmode)),
            None,
            "",
        ),
        (
            FormField::CaFile,
            form.ca_file.value().to_string(),
            Some(form.ca_file.cursor()),
            "(for verify-ca / verify-full)",
        ),
    ];
    let direct = (
        FormField::Direct,
        form.masked_direct(),
        Some(form.direct.cursor()),
        "postgresql://user@host:5432/db (the same, without the pool)",
    );
    fields
        .into_iter()
        .chain(form.ask_direct.then_some(direct))
        .collect()
}

/// Under the form: what failed and how to retry, what it waits for, or what Enter does.
fn form_tail(m: &Migration, failed: bool, flagged: bool, w: u16) -> Vec<Line<'static>> {
    let mut tail = Vec::new();
    if failed {
        tail.extend(failure(m.status(Step::Connect), w));
        tail.pop(); // "Press r to retry": here Enter on the edited form is the retry.
        let what = if flagged {
            "the field marked ✗"
        } else {
            "the form"
        };
        tail.extend(wrapped(
            &format!("Fix {what}, then press Enter to connect again."),
            w,
            Style::new(),
        ));
    } else if let Some(before) = super::super::widgets::blocked_by(m, Step::Connect) {
        tail.extend(wrapped(
            &format!(
                "You can fill this in now; connecting starts once {} is done.",
                before.title()
            ),
            w,
            Style::new().fg(Color::Yellow),
        ));
    } else {
        tail.extend(wrapped(
            "Enter connects. It only reads: nothing is changed on the server.",
            w,
            Style::new(),
        ));
    }
    tail
}

fn server_lines(m: &Migration, info: &ServerInfo, w: u16) -> Vec<Line<'static>> {
    let yellow = Style::new().fg(Color::Yellow);
    let mut lines = Vec::new();
    if let Some(t) = &m.connect.target {
        lines.extend(wrapped(
            &format!("✓ Connected: {}@{}:{}/{}", t.user, t.host, t.port, t.dbname),
            w,
            Style::new().fg(Color::Green),
        ));
    }
    lines.push(Line::default());
    lines.extend(facts(info));
    if let Some(p) = &m.connect.pool {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!(
                "⚠ A connection pool ({}). The schema and the copy go over the direct \
                 connection {}@{}:{}/{} ({}); the app's settings keep the pool.",
                p.reason,
                p.direct.user,
                p.direct.host,
                p.direct.port,
                p.direct.dbname,
                p.direct_from
            ),
            w,
            yellow,
        ));
    }
    if !info.timeouts.is_empty() {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!("⚠ {}.", crate::data::pg::timeouts_note(&info.timeouts)),
            w,
            yellow,
        ));
    }
    if !info.schema_create {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!(
                "⚠ {} cannot CREATE in schema public: Django's migrate would fail with \
                 \"permission denied for schema public\" (see Fix permissions).",
                info.user
            ),
            w,
            yellow,
        ));
    }
    if !info.tables.is_empty() {
        lines.push(Line::default());
        lines.extend(wrapped(
            "The target already has tables: Copy rows will show them before writing.",
            w,
            yellow,
        ));
    }
    // The provider's rules last: what needs the user's attention comes first.
    if let Some(p) = &info.provider {
        lines.push(Line::default());
        lines.extend(wrapped(
            "Provider",
            w,
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for l in p.lines() {
            lines.extend(hanging(&l, w, 2, Some(Span::raw("· ")), Style::new()));
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(vec![
        key("e"),
        Span::raw(" edits the connection."),
    ]));
    lines
}

/// What the server said about itself and this role, one labelled line each.
fn facts(info: &ServerInfo) -> Vec<Line<'static>> {
    const L: usize = 11;
    let yes = |b: bool| if b { "yes" } else { "no" };
    let red = Style::new().fg(Color::Red);
    let v = |s: String| vec![Span::raw(s)];
    let mut lines = Vec::new();
    lines.push(field_line(
        "Server",
        L,
        v(format!("PostgreSQL {}", info.version)),
    ));
    lines.push(field_line(
        "TLS",
        L,
        if info.tls {
            v("yes, encrypted".into())
        } else {
            vec![Span::styled("NO: the connection is not encrypted", red)]
        },
    ));
    lines.push(field_line(
        "User",
        L,
        v(format!(
            "{} · superuser {}",
            info.user,
            yes(info.is_superuser)
        )),
    ));
    lines.push(field_line(
        "Database",
        L,
        v(format!("{} · owner {}", info.database, info.database_owner)),
    ));
    lines.push(field_line(
        "Schema",
        L,
        v(format!(
            "public: USAGE {} · CREATE {}",
            yes(info.schema_usage),
            yes(info.schema_create)
        )),
    ));
    lines.push(field_line(
        "Tables",
        L,
        v(format!("{} in public", info.tables.len())),
    ));
    lines
}

pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    if connecting(m) {
        // Stop waiting for a server that does not answer; the form comes back.
        return if key.code == KeyCode::Esc {
            Handled::Send(Msg::Cancel)
        } else {
            Handled::Ignored
        };
    }
    if !form_shown(m, ui) {
        if key.code == KeyCode::Char('e')
            && m.job.is_none()
            && matches!(m.status(Step::Connect), Status::Done { .. })
        {
            ui.connect.editing = true;
            ui.connect.active = true;
            ui.connect.focus = FormField::Url;
            return Handled::Consumed;
        }
        return Handled::Ignored;
    }
    let form = &mut ui.connect;
    let submit = |ui: &mut UiState| {
        if !can_submit(m) {
            return Handled::Consumed;
        }
        match ui.connect.submit() {
            Some(config) => match ui.connect.direct_config() {
                Ok(Some(direct)) => {
                    ui.connect.editing = false;
                    Handled::Send(Msg::SubmitDirect {
                        target: config,
                        direct: Box::new(direct),
                    })
                }
                Ok(None) => {
                    ui.connect.editing = false;
                    Handled::Send(Msg::SubmitConnection(config))
                }
                Err(e) => {
                    ui.connect.url_error = Some(e);
                    ui.connect.focus = FormField::Direct;
                    Handled::Consumed
                }
            },
            None => {
                ui.connect.active = true;
                ui.connect.focus = FormField::Url;
                Handled::Consumed
            }
        }
    };
    if !form.active {
        return match key.code {
            KeyCode::Tab | KeyCode::Char('e' | 'i') => {
                form.active = true;
                Handled::Consumed
            }
            KeyCode::Enter => submit(ui),
            // Retrying a connection means trying the form as it is now.
            KeyCode::Char('r') if matches!(m.status(Step::Connect), Status::Failed { .. }) => {
                submit(ui)
            }
            _ => Handled::Ignored,
        };
    }
    match key.code {
        KeyCode::Enter => submit(ui),
        KeyCode::Esc => {
            form.active = false;
            form.editing = false;
            Handled::Consumed
        }
        KeyCode::Tab => {
            form.focus_next(true);
            Handled::Consumed
        }
        KeyCode::BackTab => {
            form.focus_next(false);
            Handled::Consumed
        }
        KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => Handled::Ignored,
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if form.focus == FormField::SslMode => {
            form.cycle_ssl(key.code != KeyCode::Left);
            Handled::Consumed
        }
        _ if form.focus == FormField::SslMode => Handled::Consumed,
        _ => {
            if let Some(req) = tui_input::backend::crossterm::to_input_request(&Event::Key(key)) {
                form.input(req);
            }
            Handled::Consumed
        }
    }
}

/// Paste into the form when it is on screen and active.
pub fn on_paste(m: &Migration, ui: &mut UiState, text: &str) {
    if m.cursor == Step::Connect && form_shown(m, ui) {
        ui.connect.active = true;
        ui.connect.paste(text);
    }
}

/// Returns whether the global keys apply (not while typing into the form).
pub fn hints(m: &Migration, ui: &UiState, out: &mut Vec<Hint>) -> bool {
    if connecting(m) {
        out.push(hint("Esc", "stop trying"));
        return true;
    }
    if !form_shown(m, ui) {
        if m.job.is_none() && matches!(m.status(Step::Connect), Status::Done { .. }) {
            out.push(hint("e", "edit"));
        }
        return true;
    }
    if can_submit(m) {
        out.push(hint("Enter", "connect"));
    }
    if !ui.connect.active {
        out.push(hint("Tab", "edit form"));
        return true;
    }
    out.push(hint("Tab", "next field"));
    if ui.connect.focus == FormField::SslMode {
        out.push(hint("←→", "SSL mode"));
    }
    out.push(hint("Esc", "leave form"));
    out.push(hint("↑↓", "steps"));
    out.push(hint("Ctrl-C", "quit"));
    false
}
