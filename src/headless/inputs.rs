//! The flags checked before the first step, so a typo costs no backup: the messages name
//! the flag once and what to give instead.

use crate::cli::MigrateArgs;
use crate::pg::{ConnConfig, Secret};
use crate::state::{Migration, Status, Step};
use anyhow::Result;

/// The connection settings the flags give, checked before anything runs.
pub(super) struct Inputs {
    pub target: Option<(ConnConfig, Option<Secret>)>,
    pub admin: Option<(ConnConfig, Option<Secret>)>,
    pub direct: Option<ConnConfig>,
}

/// Every flag and URL checked before the first step.
pub(super) fn check_inputs(args: &MigrateArgs) -> Result<Inputs> {
    if args.copy.jobs == 0 {
        anyhow::bail!("--jobs: give at least 1 (the number of parallel connections)");
    }
    for label in crate::data::django::reset_labels(&args.reset_migrations) {
        if !label.chars().all(|c| c.is_alphanumeric() || c == '_') {
            anyhow::bail!(
                "--reset-migrations: {label:?} is not an app label: give all, none, or app \
                 labels separated by commas (classifier,shop)"
            );
        }
    }
    let target = args
        .target
        .to
        .as_deref()
        .map(crate::cli::parse_target)
        .transpose()?;
    let admin = args
        .admin_url
        .as_deref()
        .map(|url| ConnConfig::from_url(url).map_err(|e| anyhow::anyhow!("--admin-url: {e:#}")))
        .transpose()?;
    // Checked now; applied per column when the dry run asks (`super::embeddings::choose`).
    crate::django::pgvector_plan::Choice::parse(
        &args.embeddings,
        args.embeddings_index.as_deref(),
    )?;
    let direct = args
        .direct_url
        .as_deref()
        .map(crate::cli::parse_direct)
        .transpose()?;
    Ok(Inputs {
        target,
        admin,
        direct,
    })
}

/// What a saved run cannot supply either: the target, and a usable backup folder.
pub(super) fn check_inputs_against(
    m: &Migration,
    args: &MigrateArgs,
    target_given: bool,
) -> Result<()> {
    let connected = matches!(m.status(Step::Connect), Status::Done { .. });
    if !target_given && m.connect.target.is_none() && !connected {
        anyhow::bail!(
            "--to: dj2pg migrate needs the target: pass --to \
             postgresql://USER@HOST:PORT/DB?sslmode=require (or set DJ2PG_TARGET_URL), with \
             the password in $PGPASSWORD or ~/.pgpass"
        );
    }
    if let (Some(dir), None) = (&args.backup_dir, &m.backup.report) {
        let occupied = dir.is_file()
            || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
        if occupied {
            anyhow::bail!(
                "--backup-dir: {} is not an empty folder: give a new or empty one, so no \
                 earlier backup is mixed in",
                dir.display()
            );
        }
    }
    Ok(())
}
