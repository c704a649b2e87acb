//! The admin login of Fix permissions: a URL (pre-filled with the target's server and the
//! user `doadmin`) and a masked password.
//!
//! It reuses the Connect form's text fields, so a password pasted inside the URL moves to the
//! password field at once and is never drawn. Invariants: the password lives only here until
//! the driver takes it ([`AdminForm::take_secret`]) for the runner on `Msg::SubmitAdmin`; it
//! never reaches the `Migration` and is never shown unmasked.

use super::connect_form::{ConnectForm, FormField};
use crate::pg::{ConnConfig, Secret};
use crate::state::Migration;
use tui_input::InputRequest;

/// The admin DigitalOcean creates with every cluster; the form proposes it.
pub const DEFAULT_ADMIN: &str = "doadmin";

/// The admin login form. Deliberately not `Debug`: it holds the password.
#[derive(Clone, Default)]
pub struct AdminForm {
    /// Drawn over the Fix permissions screen, taking every key but Ctrl-C.
    pub open: bool,
    fields: ConnectForm,
    /// Why the last Enter did not submit (a URL that does not parse, a step not ready).
    pub error: Option<String>,
}

impl AdminForm {
    /// Open the form: the admin of the last login, or the target's server (behind a pool,
    /// the direct connection) as the provider's admin the catalog shows (`doadmin` when
    /// none); the password field empty and focused.
    pub fn open(&mut self, m: &Migration) {
        let url = match (&m.permissions.admin, m.work_target()) {
            (Some(admin), _) => Some(admin.display_url()),
            (None, Some(target)) => {
                let mut admin = target;
                admin.user = m
                    .connect
                    .server
                    .as_ref()
                    .and_then(|s| s.provider.as_ref())
                    .and_then(|p| p.admin_role.clone())
                    .unwrap_or_else(|| DEFAULT_ADMIN.into());
                Some(admin.display_url())
            }
            (None, None) => None,
        };
        let mut fields = ConnectForm::new(url.as_deref(), None);
        fields.focus = if url.is_some() {
            FormField::Password
        } else {
            FormField::Url
        };
        *self = AdminForm {
            open: true,
            fields,
            error: None,
        };
    }

    /// The field an error points at: the password after a refused login (the form
    /// opens on it), else the URL (one that does not parse).
    pub fn flagged(&self) -> FormField {
        match &self.error {
            Some(e) if e.contains("password") => FormField::Password,
            _ => FormField::Url,
        }
    }

    /// Close the form, forgetting what was typed.
    pub fn close(&mut self) {
        *self = AdminForm::default();
    }

    /// Which of the two fields has the keys: `Url` or `Password`.
    pub fn focus(&self) -> FormField {
        self.fields.focus
    }

    /// Move to the other field.
    pub fn toggle_focus(&mut self) {
        self.fields.focus = match self.fields.focus {
            FormField::Url => FormField::Password,
            _ => FormField::Url,
        };
    }

    /// Apply an editing request to the focused field.
    pub fn input(&mut self, req: InputRequest) {
        if self.fields.input(req) {
            self.error = None;
        }
    }

    /// Insert pasted text into the focused field (a password in a URL moves to its field).
    pub fn paste(&mut self, text: &str) {
        self.fields.paste(text);
        self.error = None;
    }

    /// The URL as it may be shown (a password still being typed in it is masked).
    pub fn masked_url(&self) -> String {
        self.fields.masked_url()
    }

    pub fn url_cursor(&self) -> usize {
        self.fields.url.visual_cursor()
    }

    /// One bullet per character of the password.
    pub fn masked_password(&self) -> String {
        self.fields.masked_password()
    }

    pub fn password_cursor(&self) -> usize {
        self.fields.password_cursor()
    }

    /// The connection the URL names, or the reason it does not parse (kept in `error`).
    /// The form stays open, password included, until the driver takes the secret.
    pub fn submit(&mut self) -> Option<ConnConfig> {
        let config = self.fields.submit();
        self.error = self.fields.url_error.take();
        if config.is_some() {
            self.open = false;
        }
        config
    }

    /// Hand the password over (to the runner) and forget it; `None` when the field was empty.
    pub fn take_secret(&mut self) -> Option<Secret> {
        let secret = self.fields.secret();
        self.close();
        secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunOptions;

    fn target() -> Migration {
        let mut m = Migration::new(RunOptions::default());
        m.connect.target =
            ConnConfig::from_url("postgresql://app@db.example:25060/appdb?sslmode=require")
                .ok()
                .map(|(c, _)| c);
        m
    }

    #[test]
    fn the_url_names_doadmin_on_the_targets_server() {
        let mut form = AdminForm::default();
        form.open(&target());
        assert_eq!(
            form.masked_url(),
            "postgresql://doadmin@db.example:25060/appdb?sslmode=require"
        );
        assert_eq!(form.focus(), FormField::Password);
    }

    #[test]
    fn a_password_pasted_in_the_url_moves_to_its_field() {
        let mut form = AdminForm::default();
        form.open(&Migration::new(RunOptions::default()));
        form.paste("postgresql://doadmin:s3cr%40t@db.example:25060/appdb");
        assert!(!form.masked_url().contains("s3cr"));
        assert_eq!(form.masked_password(), "••••••");
        let config = form.submit().expect("valid URL");
        assert_eq!(config.user, "doadmin");
        assert!(!form.open);
        let secret = form.take_secret().map(|s| s.expose().to_string());
        assert_eq!(secret.as_deref(), Some("s3cr@t"));
        assert!(form.take_secret().is_none(), "the form forgot it");
    }

    #[test]
    fn a_bad_url_keeps_the_form_open_with_the_reason() {
        let mut form = AdminForm::default();
        form.open(&Migration::new(RunOptions::default()));
        form.paste("mysql://root@h/db");
        assert!(form.submit().is_none());
        assert!(form.open);
        assert!(
            form.error
                .as_deref()
                .unwrap_or("")
                .contains("postgresql://")
        );
    }
}
