//! The diff of the settings file, made with `similar`: structured hunks for a coloured
//! view, and the plain unified text.

use crate::data::settings::{DiffHunk, DiffKind, DiffLine, SettingsDiff};
use similar::{ChangeTag, TextDiff};

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The unified diff of `old` → `new`, labelled `name` (`a/name`, `b/name`).
pub fn diff_texts(old: &str, new: &str, name: &str) -> SettingsDiff {
    let diff = TextDiff::from_lines(old, new);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{} +{} @@",
            range_text(old_range.start, old_range.len()),
            range_text(new_range.start, new_range.len())
        );
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => DiffKind::Context,
                    ChangeTag::Delete => DiffKind::Removed,
                    ChangeTag::Insert => DiffKind::Added,
                };
                let text = change.value();
                let text = text.strip_suffix('\n').unwrap_or(text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                lines.push(DiffLine {
                    kind,
                    text: text.to_string(),
                    old_line: change.old_index().map(|i| i + 1),
                    new_line: change.new_index().map(|i| i + 1),
                });
            }
        }
        hunks.push(DiffHunk { header, lines });
    }
    let unified = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    SettingsDiff { hunks, unified }
}

/// `start,len` as unified diffs write it (1-based; an empty range names the line before).
fn range_text(start: usize, len: usize) -> String {
    if len == 0 {
        format!("{start},0")
    } else if len == 1 {
        format!("{}", start + 1)
    } else {
        format!("{},{len}", start + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_mark_added_and_removed_lines() {
        let d = diff_texts("a\nb\nc\n", "a\nB\nc\n", "s.py");
        assert_eq!(d.hunks.len(), 1);
        assert_eq!(d.hunks[0].header, "@@ -1,3 +1,3 @@");
        let kinds: Vec<DiffKind> = d.hunks[0].lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                DiffKind::Context,
                DiffKind::Removed,
                DiffKind::Added,
                DiffKind::Context
            ]
        );
        assert!(d.unified.contains("-b\n+B\n"), "{}", d.unified);
    }
}
