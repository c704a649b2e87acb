//! What a step leaves to print once it is done.

use crate::output::{Data, Event, Name, Printer};
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
                    printer.emit(&Event::synced(step, t));
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
