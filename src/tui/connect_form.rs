//! The Connect form's own state: URL, password, SSL mode and CA file; and, once Connect
//! found a pool whose direct connection it could not derive, the Direct field that asks
//! for it (once: the answer is kept for the run, as `--direct-url` is).
//!
//! Invariants: the password lives only in the password field (a pasted URL's password is
//! moved there at once and cut out of the URL text); it is never shown unmasked and never
//! leaves this struct except as a [`Secret`] handed to the runner on submit.

use crate::pg::{ConnConfig, Field, Secret, SslMode};
use std::ops::Range;
use std::path::PathBuf;
use tui_input::{Input, InputRequest};

/// The form's fields, in Tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormField {
    #[default]
    Url,
    Password,
    SslMode,
    CaFile,
    /// The direct connection behind a pool: shown only when Connect asks for it.
    Direct,
}

impl FormField {
    pub const ALL: [FormField; 5] = [
        FormField::Url,
        FormField::Password,
        FormField::SslMode,
        FormField::CaFile,
        FormField::Direct,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FormField::Url => "URL",
            FormField::Password => "Password",
            FormField::SslMode => "SSL mode",
            FormField::CaFile => "CA file",
            FormField::Direct => "Direct",
        }
    }

    fn step(self, forward: bool) -> FormField {
        let i = FormField::ALL.iter().position(|f| *f == self).unwrap_or(0);
        let n = FormField::ALL.len();
        FormField::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// The form field holding `field`: host, port, database and user all live in the URL.
    pub fn of(field: Field) -> FormField {
        match field {
            Field::Host | Field::Port | Field::Database | Field::User => FormField::Url,
            Field::Password => FormField::Password,
            Field::SslMode => FormField::SslMode,
            Field::CaFile => FormField::CaFile,
            Field::Direct => FormField::Direct,
        }
    }
}

/// The Connect form. Deliberately not `Debug`: it holds the password.
#[derive(Clone)]
pub struct ConnectForm {
    pub url: Input,
    password: Input,
    pub sslmode: SslMode,
    pub ca_file: Input,
    /// The direct connection behind a pool (same role and database, without the pool).
    pub direct: Input,
    /// The Direct field is shown (Connect found a pool and no direct connection).
    pub ask_direct: bool,
    pub focus: FormField,
    /// Keys go to the form (typing) rather than to the wizard.
    pub active: bool,
    /// The last submit's URL problem, shown next to the URL field.
    pub url_error: Option<String>,
    /// The form was re-opened after a successful connection.
    pub editing: bool,
}

impl Default for ConnectForm {
    fn default() -> Self {
        ConnectForm {
            url: Input::default(),
            password: Input::default(),
            sslmode: SslMode::Require,
            ca_file: Input::default(),
            direct: Input::default(),
            ask_direct: false,
            focus: FormField::Url,
            active: true,
            url_error: None,
            editing: false,
        }
    }
}

impl ConnectForm {
    /// A form pre-filled with a URL (its password, if any, is moved into the password field)
    /// and a password.
    pub fn new(url: Option<&str>, password: Option<&Secret>) -> ConnectForm {
        let mut form = ConnectForm::default();
        if let Some(url) = url {
            form.url = Input::new(url.to_string());
            form.url_changed();
            // A pre-filled URL is read from its start.
            form.url = form.url.clone().with_cursor(0);
        }
        if let Some(p) = password {
            form.password = Input::new(p.expose().to_string());
        }
        form
    }

    /// The password as the runner needs it; `None` when the field is empty.
    pub fn secret(&self) -> Option<Secret> {
        let p = self.password.value();
        (!p.is_empty()).then(|| Secret::new(p))
    }

    /// The password as it may be shown: one bullet per character.
    pub fn masked_password(&self) -> String {
        "•".repeat(self.password.value().chars().count())
    }

    pub fn password_cursor(&self) -> usize {
        self.password.visual_cursor()
    }

    /// The URL as it may be shown: any password still in it (while it is being typed) masked.
    pub fn masked_url(&self) -> String {
        masked(self.url.value())
    }

    /// The Direct field as it may be shown: a password in it masked (it is not used).
    pub fn masked_direct(&self) -> String {
        masked(self.direct.value())
    }
}

/// `url` with its password, if any, shown as bullets.
fn masked(url: &str) -> String {
    match password_range(url) {
        Some(r) => format!(
            "{}{}{}",
            &url[..r.start],
            "•".repeat(url[r.clone()].chars().count()),
            &url[r.end..]
        ),
        None => url.to_string(),
    }
}

impl ConnectForm {
    pub fn focus_next(&mut self, forward: bool) {
        self.focus = self.focus.step(forward);
        if self.focus == FormField::Direct && !self.ask_direct {
            self.focus = self.focus.step(forward);
        }
    }

    /// Ask for the direct connection: show the Direct field and put the cursor in it.
    pub fn ask_for_direct(&mut self) {
        if !self.ask_direct {
            self.ask_direct = true;
            self.active = true;
            self.focus = FormField::Direct;
        }
    }

    /// The Direct field's connection, when it is shown and filled in; `Err` with why it
    /// does not parse. A password in it is not used: the target's is.
    pub fn direct_config(&self) -> Result<Option<ConnConfig>, String> {
        let text = self.direct.value().trim();
        if !self.ask_direct || text.is_empty() {
            return Ok(None);
        }
        ConnConfig::from_url(text)
            .map(|(c, _)| Some(c))
            .map_err(|e| format!("Direct: {e:#}"))
    }

    /// Apply an editing request to the focused text field.
    pub fn input(&mut self, req: InputRequest) -> bool {
        let changed = match self.focus {
            FormField::Url => self.url.handle(req).is_some(),
            FormField::Password => self.password.handle(req).is_some(),
            FormField::CaFile => self.ca_file.handle(req).is_some(),
            FormField::Direct => self.direct.handle(req).is_some(),
            FormField::SslMode => false,
        };
        if changed && self.focus == FormField::Url {
            self.url_changed();
        }
        changed
    }

    /// Insert pasted text into the focused text field (newlines dropped).
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.input(InputRequest::InsertChar(c));
        }
    }

    pub fn cycle_ssl(&mut self, forward: bool) {
        let all = SslMode::ALL;
        let i = all.iter().position(|m| *m == self.sslmode).unwrap_or(0);
        let n = all.len();
        self.sslmode = all[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
    }

    /// After the URL text changed: move a password out of it, and take the SSL mode and
    /// CA file it names into their fields.
    fn url_changed(&mut self) {
        self.url_error = None;
        let text = self.url.value().to_string();
        if let Some(range) = password_range(&text) {
            let host_follows = text[range.end..]
                .strip_prefix('@')
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '?']));
            if host_follows {
                let password = percent_decode(&text[range.clone()]);
                // Cut ":password" (the colon sits just before the range).
                let without = format!("{}{}", &text[..range.start - 1], &text[range.end..]);
                self.url = Input::new(without);
                if !password.is_empty() {
                    self.password = Input::new(password);
                }
            }
        }
        if let Ok((config, _)) = ConnConfig::from_url(self.url.value()) {
            if self.url.value().contains("sslmode=") || config.is_system_ca() {
                self.sslmode = config.sslmode;
            }
            if let Some(ca) = config.sslrootcert
                && self.ca_file.value().is_empty()
            {
                self.ca_file = Input::new(ca.display().to_string());
            }
        }
    }

    /// Build the connection settings, or record why the URL does not parse.
    pub fn submit(&mut self) -> Option<ConnConfig> {
        let text = self.url.value().trim().to_string();
        if text.is_empty() {
            self.url_error =
                Some("paste or type a postgresql://user@host:port/database URL".into());
            return None;
        }
        match ConnConfig::from_url(&text) {
            Ok((mut config, password)) => {
                if let Some(p) = password
                    && self.password.value().is_empty()
                {
                    self.password = Input::new(p.expose().to_string());
                }
                config.sslmode = self.sslmode;
                let ca = self.ca_file.value().trim();
                if !ca.is_empty() {
                    config.sslrootcert = Some(PathBuf::from(ca));
                }
                self.url_error = None;
                Some(config)
            }
            Err(e) => {
                self.url_error = Some(format!("{e:#}"));
                None
            }
        }
    }
}

/// Byte range of the password in `scheme://user:password@host…`, once an `@` is typed.
fn password_range(url: &str) -> Option<Range<usize>> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some(start + colon + 1..start + at)
}

/// `%40` → `@`; text that does not decode is kept as written.
fn percent_decode(s: &str) -> String {
    crate::pg::percent_decode(s).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DO_URL: &str =
        "postgresql://doadmin:s%40cret@db-x.ondigitalocean.com:25060/defaultdb?sslmode=require";

    #[test]
    fn a_pasted_url_gives_its_password_to_the_password_field() {
        let mut form = ConnectForm::default();
        form.paste(DO_URL);
        assert_eq!(
            form.url.value(),
            "postgresql://doadmin@db-x.ondigitalocean.com:25060/defaultdb?sslmode=require"
        );
        assert_eq!(
            form.secret().map(|s| s.expose().to_string()).as_deref(),
            Some("s@cret")
        );
        assert_eq!(form.masked_password(), "••••••");
        let config = form.submit().expect("valid URL");
        assert_eq!(config.port, 25060);
        assert_eq!(config.sslmode, SslMode::Require);
    }

    #[test]
    fn a_password_being_typed_is_masked_in_the_url() {
        let mut form = ConnectForm::default();
        form.paste("postgresql://app:hunter2@");
        assert!(
            !form.masked_url().contains("hunter2"),
            "{}",
            form.masked_url()
        );
        form.paste("h");
        assert_eq!(form.url.value(), "postgresql://app@h");
        assert_eq!(form.masked_password(), "•••••••");
    }

    #[test]
    fn the_ssl_selector_overrides_the_url() {
        let mut form = ConnectForm::new(Some("postgresql://u@h/db?sslmode=require"), None);
        form.cycle_ssl(true);
        assert_eq!(form.submit().map(|c| c.sslmode), Some(SslMode::VerifyCa));
    }

    #[test]
    fn a_bad_url_is_reported_next_to_the_field() {
        let mut form = ConnectForm::new(Some("mysql://u@h/db"), None);
        assert!(form.submit().is_none());
        assert!(
            form.url_error
                .as_deref()
                .unwrap_or("")
                .contains("postgresql://")
        );
    }

    #[test]
    fn failures_point_at_form_fields() {
        assert_eq!(FormField::of(Field::Password), FormField::Password);
        assert_eq!(FormField::of(Field::Database), FormField::Url);
        assert_eq!(FormField::of(Field::CaFile), FormField::CaFile);
        assert_eq!(FormField::of(Field::SslMode), FormField::SslMode);
    }
}
