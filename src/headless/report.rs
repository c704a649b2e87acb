//! What a step leaves to print once it is done, and the embeddings change made before
//! Create schema.

use crate::cli::MigrateArgs;
use crate::output::{Data, Event, Name, Printer};
use crate::runner::Runner;
use crate::state::{self, Migration, Step};

/// Details worth a line after a step is done: its structured report (JSON) and the lines
/// that describe it.
pub(super) fn report_done(m: &Migration, step: Step, printer: &mut Printer<'_>) {
    match step {
        Step::Discover => {
            if let Some(d) = &m.discovery {
                printer.emit(&Event::data(step, Name::Discovery, Data::of(d)));
                for line in crate::django::describe_lines(d) {
                    printer.say(step, Name::Info, &line);
                }
            }
        }
        Step::Done => {
            for f in &m.done.report_files {
                printer.say(step, Name::Report, &f.display().to_string());
            }
            printer.say(step, Name::Rollback, &state::restore_hint(m));
        }
        Step::Backup => {
            if let Some(r) = &m.backup.report {
                printer.emit(&Event::data(step, Name::Report, Data::of(r)));
                for line in crate::backup::backup_lines(r) {
                    printer.say(step, Name::Info, &line);
                }
            }
        }
        Step::Cutover => {
            if let Some(r) = m.cutover.runs.last() {
                printer.emit(&Event::data(step, Name::Report, Data::of(r)));
                for t in r.applied.tables.iter().filter(|t| t.moved() > 0) {
                    let text = format!(
                        "{}: {} inserted, {} updated, {} deleted",
                        t.table,
                        t.inserted + t.reloaded.unwrap_or(0),
                        t.updated,
                        t.deleted
                    );
                    printer.say(step, Name::Synced, &text);
                }
            }
        }
        Step::CopyRows => {
            if let Some(r) = &m.copy.report {
                printer.emit(&Event::data(step, Name::Report, Data::of(r)));
                for c in &r.checks {
                    printer.emit(&Event::verified(step, c));
                }
            }
        }
        _ => {}
    }
}

/// Embeddings, before Create schema runs `migrate` (see `crate::embeddings`): printed as
/// events of Create schema. False when the chosen change cannot be made.
pub(super) fn embeddings_change(
    m: &mut Migration,
    runner: &Runner,
    choice: &crate::django::pgvector_plan::Choice,
    admin: &Option<crate::pg::ConnConfig>,
    args: &MigrateArgs,
    printer: &mut Printer<'_>,
) -> bool {
    let Some(discovery) = &m.discovery else {
        return true;
    };
    let inputs = crate::embeddings::Inputs {
        discovery,
        backup_dir: m.backup.report.as_ref().map(|b| b.backup_dir.as_path()),
        target: m
            .connect
            .target
            .as_ref()
            .map(|t| (t, runner.password.as_ref())),
        admin: admin.as_ref().map(|a| (a, runner.admin_password.as_ref())),
        install: args.install_driver,
    };
    let step = Step::CreateSchema;
    match crate::embeddings::run(&inputs, choice, &mut |event, text| {
        printer.say(step, event, text)
    }) {
        Ok(change) => {
            use crate::data::embeddings::EmbeddingsChoice;
            // Decided by the flags: the state machine does not ask again.
            let choice = if change.is_empty() {
                EmbeddingsChoice::Keep
            } else if change
                .changes
                .iter()
                .all(|c| c.kind == crate::copy::vector::VecKind::Half)
            {
                EmbeddingsChoice::HalfVec
            } else {
                EmbeddingsChoice::Vector
            };
            crate::state::update(
                m,
                crate::state::Msg::Given(crate::state::Given::Embeddings(choice)),
            );
            true
        }
        Err(e) => {
            printer.say(step, Name::Failed, &format!("embeddings: {e:#}"));
            false
        }
    }
}
