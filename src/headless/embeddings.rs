//! The embeddings questions answered from the flags, through the same state steps as the
//! wizard's choice screen: `--embeddings` (and `--embeddings-index`) set each column's type
//! and index at the end of the dry run — so Fix permissions plans the `vector` extension —
//! and the planned change is printed as its diff before it is applied at Create schema.

use super::perform;
use crate::cli::MigrateArgs;
use crate::data::embeddings::{EmbeddingsChoice, IndexChoice};
use crate::django::pgvector_plan::Choice;
use crate::output::{Name, Printer};
use crate::runner::Runner;
use crate::state::{self, Migration, Msg};
use anyhow::Result;

/// Set each column as the flags say. False (after saying why) when a flag asks for what a
/// column cannot be; a column the flags reach only through the default (`--embeddings=vector`
/// for all) is kept, or left without an index, with the reason said instead.
pub(super) fn choose(
    m: &mut Migration,
    runner: &mut Runner,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Result<bool> {
    let step = m.cursor;
    let flags = Choice::parse(&args.embeddings, args.embeddings_index.as_deref())?;
    let columns = m.embeddings.columns();
    if let Some(unknown) = flags
        .per_field
        .keys()
        .find(|k| !columns.iter().any(|c| &c.field == *k))
    {
        let found: Vec<&str> = columns.iter().map(|c| c.field.as_str()).collect();
        let text = format!(
            "--embeddings={unknown}=…: no embeddings were found in that field; the fields \
             with embeddings are: {}",
            found.join(", ")
        );
        printer.say(step, Name::Failed, &text);
        return Ok(false);
    }
    for (column, col) in columns.iter().enumerate() {
        let (ty, index) = crate::embeddings::columns::wanted(&flags, &col.field);
        if ty == EmbeddingsChoice::Keep {
            continue;
        }
        let named = flags.per_field.contains_key(&col.field);
        if let Some(why) = col.refusal(ty, IndexChoice::None) {
            if named {
                let text = format!("--embeddings={}={}: {why}", col.field, ty.word());
                printer.say(step, Name::Failed, &text);
                return Ok(false);
            }
            printer.say(step, Name::Embeddings, &format!("{why}; kept as it is"));
            continue;
        }
        set(m, runner, Msg::EmbeddingType { column, ty })?;
        if let Some(why) = col.refusal(ty, index) {
            // The reason is worded for the choice screen's keys; here the flag says it.
            let why = why.replace("no index (n)", "no index (--embeddings-index=none)");
            if args.embeddings_index.is_some() {
                let flag = args.embeddings_index.as_deref().unwrap_or_default();
                let text = format!("--embeddings-index={flag}: {why}");
                printer.say(step, Name::Failed, &text);
                return Ok(false);
            }
            printer.say(step, Name::Embeddings, &format!("{why}; no index"));
            set(
                m,
                runner,
                Msg::EmbeddingIndex {
                    column,
                    index: IndexChoice::None,
                },
            )?;
            continue;
        }
        set(m, runner, Msg::EmbeddingIndex { column, index })?;
    }
    let plan = m.embeddings.plan.as_ref();
    if !plan.is_some_and(|p| p.changes()) {
        printer.say(
            step,
            Name::Embeddings,
            "kept as they are (pass --embeddings=vector or halfvec to turn them into pgvector columns)",
        );
    }
    for c in plan.map(|p| p.columns.as_slice()).unwrap_or_default() {
        if c.ty != EmbeddingsChoice::Keep {
            let text = format!("{}: {}, index {}", c.field, c.ty.word(), c.index.word());
            printer.say(step, Name::Embeddings, &text);
        }
    }
    Ok(true)
}

fn set(m: &mut Migration, runner: &mut Runner, msg: Msg) -> Result<()> {
    let fx = state::update(m, msg);
    perform(m, runner, fx)
}

/// The planned change, one diff line per event (nothing written yet), then its notes.
pub(super) fn print_diff(m: &Migration, printer: &mut Printer<'_>) {
    let step = m.cursor;
    let Some(diff) = m.embeddings.plan.as_ref().and_then(|p| p.diff.as_ref()) else {
        return;
    };
    for (_, file) in &diff.files {
        for line in file.unified.lines() {
            printer.say(step, Name::Preview, line);
        }
    }
    for note in &diff.notes {
        printer.say(step, Name::Note, note);
    }
}
