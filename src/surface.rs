//! One language per surface: how a message names the user's next move.
//!
//! The wizard names keys and form fields ("press r", "check the password field"); the
//! commands (`dj2pg migrate`, `dj2pg copy`) name flags and environment variables ("run the
//! same command again", "$PGPASSWORD"). Messages are built from what there is to do (a
//! [`Field`] to fix, a step to run again) and rendered here for the surface that shows
//! them, so no key reaches a script's log and no flag reaches the wizard's screen.
//!
//! The state machine knows its surface (`Migration::surface`, set by the driver, never
//! saved: a run saved by one surface may be resumed by the other).

use crate::data::pg::Field;

/// Where a message is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Surface {
    /// The terminal wizard: keys and form fields.
    #[default]
    Wizard,
    /// `dj2pg migrate`, `dj2pg copy`: flags and environment variables.
    CommandLine,
}

impl Surface {
    /// "Press r to {what}." / "Run the same command again to {what}."
    pub fn again(self, what: &str) -> String {
        match self {
            Surface::Wizard => format!("Press r to {what}."),
            Surface::CommandLine => format!("Run the same command again to {what}."),
        }
    }

    /// The lower-case form of [`Surface::again`], for the end of a sentence.
    pub fn then_again(self, what: &str) -> String {
        match self {
            Surface::Wizard => format!("press r to {what}"),
            Surface::CommandLine => format!("run the same command again to {what}"),
        }
    }

    /// After a connection attempt the user stopped: how to connect again.
    pub fn connect_again(self) -> String {
        match self {
            Surface::Wizard => "Check the form and press Enter to try again.".into(),
            Surface::CommandLine => "Run the same command again to connect.".into(),
        }
    }

    /// Where to fix a connection setting of the app role (`--to`) — a form field in the
    /// wizard, a part of the URL or an environment variable on the command line.
    pub fn check(self, field: Field) -> String {
        match (self, field) {
            (Surface::Wizard, f) => format!("check the {} field", f.label()),
            (Surface::CommandLine, Field::Password) => {
                "give the password in $PGPASSWORD, ~/.pgpass or the --to URL".into()
            }
            (Surface::CommandLine, Field::SslMode) => "check sslmode in the --to URL".into(),
            (Surface::CommandLine, Field::CaFile) => "check sslrootcert in the --to URL".into(),
            (Surface::CommandLine, Field::Direct) => {
                "give the direct connection with --direct-url".into()
            }
            (Surface::CommandLine, f) => format!("check the {} in the --to URL", f.label()),
        }
    }

    /// Where to fix the admin's login (Fix permissions).
    pub fn check_admin(self, field: Field) -> String {
        match (self, field) {
            (Surface::Wizard, _) => "press l to log in as the admin again".into(),
            (Surface::CommandLine, Field::Password) => {
                "give the admin's password in $DJ2PG_ADMIN_PASSWORD or the --admin-url URL".into()
            }
            (Surface::CommandLine, f) => {
                format!("check the {} in the --admin-url URL", f.label())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_no_key_and_no_field() {
        let cli = Surface::CommandLine;
        let fields = [
            Field::Host,
            Field::Port,
            Field::Database,
            Field::User,
            Field::Password,
            Field::SslMode,
            Field::CaFile,
        ];
        let mut said: Vec<String> = vec![
            cli.again("retry"),
            cli.then_again("retry"),
            cli.connect_again(),
        ];
        said.extend(fields.iter().map(|f| cli.check(*f)));
        said.extend(fields.iter().map(|f| cli.check_admin(*f)));
        for s in said {
            assert!(!s.contains("press") && !s.contains("Press"), "{s}");
            assert!(!s.contains("field"), "{s}");
        }
        assert!(cli.check(Field::Password).contains("PGPASSWORD"));
    }

    #[test]
    fn the_wizard_names_keys_and_fields() {
        assert_eq!(Surface::Wizard.again("retry"), "Press r to retry.");
        assert_eq!(
            Surface::Wizard.check(Field::SslMode),
            "check the SSL mode field"
        );
    }
}
