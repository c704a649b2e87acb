//! Applying the generated code to the settings file's text, line by line.
//!
//! The locator reports whole-line spans (it refuses statements that share a line), so the
//! edit never slices inside a line. Edits run bottom-up so earlier line numbers stay valid:
//! later mutations are commented out, the statement is replaced, then imports go in.
//! The file's line ending (`\n` or `\r\n`) is kept.

use super::generate::Generated;
use crate::data::settings::Site;
use anyhow::{Result, bail};

/// The new text of the file `text`, whose statement at `site` is replaced by `generated`.
pub(super) fn edit(text: &str, site: &Site, generated: &Generated) -> Result<String> {
    let file = site.file.display();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let span = |start: u32, end: u32, len: usize| -> Result<(usize, usize)> {
        let (s, e) = (start as usize, end as usize);
        if s == 0 || e < s || e > len {
            bail!(
                "{file}: lines {start}-{end} are not in the file ({len} lines): was it changed since it was read?"
            );
        }
        Ok((s - 1, e))
    };
    let check = |lines: &[String], (s, e): (usize, usize), expected: &str| -> Result<()> {
        let joined: String = lines[s..e].concat();
        if !joined
            .replace("\r\n", "\n")
            .contains(&expected.replace("\r\n", "\n"))
        {
            bail!(
                "{file}: lines {}-{} no longer hold the DATABASES statement dj2pg read: read the settings again",
                s + 1,
                e
            );
        }
        Ok(())
    };
    let target = span(site.start_line, site.end_line, lines.len())?;
    check(&lines, target, &site.old_text)?;
    let mut mutations = site.mutations.clone();
    mutations.sort_by_key(|m| std::cmp::Reverse(m.start_line));
    for m in &mutations {
        let (s, e) = span(m.start_line, m.end_line, lines.len())?;
        if s < target.1 {
            bail!(
                "{file}: line {} changes DATABASES before the statement dj2pg replaces",
                m.start_line
            );
        }
        check(&lines, (s, e), &m.text)?;
        let mut out = vec![format!(
            "# dj2pg: commented out, the DATABASES above replaces it:{eol}"
        )];
        for l in &lines[s..e] {
            out.push(format!("# {}", ensure_eol(l, eol)));
        }
        lines.splice(s..e, out);
    }
    let mut new_lines: Vec<String> = generated
        .lines
        .iter()
        .map(|l| format!("{l}{eol}"))
        .collect();
    // The last line of a file may lack its line ending; keep it that way.
    if target.1 == lines.len() && !lines[target.1 - 1].ends_with('\n') {
        if let Some(last) = new_lines.last_mut() {
            *last = last.trim_end_matches(eol).to_string();
        }
    }
    lines.splice(target.0..target.1, new_lines);
    let missing = missing_imports(Some(site), generated);
    if !missing.is_empty() {
        let at = (site.import_line.max(1) as usize - 1).min(lines.len());
        let mut block: Vec<String> = missing.iter().map(|s| format!("{s}{eol}")).collect();
        let next_blank = lines.get(at).is_none_or(|l| l.trim().is_empty());
        if site.import_blank_after && !next_blank {
            block.push(eol.to_string());
        }
        if at > 0 && !lines[at - 1].ends_with('\n') {
            lines[at - 1].push_str(eol);
        }
        lines.splice(at..at, block);
    }
    Ok(lines.concat())
}

fn ensure_eol(line: &str, eol: &str) -> String {
    if line.ends_with('\n') {
        line.to_string()
    } else {
        format!("{line}{eol}")
    }
}

/// The imports `generated` needs and the file does not have, as statements.
pub(super) fn missing_imports<'a>(site: Option<&Site>, generated: &'a Generated) -> Vec<&'a str> {
    generated
        .imports
        .iter()
        .filter(|(name, _)| match site {
            None => true,
            Some(site) if name.contains(':') => !site.from_imports.contains(name),
            Some(site) => !site.imports.contains(name),
        })
        .map(|(_, stmt)| stmt.as_str())
        .collect()
}
