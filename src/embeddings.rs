//! Embeddings in a run: after the dry run and Fix permissions, before Create schema runs
//! `migrate`, find the SQLite file's embeddings, say what each choice would keep, and —
//! when the user chose `vector` or `halfvec` — make sure the target has the extension
//! (created by the admin where the role model allows it) and the project's Python has
//! pgvector-python, show the project change as a diff, and write it with backups.
//!
//! Why here: `migrate` on PostgreSQL must run the generated migration, so the change has to
//! be in the project before Create schema; and after a reset, the migration must follow the
//! regenerated `0001_initial`, which the dry run wrote. Nothing changes with `keep` (the
//! default): the findings are only reported.

pub mod columns;

use crate::copy::embeddings::{self, Embeddings};
use crate::copy::vector::VecKind;
use crate::data::django::Discovery;
use crate::django::pgvector_plan::{self as plan, Choice, Target};
use crate::output::Name;
use crate::pg::{ConnConfig, Secret};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// What the step needs from the run.
pub struct Inputs<'a> {
    pub discovery: &'a Discovery,
    pub backup_dir: Option<&'a Path>,
    pub target: Option<(&'a ConnConfig, Option<&'a Secret>)>,
    pub admin: Option<(&'a ConnConfig, Option<&'a Secret>)>,
    /// `--install-driver`: pgvector-python may be installed into the project's Python.
    pub install: bool,
}

/// The embeddings of the project's SQLite file (opened read-only).
pub fn find(d: &Discovery) -> Result<Vec<Embeddings>> {
    let Some(path) = d.database.name.as_deref() else {
        return Ok(Vec::new());
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {} read-only", path.display()))?;
    embeddings::detect(&conn)
}

/// One line per column: what was found, and what vector and halfvec would keep.
pub fn describe(found: &[Embeddings]) -> Vec<String> {
    let mut out = Vec::new();
    for e in found {
        out.push(e.summary());
        out.push(format!(
            "  as {}: {}",
            VecKind::Vector.sql(e.dim),
            e.as_vector.describe()
        ));
        if e.half_overflow > 0 {
            out.push(format!(
                "  as {}: {} vector(s) beyond its range (±65504)",
                VecKind::Half.sql(e.dim),
                e.half_overflow
            ));
        } else {
            out.push(format!(
                "  as {}: {}",
                VecKind::Half.sql(e.dim),
                e.as_half.describe()
            ));
        }
        for p in &e.problems {
            out.push(format!(
                "  problem: {} pk={} {}: {} ({})",
                p.table, p.pk, p.column, p.issue, p.excerpt
            ));
        }
    }
    out
}

/// Run the step: `say(event, text)` prints. Returns the project change written (empty with
/// `keep`).
pub fn run(
    inputs: &Inputs<'_>,
    choice: &Choice,
    say: &mut dyn FnMut(Name, &str),
) -> Result<plan::ProjectChange> {
    let d = inputs.discovery;
    let found = find(d)?;
    if found.is_empty() {
        return Ok(plan::ProjectChange::default());
    }
    // What was found was said when it was found (the dry run's `find`), and the change
    // was shown as a diff before the user (or `migrate`'s flags) applied it.
    if choice.default == Target::Keep && choice.per_field.values().all(|t| *t == Target::Keep) {
        say(
            Name::Embeddings,
            "kept as they are (pass --embeddings=vector or halfvec to turn them into pgvector columns)",
        );
        return Ok(plan::ProjectChange::default());
    }
    if already_changed(d) {
        say(
            Name::Embeddings,
            "the project already has dj2pg's pgvector migration: nothing to change",
        );
        return Ok(plan::ProjectChange::default());
    }
    let change = plan::plan(d, &found, choice)?;
    for k in &change.kept {
        say(Name::Embeddings, k);
    }
    if change.is_empty() {
        return Ok(change);
    }
    for a in &change.dropped {
        say(
            Name::Embeddings,
            &format!("argument dropped (a vector field has no use for it): {a}"),
        );
    }
    extension(inputs, say)?;
    python_package(d, inputs.install, say)?;
    let backup = inputs
        .backup_dir
        .context("the project change needs the backup folder (run Backup first)")?;
    for path in plan::apply(&change, &d.project_dir, backup)? {
        say(Name::Written, &path.display().to_string());
    }
    say(
        Name::Embeddings,
        "`dj2pg restore` puts models.py and requirements.txt back and moves the migration out",
    );
    for c in &change.changes {
        say(Name::Proof, &plan::proof_query(c).replace('\n', "; "));
    }
    let report = backup.join(REPORT_FILE);
    std::fs::write(&report, report_text(&found, &change))
        .with_context(|| format!("cannot write {}", report.display()))?;
    say(Name::Report, &report.display().to_string());
    if !change.readers.is_empty() {
        say(
            Name::Embeddings,
            "app code that reads the changed fields (they now hold a list of floats, not JSON text or bytes):",
        );
        for r in &change.readers {
            say(Name::Reader, r);
        }
    }
    Ok(change)
}

/// The embeddings report, next to the run's report in the backup folder.
pub const REPORT_FILE: &str = "embeddings.md";

/// What changed, what the narrowing costs, how to query, and what app code to check.
pub fn report_text(found: &[Embeddings], change: &plan::ProjectChange) -> String {
    let mut md = String::from("# Embeddings moved to pgvector\n\n## Columns\n\n");
    md.push_str("| field | source | rows (NULL) | becomes | index | precision |\n|---|---|---|---|---|---|\n");
    for c in &change.changes {
        // Django's column is the field's name unless db_column says otherwise.
        let e = found
            .iter()
            .find(|e| e.dim == c.dim && e.source == c.source && e.column == c.field);
        let (rows, precision) = e.map_or((String::new(), String::new()), |e| {
            (
                format!("{} ({})", e.rows, e.nulls),
                e.precision(c.kind).describe(),
            )
        });
        md.push_str(&format!(
            "| {}.{}.{} | {} | {rows} | `{}` | {} | {precision} |\n",
            c.app_label,
            c.model,
            c.field,
            c.source.describe(),
            c.kind.sql(c.dim),
            c.index.map_or("none".to_string(), |m| format!(
                "HNSW `{}`",
                m.opclass(c.kind)
            )),
        ));
    }
    md.push_str("\n## Nearest neighbours through Django's ORM\n\n```python\n");
    for c in &change.changes {
        md.push_str(&plan::proof_query(c));
        md.push_str("\n\n");
    }
    md.push_str(
        "```\n\nThe copy verified every stored vector bit for bit (float4; half for halfvec).\n",
    );
    md.push_str("\n## App code that reads the changed fields\n\n");
    if change.readers.is_empty() {
        md.push_str("None found (models.py and migrations aside).\n");
    } else {
        md.push_str("They now read a list of floats, not JSON text or bytes (a DRF serializer outputs a string):\n\n");
        for r in &change.readers {
            md.push_str(&format!("- `{r}`\n"));
        }
    }
    md.push_str("\n## Undo\n\n`dj2pg restore` puts models.py and requirements.txt back and moves the generated migration out; on a database that already ran it, `manage.py migrate APP <previous migration>` converts the columns back first.\n");
    md
}

fn already_changed(d: &Discovery) -> bool {
    d.apps.iter().filter(|a| a.local).any(|a| {
        a.migrations_dir.as_ref().is_some_and(|dir| {
            std::fs::read_dir(dir).is_ok_and(|entries| {
                entries.filter_map(|e| e.ok()).any(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.ends_with("_dj2pg_pgvector.py"))
                })
            })
        })
    })
}

/// Where to create the extension, and who may: pgvector is not a trusted extension.
pub const PROVIDER_RULES: &str = "pgvector is not a trusted extension: a superuser or the \
    provider's admin creates it (DigitalOcean: doadmin; Amazon RDS: a member of \
    rds_superuser; Cloud SQL: cloudsqlsuperuser; Azure: add VECTOR to azure.extensions \
    first; Supabase: enable it in the dashboard, in schema extensions)";

/// The target has the `vector` extension, or the admin creates it now.
fn extension(inputs: &Inputs<'_>, say: &mut dyn FnMut(Name, &str)) -> Result<()> {
    let Some((target, password)) = inputs.target else {
        bail!("the pgvector change needs the target connection (Connect first)");
    };
    let mut app = target
        .connect(password)
        .map_err(|e| anyhow::anyhow!("connecting to check the vector extension: {e}"))?;
    let has = |c: &mut postgres::Client, sql: &str| -> Result<bool> {
        Ok(c.query_opt(sql, &[])?.is_some())
    };
    if has(
        &mut app,
        "SELECT 1 FROM pg_extension WHERE extname = 'vector'",
    )? {
        say(
            Name::Embeddings,
            "the vector extension is installed in the target database",
        );
        return Ok(());
    }
    if !has(
        &mut app,
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
    )? {
        bail!(
            "the target server has no pgvector (no 'vector' in pg_available_extensions): choose \
             a server or plan with pgvector, or keep the embeddings as they are"
        );
    }
    let sql = "CREATE EXTENSION IF NOT EXISTS vector";
    let Some((admin, admin_password)) = inputs.admin else {
        bail!(
            "the vector extension is not installed in {db}: {PROVIDER_RULES}. Run as the admin, \
             connected to {db}: {sql}; or give dj2pg the admin's login (--admin-url, or l at \
             Fix permissions)",
            db = target.dbname
        );
    };
    let mut admin_at_db = admin.clone();
    admin_at_db.dbname = target.dbname.clone();
    let mut c = admin_at_db.connect(admin_password).map_err(|e| {
        anyhow::anyhow!("connecting as the admin to create the vector extension: {e}")
    })?;
    c.batch_execute(sql).map_err(|e| {
        anyhow::anyhow!(
            "{sql} as {} failed: {}. {PROVIDER_RULES}",
            admin.user,
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        )
    })?;
    say(Name::Embeddings, &format!("ran as {}: {sql}", admin.user));
    Ok(())
}

/// pgvector-python in the project's Python, installed with `--install-driver`.
fn python_package(d: &Discovery, install: bool, say: &mut dyn FnMut(Name, &str)) -> Result<()> {
    let python = d
        .python
        .as_deref()
        .context("the project's Python is unknown: pass --python")?;
    let present = |p: &Path| {
        Command::new(p)
            .args(["-c", "import pgvector.django"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if present(python) {
        return Ok(());
    }
    let shown = format!(
        "{} -m pip install '{}'",
        crate::shell::path_word(python),
        plan::REQUIREMENT
    );
    if !install {
        bail!(
            "pgvector (Python) is not installed in the project's environment: run {shown}, or \
             pass --install-driver"
        );
    }
    say(Name::Embeddings, &format!("$ {shown}"));
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            plan::REQUIREMENT,
        ])
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !out.status.success() || !present(python) {
        bail!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
