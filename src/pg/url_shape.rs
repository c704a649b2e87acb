//! A password with `@`, `#`, `/` or `?` pasted into a URL unencoded.
//!
//! A URL parser reads such a string differently from what the user meant: in
//! `postgresql://app:p@ss#w/rd@host:5432/db?sslmode=require` the host becomes `ss`, the port
//! 5432 and, the `#` cutting the query off, `sslmode` silently falls back to `prefer`. So the
//! raw text is checked before it is parsed, and the user is told to percent-encode the
//! password, shown in its encoded form with every character that needs no escape hidden
//! (`…%40…%23…%2F…`): the password itself never reaches the screen.

/// Characters that end or split a URL's user-info and so must be percent-encoded in a
/// password (`%` too: it starts an escape).
const RESERVED: &[char] = &['@', '#', '/', '?', '%', ':', ' '];

/// The message for a URL whose password holds characters that must be percent-encoded, or
/// `None` when the URL reads the way it was meant.
///
/// Signs: a `#` anywhere (PostgreSQL URLs have no fragment), or, before the query that
/// follows the last `@`, more than one `@`, or a `/` or `?` ahead of that `@`.
pub fn unencoded_password(input: &str) -> Option<String> {
    let start = input.find("://")? + 3;
    let rest = &input[start..];
    let at = rest.rfind('@');
    let head_end = at.map_or(rest.len(), |a| {
        rest[a..].find('?').map_or(rest.len(), |q| a + q)
    });
    let head = &rest[..head_end];
    let userinfo = at.map(|a| &rest[..a]);
    let suspicious = rest.contains('#')
        || head.matches('@').count() > 1
        || userinfo.is_some_and(|u| u.contains(['/', '?']));
    if !suspicious {
        return None;
    }
    let scheme = &input[..start];
    let example = match (userinfo, at) {
        (Some(u), Some(a)) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            format!(
                "{scheme}{user}:{}@{}",
                masked_encoding(password),
                &rest[a + 1..]
            )
        }
        _ => format!("{scheme}user:…%40…@host:port/database"),
    };
    Some(format!(
        "the URL does not read as meant: its password holds @, #, / or ? (or the URL has a #), \
         so the host, port or sslmode would be taken from the password. Percent-encode the \
         password (@ is %40, # is %23, / is %2F, ? is %3F, % is %25): {example} — or leave the \
         password out of the URL and set PGPASSWORD"
    ))
}

/// The password percent-encoded, with every run of characters that needs no escape shown
/// as `…`: which escapes to write, never the password.
fn masked_encoding(password: &str) -> String {
    let mut out = String::new();
    let mut plain = false;
    for c in password.chars() {
        if RESERVED.contains(&c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
            plain = false;
        } else if !plain {
            out.push('…');
            plain = true;
        }
    }
    if out.is_empty() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_with_at_hash_and_slash_gets_the_encoded_form_without_the_password() {
        let url = "postgresql://app:p@ss#w/rd@127.0.0.1:55499/db?sslmode=require";
        let m = unencoded_password(url).expect("flagged");
        assert!(m.contains("Percent-encode the password"), "{m}");
        assert!(m.contains("PGPASSWORD"), "{m}");
        assert!(
            m.contains("postgresql://app:…%40…%23…%2F…@127.0.0.1:55499/db?sslmode=require"),
            "{m}"
        );
        for part in ["p@ss", "ss#w", "w/rd"] {
            assert!(!m.contains(part), "{part} leaked: {m}");
        }
    }

    #[test]
    fn two_ats_or_a_slash_before_the_at_are_flagged() {
        assert!(unencoded_password("postgresql://app:a@b@h:5432/db").is_some());
        assert!(unencoded_password("postgresql://app:a/b@h:5432/db").is_some());
        assert!(unencoded_password("postgresql://app:a?b@h:5432/db").is_some());
    }

    #[test]
    fn well_formed_urls_pass() {
        for url in [
            "postgresql://doadmin:s%40cret@db-x.ondigitalocean.com:25060/defaultdb?sslmode=require",
            "postgresql://u@h/db",
            "postgresql://h/db",
            "postgresql://u:pw@ep-x-123.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require",
            "postgresql://u:pw@h/db?options=endpoint%3Dep-x",
        ] {
            assert_eq!(unencoded_password(url), None, "{url}");
        }
    }
}
