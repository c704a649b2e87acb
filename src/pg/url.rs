//! A connection URL as a provider hands it out: `postgresql://user:password@host:port/db?…`
//! with libpq's parameters. The password is kept apart from the settings (a [`Secret`]); a
//! password pasted unencoded is refused before parsing (`url_shape`); every libpq parameter
//! a provider's string carries is accepted, honoured or left to libpq defaults.

use super::{ChannelBinding, ConnConfig, Secret, SslMode};
use crate::data::pg::TARGET_SESSION_ATTRS;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

impl ConnConfig {
    /// Parse `postgresql://user:password@host:port/db?sslmode=require&sslrootcert=/ca.crt`.
    /// Returns the settings and, separately, the password if the URL carried one.
    ///
    /// Every libpq parameter a provider's connection string carries is accepted: the ones
    /// that change how dj2pg connects are honoured (`sslmode`, `sslrootcert` — `system` too —,
    /// `connect_timeout`, `channel_binding`, `target_session_attrs`, `options`,
    /// `sslnegotiation`); the ones that only tune the socket or name the client are accepted
    /// and left to libpq defaults ([`IGNORED_PARAMETERS`]).
    pub fn from_url(input: &str) -> Result<(ConnConfig, Option<Secret>)> {
        let input = input.trim();
        if let Some(message) = super::url_shape::unencoded_password(input) {
            bail!("{message}");
        }
        let url = url::Url::parse(input).with_context(|| {
            "the URL is not of the form postgresql://user:password@host:port/database".to_string()
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            bail!(
                "the URL must start with postgresql:// (it starts with {}://)",
                url.scheme()
            );
        }
        // What a bad escape names: never the password's own text.
        let decode = |s: &str, what: &str| {
            percent_decode(s).with_context(|| {
                format!("the URL's {what} has %-escapes that do not decode to UTF-8 text (write a % itself as %25)")
            })
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .context("the URL has no host")?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let user = decode(url.username(), "user name")?;
        let password = url
            .password()
            .map(|p| decode(p, "password"))
            .transpose()?
            .map(Secret::new);
        let dbname = decode(url.path().trim_start_matches('/'), "database name")?;
        let mut config = ConnConfig {
            host,
            port: url.port().unwrap_or(5432),
            dbname: if dbname.is_empty() {
                user.clone()
            } else {
                dbname
            },
            user,
            sslmode: SslMode::Prefer,
            ..ConnConfig::default()
        };
        let mut sslmode_given = false;
        for (key, value) in url.query_pairs() {
            sslmode_given |= key == "sslmode";
            config.apply_parameter(&key, value.trim())?;
        }
        config.check_parameters_agree(sslmode_given)?;
        if config.user.is_empty() {
            bail!("the URL has no user name (postgresql://USER:password@host/db)");
        }
        Ok((config, password))
    }

    /// One `key=value` parameter of the URL's query: honoured, accepted and left to libpq,
    /// or refused.
    fn apply_parameter(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "sslmode" => self.sslmode = SslMode::parse(value).with_context(|| {
                format!(
                    "sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full"
                )
            })?,
            "sslrootcert" => self.sslrootcert = Some(PathBuf::from(value)),
            "connect_timeout" => {
                self.connect_timeout = Some(value.parse().with_context(|| {
                    format!("connect_timeout={value} is not a whole number of seconds")
                })?)
            }
            "channel_binding" => {
                self.channel_binding = Some(ChannelBinding::parse(value).with_context(|| {
                    format!("channel_binding={value} is not one of disable, prefer, require")
                })?)
            }
            "target_session_attrs" => {
                if !TARGET_SESSION_ATTRS.contains(&value) {
                    bail!(
                        "target_session_attrs={value} is not one of {}",
                        TARGET_SESSION_ATTRS.join(", ")
                    );
                }
                self.target_session_attrs = Some(value.to_string());
            }
            "options" => self.options = Some(value.to_string()).filter(|o| !o.is_empty()),
            "sslnegotiation" => {
                self.ssl_direct = match value {
                    "postgres" => false,
                    "direct" => true,
                    _ => bail!("sslnegotiation={value} is not one of postgres, direct"),
                }
            }
            k if IGNORED_PARAMETERS.contains(&k) => {}
            other => bail!(
                "the URL parameter {other:?} is not one dj2pg can honour: remove it from the \
                 URL (dj2pg understands sslmode, sslrootcert, connect_timeout, \
                 channel_binding, target_session_attrs, options, sslnegotiation)"
            ),
        }
        Ok(())
    }

    /// The parameters together: refuse the combinations libpq refuses (and give
    /// `sslrootcert=system` its default `sslmode`).
    fn check_parameters_agree(&mut self, sslmode_given: bool) -> Result<()> {
        if self.is_system_ca() {
            // libpq: sslrootcert=system defaults to verify-full and refuses anything weaker,
            // because the system's CAs would vouch for any host with a public certificate.
            if !sslmode_given {
                self.sslmode = SslMode::VerifyFull;
            } else if self.sslmode != SslMode::VerifyFull {
                bail!(
                    "sslrootcert=system needs sslmode=verify-full (libpq refuses sslmode={} with \
                     it): the system's CAs vouch for any host with a public certificate, so \
                     only the host name check makes them mean something",
                    self.sslmode.as_str()
                );
            }
        }
        if self.ssl_direct && matches!(self.sslmode, SslMode::Disable | SslMode::Prefer) {
            bail!(
                "sslnegotiation=direct needs sslmode=require or stronger (it starts TLS at once, \
                 with no fallback; libpq refuses sslmode={})",
                self.sslmode.as_str()
            );
        }
        if self.channel_binding == Some(ChannelBinding::Require) && self.sslmode == SslMode::Disable
        {
            bail!(
                "channel_binding=require binds the login to TLS, which sslmode=disable turns \
                 off: use sslmode=require (or remove channel_binding)"
            );
        }
        Ok(())
    }

    /// The URL without the password, for the screen and logs.
    pub fn display_url(&self) -> String {
        let mut s = format!(
            "postgresql://{}@{}:{}/{}?sslmode={}",
            self.user,
            host_for_url(&self.host),
            self.port,
            self.dbname,
            self.sslmode.as_str()
        );
        if let Some(ca) = &self.sslrootcert {
            s.push_str(&format!("&sslrootcert={}", ca.display()));
        }
        for (name, value) in self.libpq_parameters() {
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            s.push_str(&format!("&{name}={value}"));
        }
        s
    }
}

/// libpq parameters a provider's string may carry that change nothing dj2pg must honour:
/// the client's name, socket keep-alives, GSSAPI encryption (never offered by managed
/// servers; TLS is used instead), the client encoding (dj2pg always speaks UTF-8).
pub const IGNORED_PARAMETERS: [&str; 9] = [
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "gssencmode",
    "client_encoding",
];

fn host_for_url(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `s@cret%21` → `s@cret!`: the %-escapes of a URL's user, password or database.
pub fn percent_decode(s: &str) -> Result<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .context("%-escapes do not form UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digitalocean_url_parses_and_keeps_the_password_apart() {
        let (c, pw) = ConnConfig::from_url(
            "postgresql://doadmin:s%40cret@db-x.ondigitalocean.com:25060/defaultdb?sslmode=require",
        )
        .unwrap();
        assert_eq!(c.host, "db-x.ondigitalocean.com");
        assert_eq!(c.port, 25060);
        assert_eq!(c.dbname, "defaultdb");
        assert_eq!(c.user, "doadmin");
        assert_eq!(c.sslmode, SslMode::Require);
        assert_eq!(pw.unwrap().expose(), "s@cret");
        assert!(!c.display_url().contains("cret"));
        assert!(!format!("{c:?}").contains("cret"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let e = ConnConfig::from_url("mysql://u@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("postgresql://"), "{e}");
        let e = ConnConfig::from_url("postgresql://u@h/db?sslmode=strict")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslmode=strict"), "{e}");
        let e = ConnConfig::from_url("postgresql://h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no user"), "{e}");
    }

    #[test]
    fn provider_parameters_are_accepted_and_kept() {
        let (c, pw) = ConnConfig::from_url(
            "postgresql://neondb_owner:npg_x@ep-x-123.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require",
        )
        .unwrap();
        assert_eq!(c.channel_binding, Some(ChannelBinding::Require));
        assert_eq!(c.sslmode, SslMode::Require);
        assert_eq!(pw.unwrap().expose(), "npg_x");
        assert!(c.display_url().contains("channel_binding=require"));
        let (c, _) = ConnConfig::from_url(
            "postgresql://u@h/db?options=endpoint%3Dep-x-123&target_session_attrs=read-write\
             &sslnegotiation=direct&sslmode=require&application_name=x&keepalives=1",
        )
        .unwrap();
        assert_eq!(c.options.as_deref(), Some("endpoint=ep-x-123"));
        assert_eq!(c.target_session_attrs.as_deref(), Some("read-write"));
        assert!(c.ssl_direct);
        assert_eq!(
            c.startup_options("-c lock_timeout=5s"),
            "endpoint=ep-x-123 -c TimeZone=UTC -c lock_timeout=5s"
        );
        assert!(c.display_url().contains("options=endpoint%3Dep-x-123"));
    }

    #[test]
    fn sslrootcert_system_means_verify_full_and_refuses_weaker() {
        let (c, _) = ConnConfig::from_url("postgresql://u@h/db?sslrootcert=system").unwrap();
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert!(c.is_system_ca());
        let e = ConnConfig::from_url("postgresql://u@h/db?sslrootcert=system&sslmode=require")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs sslmode=verify-full"), "{e}");
        let e = ConnConfig::from_url("postgresql://u@h/db?sslnegotiation=direct")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslmode=require or stronger"), "{e}");
    }

    #[test]
    fn a_bad_escape_in_the_password_never_shows_it() {
        let e = ConnConfig::from_url("postgresql://u:ab%FFcd@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("password") && !e.contains("ab%FFcd"), "{e}");
    }
}
