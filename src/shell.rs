//! Commands dj2pg prints for the user to paste (`dj2pg restore …`, `psql … -f …`): every
//! word quoted for a POSIX shell with `shell-words`, so a project folder with spaces,
//! quotes or accents pastes as it is. One place, so every surface quotes the same way.

use std::path::Path;

/// The words as one command line, each quoted only where the shell needs it.
pub fn command<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    shell_words::join(words)
}

/// A path as a word of a printed command: absolute (the command may be pasted in another
/// folder), lossy only for names that are not UTF-8.
pub fn path_word(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// `dj2pg restore --project DIR --backup DIR`, quoted.
pub fn restore_command(project: &Path, backup: &Path) -> String {
    command([
        "dj2pg",
        "restore",
        "--project",
        &path_word(project),
        "--backup",
        &path_word(backup),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_quotes_and_accents_round_trip() {
        for dir in [
            "/tmp/my projé 1",
            "/tmp/it's here",
            "/tmp/a\"b$c`d",
            "/tmp/plain",
        ] {
            let cmd = restore_command(Path::new(dir), Path::new("/b/x y"));
            let words = shell_words::split(&cmd).unwrap();
            assert_eq!(
                words,
                ["dj2pg", "restore", "--project", dir, "--backup", "/b/x y"],
                "{cmd}"
            );
        }
        // Plain words stay readable.
        assert_eq!(
            restore_command(Path::new("/srv/app"), Path::new("/srv/app/.dj2pg/b")),
            "dj2pg restore --project /srv/app --backup /srv/app/.dj2pg/b"
        );
    }

    #[test]
    fn relative_paths_become_absolute() {
        let word = path_word(Path::new("proj"));
        assert!(Path::new(&word).is_absolute(), "{word}");
    }
}
