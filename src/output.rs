//! One vocabulary for what `dj2pg migrate`, `dj2pg copy` and `dj2pg sync` say: an [`Event`] is a step, a
//! [`Name`] from a closed list, a message for people and/or structured data for scripts.
//! The same values are serialized as JSON lines (`--json`) and rendered as text by
//! [`Printer`], the one place that decides how a line looks.
//!
//! The JSON form is an interface for scripts, documented in the README ("JSON lines") and
//! described by `assets/events.schema.json`. Every line carries [`VERSION`] as `"v"`:
//! adding an event name, a field or a data member keeps the version; renaming or removing
//! one, or changing a field's type, raises it.

use crate::data::copy::{CopyProgress, CopyReport, Problem, Stage, TableCheck};
use crate::data::sync::{Look, TableResult};
use crate::state::Step;
use serde::Serialize;
use std::io::Write;
use std::time::{Duration, Instant};

/// The version of the `--json` vocabulary, in every line as `"v"`.
pub const VERSION: u32 = 1;

/// The JSON Schema of one `--json` line (`assets/events.schema.json`).
pub const SCHEMA: &str = include_str!("../assets/events.schema.json");

/// What an event is about. Serialized in kebab-case (`AlreadyDone` is `already-done`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Name {
    /// A step starts; the message says what it does.
    Start,
    /// A step (or `dj2pg copy`) ended well; the message is its summary.
    Done,
    /// A step failed; the message says why and how to go on.
    Failed,
    /// The run stopped before the step could end (a question the flags do not answer).
    Stopped,
    /// A step was skipped, with the reason.
    Skipped,
    /// A step done in a saved run, not run again.
    AlreadyDone,
    /// Something about the saved run of this project (e.g. an old state file moved aside).
    Notice,
    /// The saved run of this project is resumed.
    Resume,
    /// A saved step still holds (resume check).
    Checked,
    /// A saved step no longer holds and runs again (resume check).
    Reopened,
    /// A flag that differs from the saved run was applied.
    Flag,
    /// A flag that differs from the saved run was refused: nothing was changed.
    Refused,
    /// The user answered no (`dj2pg sync` without `--yes`): nothing was changed.
    Declined,
    /// The question the wizard would ask here.
    Question,
    /// The answer the flags gave.
    Answer,
    /// What to do to go on (a flag to pass, SQL to run).
    Hint,
    /// A line a worker logged (Django's output, a statement run).
    Log,
    /// The copy's progress, at most about once a second (none with `--quiet`).
    Progress,
    /// A line describing what a step found or made.
    Info,
    /// A note on the plan or the copy.
    Note,
    /// A file written for the user (data: the step's structured report instead).
    Report,
    /// Discover's findings (data only).
    Discovery,
    /// Update settings' planned change (data only).
    Plan,
    /// One line of a planned change's unified diff.
    Diff,
    /// Why the settings cannot be rewritten safely.
    Manual,
    /// One line of the snippet to paste by hand.
    Snippet,
    /// One environment variable line the new settings read.
    Env,
    /// One line of a preview (migrations to reset, models to change).
    Preview,
    /// A privilege the app role lacks.
    Missing,
    /// A permission recipe that cannot run, with the reason.
    Unavailable,
    /// One line of SQL for an admin.
    Sql,
    /// A row changed on both sides since the copy.
    Conflict,
    /// A value PostgreSQL would reject (data: the problem).
    Problem,
    /// A target table that already holds rows.
    NonemptyTarget,
    /// A derived table (a search index) left empty, to be rebuilt.
    Derived,
    /// The moment of the SQLite file being read.
    Snapshot,
    /// The preflight's summary.
    Preflight,
    /// One table's verification (data: the check).
    Verified,
    /// What changed in the SQLite file since the copy's snapshot (data: per table).
    Changes,
    /// One table's rows moved by the cutover sync.
    Synced,
    /// How to undo the run.
    Rollback,
    /// What the embeddings change found or did.
    Embeddings,
    /// A project file written by the embeddings change.
    Written,
    /// A query that proves a changed column.
    Proof,
    /// App code that reads a changed field.
    Reader,
}

impl Name {
    /// Every name, in the README's order (tests compare it with the schema and the README).
    pub const ALL: [Name; 45] = [
        Name::Start,
        Name::Done,
        Name::Failed,
        Name::Stopped,
        Name::Skipped,
        Name::AlreadyDone,
        Name::Notice,
        Name::Resume,
        Name::Checked,
        Name::Reopened,
        Name::Flag,
        Name::Refused,
        Name::Declined,
        Name::Question,
        Name::Answer,
        Name::Hint,
        Name::Log,
        Name::Progress,
        Name::Info,
        Name::Note,
        Name::Report,
        Name::Discovery,
        Name::Plan,
        Name::Diff,
        Name::Manual,
        Name::Snippet,
        Name::Env,
        Name::Preview,
        Name::Missing,
        Name::Unavailable,
        Name::Sql,
        Name::Conflict,
        Name::Problem,
        Name::NonemptyTarget,
        Name::Derived,
        Name::Snapshot,
        Name::Preflight,
        Name::Verified,
        Name::Changes,
        Name::Synced,
        Name::Rollback,
        Name::Embeddings,
        Name::Written,
        Name::Proof,
        Name::Reader,
    ];

    /// The name as printed (`already-done`).
    pub fn slug(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.slug())
    }
}

/// Structured data of an event, serialized as the value itself.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Data {
    Check(TableCheck),
    Progress(CopyProgress),
    Problem(Problem),
    Copy(Box<CopyReport>),
    Changes(Box<Look>),
    Json(serde_json::Value),
}

impl Data {
    /// Any serializable value (a report, Discover's findings).
    pub fn of(value: &impl Serialize) -> Data {
        Data::Json(serde_json::to_value(value).unwrap_or_default())
    }
}

/// One line of output.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// [`VERSION`].
    pub v: u32,
    /// The step's slug (`copy-rows` for `dj2pg copy`).
    pub step: &'static str,
    pub event: Name,
    /// For people; every event that text shows has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Data>,
}

impl Event {
    /// A message.
    pub fn say(step: Step, event: Name, message: impl Into<String>) -> Event {
        Event {
            v: VERSION,
            step: step.slug(),
            event,
            message: Some(message.into()),
            data: None,
        }
    }

    /// Data only (JSON shows it; text does not).
    pub fn data(step: Step, event: Name, data: Data) -> Event {
        Event {
            v: VERSION,
            step: step.slug(),
            event,
            message: None,
            data: Some(data),
        }
    }

    /// The same event with data.
    pub fn with(mut self, data: Data) -> Event {
        self.data = Some(data);
        self
    }

    /// A value PostgreSQL would reject.
    pub fn problem(step: Step, p: &Problem) -> Event {
        let fix = p
            .fix
            .as_deref()
            .map(|f| format!(" [fix: {f}]"))
            .unwrap_or_default();
        let text = format!(
            "{} pk={} {}: {} ({}){fix}",
            p.table, p.pk, p.column, p.issue, p.excerpt
        );
        Event::say(step, Name::Problem, text).with(Data::Problem(p.clone()))
    }

    /// A target table that already holds rows.
    pub fn nonempty_target(step: Step, table: &str, rows: u64) -> Event {
        let text = format!("target table {table} already holds {rows} row(s)");
        Event::say(step, Name::NonemptyTarget, text).with(Data::Json(
            serde_json::json!({"table": table, "rows": rows}),
        ))
    }

    /// One table's verification.
    pub fn verified(step: Step, c: &TableCheck) -> Event {
        let text = format!(
            "{}: {} source rows, {} copied, {} rejected, checksum {}",
            c.table,
            c.source_rows,
            c.target_rows,
            c.rejected_rows,
            c.verdict()
        );
        Event::say(step, Name::Verified, text).with(Data::Check(c.clone()))
    }

    /// The copy's progress.
    pub fn progress(step: Step, p: &CopyProgress) -> Event {
        Event::say(step, Name::Progress, p.line()).with(Data::Progress(p.clone()))
    }

    /// What changed since the copy's snapshot (text: the message, then a table).
    pub fn changes(step: Step, message: String, look: &Look) -> Event {
        Event::say(step, Name::Changes, message).with(Data::Changes(Box::new(look.clone())))
    }

    /// One table's rows moved by a sync.
    pub fn synced(step: Step, t: &TableResult) -> Event {
        let text = format!(
            "{}: {} inserted, {} updated, {} deleted",
            t.table,
            t.inserted + t.reloaded.unwrap_or(0),
            t.updated,
            t.deleted
        );
        Event::say(step, Name::Synced, text).with(Data::of(t))
    }

    /// The end of a copy: its summary and report.
    pub fn copied(step: Step, r: &CopyReport) -> Event {
        Event::say(step, Name::Done, r.summary_line()).with(Data::Copy(Box::new(r.clone())))
    }
}

/// How text lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `dj2pg migrate`: `[step] event: message`.
    Steps,
    /// `dj2pg copy` and `dj2pg sync` (one step each): the message, the verification and
    /// the changes as tables.
    Plain,
}

/// Prints events as JSON lines or text; progress at most once a second within a stage (a
/// new stage at once, the newest held and printed when its second comes), none when quiet.
pub struct Printer<'a> {
    out: Box<dyn Write + 'a>,
    pub json: bool,
    quiet: bool,
    layout: Layout,
    /// When the last progress was printed, and its stage.
    last_progress: Option<(Instant, Option<Stage>)>,
    /// Progress that came within a second of the last, not printed yet.
    held: Option<Event>,
    header_shown: bool,
}

/// Progress lines within one stage are at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

impl<'a> Printer<'a> {
    pub fn new(out: Box<dyn Write + 'a>, json: bool, quiet: bool, layout: Layout) -> Self {
        Printer {
            out,
            json,
            quiet,
            layout,
            last_progress: None,
            held: None,
            header_shown: false,
        }
    }

    /// Print one event. Progress held back is dropped: what follows supersedes it.
    pub fn emit(&mut self, e: &Event) {
        self.held = None;
        if self.json {
            if let Ok(line) = serde_json::to_string(e) {
                let _ = writeln!(self.out, "{line}");
            }
            return;
        }
        for line in self.text(e) {
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// A message (shorthand for [`Event::say`]).
    pub fn say(&mut self, step: Step, event: Name, message: &str) {
        self.emit(&Event::say(step, event, message));
    }

    /// A question whose answer is read next: as text, the message stays on its line.
    pub fn ask(&mut self, e: &Event) {
        match (&e.message, self.json) {
            (Some(message), false) => {
                let _ = write!(self.out, "{message} ");
            }
            _ => self.emit(e),
        }
        let _ = self.out.flush();
    }

    /// Progress, at most once a second within a stage, a new stage at once; nothing with
    /// `--quiet`. A value that comes too soon is held, and printed by
    /// [`flush_progress`](Printer::flush_progress) once its second has come unless a newer
    /// one (or any other event) came first.
    pub fn progress(&mut self, e: &Event) {
        if self.quiet {
            return;
        }
        let stage = match &e.data {
            Some(Data::Progress(p)) => Some(p.stage),
            _ => None,
        };
        let due = self
            .last_progress
            .is_none_or(|(t, s)| s != stage || t.elapsed() >= PROGRESS_EVERY);
        if due {
            self.last_progress = Some((Instant::now(), stage));
            self.emit(e);
        } else {
            self.held = Some(e.clone());
        }
    }

    /// Print the progress [`progress`](Printer::progress) held back, once its second has
    /// come: the newest value is shown even when the load offers none after it.
    pub fn flush_progress(&mut self) {
        if self
            .last_progress
            .is_some_and(|(t, _)| t.elapsed() >= PROGRESS_EVERY)
            && let Some(e) = self.held.take()
        {
            self.progress(&e);
        }
    }

    /// The text lines of an event: none without a message.
    fn text(&mut self, e: &Event) -> Vec<String> {
        let Some(message) = &e.message else {
            return Vec::new();
        };
        match self.layout {
            Layout::Steps => vec![format!("[{}] {}: {message}", e.step, e.event.slug())],
            Layout::Plain => match (&e.event, &e.data) {
                (Name::Verified, Some(Data::Check(c))) => {
                    let mut lines = Vec::new();
                    if !std::mem::replace(&mut self.header_shown, true) {
                        lines.push(format!(
                            "{:<40} {:>10} {:>10} {:>9}  checksum",
                            "table", "source", "target", "rejected"
                        ));
                    }
                    lines.push(format!(
                        "{:<40} {:>10} {:>10} {:>9}  {}",
                        c.table,
                        c.source_rows,
                        c.target_rows,
                        c.rejected_rows,
                        c.verdict()
                    ));
                    lines
                }
                (Name::Changes, Some(Data::Changes(look))) => changes_table(message, look),
                (
                    Name::Note | Name::Problem | Name::Derived | Name::Preflight | Name::Conflict,
                    _,
                ) => {
                    vec![format!("{}: {message}", e.event.slug())]
                }
                _ => vec![message.clone()],
            },
        }
    }
}

/// The message, then one row per changed table (none when nothing changed).
fn changes_table(message: &str, look: &Look) -> Vec<String> {
    let mut lines = vec![message.to_string()];
    if look.changes.is_empty() {
        return lines;
    }
    lines.push(format!(
        "{:<40} {:>9} {:>9} {:>9}",
        "table", "inserted", "updated", "deleted"
    ));
    for c in &look.changes {
        lines.push(if c.whole {
            format!("{:<40} changed; no primary key: reloaded whole", c.table)
        } else {
            format!(
                "{:<40} {:>9} {:>9} {:>9}",
                c.table, c.inserted, c.updated, c.deleted
            )
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> serde_json::Value {
        serde_json::from_str(SCHEMA).expect("the schema is JSON")
    }

    fn strings(v: &serde_json::Value) -> Vec<String> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect()
    }

    #[test]
    fn progress_shows_a_new_stage_at_once_and_the_newest_once_its_second_comes() {
        let mut out = Vec::new();
        {
            let mut o = Printer::new(Box::new(&mut out), true, false, Layout::Plain);
            let p = |stage, elapsed_ms| {
                let p = CopyProgress {
                    stage,
                    elapsed_ms,
                    ..CopyProgress::default()
                };
                Event::progress(Step::CopyRows, &p)
            };
            o.progress(&p(Stage::Loading, 1));
            o.progress(&p(Stage::Loading, 2)); // too soon: held
            o.progress(&p(Stage::Analyzing, 3)); // a new stage: at once
            o.progress(&p(Stage::Analyzing, 4)); // held, and no offer after it
            o.flush_progress(); // its second has not come
            std::thread::sleep(PROGRESS_EVERY);
            o.flush_progress();
            o.flush_progress(); // nothing is printed twice
        }
        let shown: Vec<u64> = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                v["data"]["elapsed_ms"].as_u64().expect("elapsed_ms")
            })
            .collect();
        assert_eq!(shown, [1, 3, 4]);
    }

    #[test]
    fn the_schema_lists_every_name_and_step() {
        let s = schema();
        let names: Vec<String> = Name::ALL.iter().map(|n| n.slug()).collect();
        assert_eq!(strings(&s["properties"]["event"]["enum"]), names);
        let steps: Vec<String> = Step::ALL.iter().map(|s| s.slug().to_string()).collect();
        assert_eq!(strings(&s["properties"]["step"]["enum"]), steps);
        assert_eq!(s["properties"]["v"]["const"], VERSION);
    }

    #[test]
    fn the_readme_documents_every_name() {
        let readme = include_str!("../README.md");
        for n in Name::ALL {
            let cell = format!("| `{}` |", n.slug());
            assert!(readme.contains(&cell), "README has no row for {cell}");
        }
    }

    #[test]
    fn text_and_json_come_from_the_same_event() {
        let p = Problem {
            table: "t".into(),
            pk: "4".into(),
            column: "c".into(),
            issue: "NUL byte".into(),
            excerpt: "a\\0".into(),
            fix: None,
        };
        let e = Event::problem(Step::CopyRows, &p);
        let mut buf = Vec::new();
        Printer::new(Box::new(&mut buf), false, false, Layout::Steps).emit(&e);
        Printer::new(Box::new(&mut buf), true, false, Layout::Steps).emit(&e);
        Printer::new(Box::new(&mut buf), false, false, Layout::Plain).emit(&e);
        let out = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "[copy-rows] problem: t pk=4 c: NUL byte (a\\0)");
        let json: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["event"], "problem");
        assert_eq!(json["data"]["pk"], "4");
        assert_eq!(json["message"], "t pk=4 c: NUL byte (a\\0)");
        assert_eq!(lines[2], "problem: t pk=4 c: NUL byte (a\\0)");
    }

    #[test]
    fn the_copy_prints_its_verification_as_one_table() {
        let check = |table: &str, ok| TableCheck {
            table: table.into(),
            source_rows: 3,
            target_rows: 3,
            checksum_match: ok,
            rejected_rows: 0,
            left_behind: Vec::new(),
            target: String::new(),
        };
        let mut buf = Vec::new();
        let mut p = Printer::new(Box::new(&mut buf), false, false, Layout::Plain);
        p.emit(&Event::verified(Step::CopyRows, &check("a", true)));
        p.emit(&Event::verified(Step::CopyRows, &check("b", false)));
        drop(p);
        let out = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("table ") && lines[0].ends_with("checksum"));
        assert!(
            lines[1].starts_with("a ") && lines[1].ends_with("  OK"),
            "{out}"
        );
        assert!(lines[2].ends_with("  MISMATCH"), "{out}");
    }

    #[test]
    fn data_only_events_are_json_only() {
        let e = Event::data(Step::Discover, Name::Discovery, Data::of(&vec![1, 2]));
        let mut buf = Vec::new();
        Printer::new(Box::new(&mut buf), false, false, Layout::Steps).emit(&e);
        assert!(buf.is_empty());
        Printer::new(Box::new(&mut buf), true, false, Layout::Steps).emit(&e);
        let json: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(json["data"], serde_json::json!([1, 2]));
        assert!(json.get("message").is_none());
    }
}
