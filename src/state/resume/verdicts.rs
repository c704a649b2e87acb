//! Per done step: does its result still stand, given what the resume check saw? Pure.

use super::{Finding, done};
use crate::data::pg::ConnConfig;
use crate::data::resume::{Observed, Seen, TargetSeen};
use crate::state::{Migration, Step};

fn found(step: Step, holds: bool, text: String) -> Finding {
    Finding { step, holds, text }
}

/// Per done step: does its result still stand, given what the check saw? Pure.
pub fn verdicts(m: &Migration, seen: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    if done(m, Step::Discover) {
        out.push(discover_verdict(m, seen));
    }
    if done(m, Step::Backup)
        && let Some(f) = backup_verdict(m, seen)
    {
        out.push(f);
    }
    if done(m, Step::ResetMigrations) {
        out.push(reset_verdict(seen));
    }
    if let Some(target) = &seen.target {
        out.extend(target_verdicts(m, target, seen.password_given));
    }
    out
}

fn discover_verdict(m: &Migration, seen: &Observed) -> Finding {
    let step = Step::Discover;
    let project = m.options.project.display();
    if seen.manage_py == Some(false) {
        return found(step, false, format!("manage.py is gone from {project}"));
    }
    let Some(path) = m.sqlite_path() else {
        return found(
            step,
            true,
            "the project is still there (it has no SQLite file)".into(),
        );
    };
    let path = path.display();
    match (&seen.sqlite, &m.witness.sqlite) {
        (None, _) => found(step, true, format!("the project is still at {project}")),
        (Some(Seen::Missing), _) => found(step, false, format!("the SQLite file {path} is gone")),
        (Some(Seen::Unreadable(e)), _) => found(
            step,
            false,
            format!("the SQLite file {path} cannot be looked at ({e})"),
        ),
        (Some(Seen::Found(_)), None) => found(
            step,
            false,
            format!(
                "nothing was recorded about the SQLite file {path} when Discover ran, so it \
                 cannot be told the same"
            ),
        ),
        (Some(Seen::Found(now)), Some((then, at))) => {
            if then.replaced_by(now) {
                found(
                    step,
                    false,
                    format!(
                        "the SQLite file {path} is another file than the one Discover found \
                         on {at} (the project was replaced, or the file copied over)"
                    ),
                )
            } else {
                found(
                    step,
                    true,
                    format!("the SQLite file {path} is the same file"),
                )
            }
        }
    }
}

fn backup_verdict(m: &Migration, seen: &Observed) -> Option<Finding> {
    let step = Step::Backup;
    let report = m.backup.report.as_ref()?;
    let dir = report.backup_dir.display();
    let Some(b) = &seen.backup else {
        return Some(found(
            step,
            false,
            format!("the backup folder {dir} was not checked"),
        ));
    };
    if !b.dir_exists {
        return Some(found(
            step,
            false,
            format!("the backup folder {dir} is gone"),
        ));
    }
    let manifest = match &b.manifest {
        Seen::Missing => Err(format!(
            "the backup folder {dir} has no manifest.json any more"
        )),
        Seen::Unreadable(e) => Err(format!("the manifest of {dir} cannot be read ({e})")),
        Seen::Found(recorded) => match (&report.sqlite, recorded) {
            (Some(made), Some((size, sha))) if (made.size, &made.sha256) != (*size, sha) => {
                Err(format!(
                    "the manifest of {dir} describes another SQLite copy (sha256 {}…) than \
                     the one this run made (sha256 {}…)",
                    short(sha),
                    short(&made.sha256)
                ))
            }
            (Some(_), None) => Err(format!(
                "the manifest of {dir} no longer lists the SQLite copy"
            )),
            _ => Ok(()),
        },
    };
    if let Err(text) = manifest {
        return Some(found(step, false, text));
    }
    if let Some(made) = &report.sqlite {
        let file = report.backup_dir.join(&made.file);
        let file = file.display();
        let bad = match &b.copy_size {
            Seen::Missing => Some(format!("the SQLite copy {file} is gone")),
            Seen::Unreadable(e) => Some(format!("the SQLite copy {file} cannot be read ({e})")),
            Seen::Found(n) if *n != made.size => Some(format!(
                "the SQLite copy {file} has {n} bytes; the backup made {}",
                made.size
            )),
            Seen::Found(_) => None,
        };
        if let Some(text) = bad {
            return Some(found(step, false, text));
        }
    }
    Some(found(
        step,
        true,
        format!("the backup folder {dir}, its manifest and the SQLite copy are as made"),
    ))
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn some_paths(paths: &[std::path::PathBuf]) -> String {
    let mut names: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        names.push(format!("and {} more", paths.len() - 3));
    }
    names.join(", ")
}

fn reset_verdict(seen: &Observed) -> Finding {
    let step = Step::ResetMigrations;
    if !seen.moved_back.is_empty() {
        return found(
            step,
            false,
            format!(
                "the old migration files the reset moved away are back ({}): the project \
                 was restored or replaced since",
                some_paths(&seen.moved_back)
            ),
        );
    }
    if !seen.regenerated_missing.is_empty() {
        return found(
            step,
            false,
            format!(
                "the migration files makemigrations wrote are gone ({})",
                some_paths(&seen.regenerated_missing)
            ),
        );
    }
    found(
        step,
        true,
        "the reset migrations are in place; the old files are not back".into(),
    )
}

/// Where the target is, for sentences: `appdb at host:port`.
fn where_(t: &ConnConfig) -> String {
    format!("{} at {}:{}", t.dbname, t.host, t.port)
}

fn target_verdicts(
    m: &Migration,
    target: &Result<TargetSeen, String>,
    password_given: bool,
) -> Vec<Finding> {
    let Some(config) = &m.connect.target else {
        return Vec::new();
    };
    let at = where_(config);
    // The step that answers for the target: Connect when done, else the first done one.
    let Some(owner) = [
        Step::Connect,
        Step::FixPermissions,
        Step::CreateSchema,
        Step::CopyRows,
    ]
    .into_iter()
    .find(|s| done(m, *s)) else {
        return Vec::new();
    };
    let seen = match target {
        Err(e) => {
            let how = if password_given {
                String::new()
            } else {
                " No password was given to check it: set PGPASSWORD, or give it in the \
                 Connect form, and Connect runs again."
                    .to_string()
            };
            return vec![found(
                owner,
                false,
                format!(
                    "could not check that the database {at} is still the one this run \
                     prepared: {e}.{how}"
                ),
            )];
        }
        Ok(seen) => seen,
    };
    let since = match (&m.witness.copied_at, &m.witness.target) {
        (Some(copied), _) if done(m, Step::CopyRows) => format!("the copy on {copied}"),
        (_, Some((_, connected))) => format!("Connect on {connected}"),
        _ => "this run prepared it".into(),
    };
    let Some((then, _)) = &m.witness.target else {
        return vec![found(
            owner,
            false,
            format!(
                "nothing was recorded about the database {at} when Connect ran, so it cannot \
                 be told the same"
            ),
        )];
    };
    let now = &seen.identity;
    if let (Some(a), Some(b)) = (&then.system_identifier, &now.system_identifier)
        && a != b
    {
        return vec![found(
            owner,
            false,
            format!(
                "{}:{} is another PostgreSQL server than at {since} (system identifier {b}, \
                 was {a})",
                config.host, config.port
            ),
        )];
    }
    if then.database_oid != now.database_oid || then.database != now.database {
        return vec![found(
            owner,
            false,
            format!("the database {at} was recreated since {since}"),
        )];
    }
    if then.role_oid != now.role_oid || then.role != now.role {
        return vec![found(
            owner,
            false,
            format!("the role {} was recreated since {since}", now.role),
        )];
    }
    let mut out = vec![found(
        owner,
        true,
        format!("the database {at} is the same one (same server, database and role)"),
    )];
    if done(m, Step::CreateSchema) {
        out.push(schema_verdict(m, seen, &at));
    }
    if done(m, Step::CopyRows) {
        out.push(copy_verdict(m, seen, &at));
    }
    out
}

fn schema_verdict(m: &Migration, seen: &TargetSeen, at: &str) -> Finding {
    let step = Step::CreateSchema;
    let Some((recorded, when)) = &m.witness.schema else {
        return found(
            step,
            false,
            "nothing was recorded about the migrations Create schema applied".into(),
        );
    };
    match &seen.applied {
        None => found(step, false, "django_migrations was not checked".into()),
        Some(Err(e)) => found(
            step,
            false,
            format!(
                "django_migrations cannot be read in {at} ({e}): the schema Create schema \
                 made on {when} is gone"
            ),
        ),
        Some(Ok(now)) => {
            let missing: Vec<&String> = recorded.iter().filter(|r| !now.contains(r)).collect();
            if missing.is_empty() {
                found(
                    step,
                    true,
                    format!(
                        "django_migrations holds the {} migration(s) Create schema applied",
                        recorded.len()
                    ),
                )
            } else {
                found(
                    step,
                    false,
                    format!(
                        "django_migrations in {at} lacks {} of the migrations Create schema \
                         applied on {when} (e.g. {})",
                        missing.len(),
                        missing[0]
                    ),
                )
            }
        }
    }
}

fn copy_verdict(m: &Migration, seen: &TargetSeen, at: &str) -> Finding {
    let step = Step::CopyRows;
    let Some(report) = &m.copy.report else {
        return found(step, false, "the copy's report is gone".into());
    };
    let when = m
        .witness
        .copied_at
        .as_deref()
        .map(|t| format!(" on {t}"))
        .unwrap_or_default();
    let mut changed = Vec::new();
    for check in &report.checks {
        match seen.counts.iter().find(|(t, _)| *t == check.target_sql()) {
            None => changed.push(format!("{} was not counted", check.table)),
            Some((_, Err(e))) => changed.push(format!("{}: {e}", check.table)),
            Some((_, Ok(n))) if *n != check.target_rows => changed.push(format!(
                "{} holds {n} row(s), the copy{when} left {}",
                check.table, check.target_rows
            )),
            Some(_) => {}
        }
    }
    if changed.is_empty() {
        return found(
            step,
            true,
            format!(
                "the {} copied table(s) in {at} hold the rows the copy left",
                report.checks.len()
            ),
        );
    }
    let n = changed.len();
    changed.truncate(3);
    found(
        step,
        false,
        format!(
            "the copied rows in {at} changed since the copy{when}: {}{} (the copy runs \
             again, and keeps the tables its own check finds intact)",
            changed.join("; "),
            if n > 3 {
                format!("; {} more table(s)", n - 3)
            } else {
                String::new()
            }
        ),
    )
}
