//! The command line: `dj2pg [wizard]`, `dj2pg migrate`, `dj2pg copy`, `dj2pg sync`,
//! `dj2pg demo`.

use crate::data::copy::ProblemPolicy;
use crate::pg::{ConnConfig, Secret};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Move a Django project from SQLite to PostgreSQL without losing a row.
///
/// With no subcommand, opens the wizard: on the project in the current directory, or the
/// one named (`dj2pg ~/code/app`, `dj2pg -p ~/code/app --to URL`).
#[derive(Debug, Parser)]
#[command(
    name = "dj2pg",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    override_usage = "dj2pg [DIR] [OPTIONS]   (the wizard)\n       dj2pg <COMMAND>"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The wizard's options, when no subcommand is given.
    #[command(flatten)]
    pub wizard: WizardArgs,
}

/// `dj2pg DIR …` as `dj2pg --project DIR …`: a first word that is no subcommand but names
/// a folder (or looks like a path) is the project. Anything else is left to clap, which
/// suggests the subcommand meant.
pub fn with_project_path(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return args;
    };
    let command = Cli::command();
    let is_subcommand = first == "help"
        || command
            .get_subcommands()
            .any(|c| c.get_name() == first || c.get_all_aliases().any(|a| a == first));
    // A URL is no folder (`dj2pg postgresql://…` wants `--to`): clap's usage error says so.
    let pathlike = !first.contains("://")
        && (std::path::Path::new(first).is_dir() || first.contains('/') || first == ".");
    if first.starts_with('-') || is_subcommand || !pathlike {
        return args;
    }
    let mut out = args;
    out.insert(1, "--project".into());
    out
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the terminal wizard on a project (the default).
    Wizard(WizardArgs),
    /// Run the wizard's steps without a terminal, printing one line per event.
    Migrate(Box<MigrateArgs>),
    /// Copy the rows of any SQLite file into an existing PostgreSQL schema.
    Copy(CopyArgs),
    /// After a copy made while the app kept writing: apply to PostgreSQL only what changed
    /// in the SQLite file since, verified, in one transaction (the cutover).
    Sync(SyncArgs),
    /// Create the sample AI-prototype project and a throwaway PostgreSQL, then open the wizard.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Put back the migrations a reset moved (and settings.py), from a backup folder.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The Django project the backup was taken of.
    #[arg(long, short = 'p', default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// The backup folder (holding manifest.json), e.g. .dj2pg/backups/20261201-223045.
    #[arg(long, value_name = "DIR")]
    pub backup: PathBuf,
    /// Move files changed since the reset into the archive instead of stopping.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Where the project is and which Python runs it.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// The Django project: the folder holding manage.py (or a folder above it).
    #[arg(long, short = 'p', default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// The project's Python (default: $VIRTUAL_ENV, then .venv, venv or env in the project, then python3).
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
}

/// The target database.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The target, as postgresql://USER@HOST:PORT/DB?sslmode=require (DigitalOcean: port 25060).
    /// Give the password in $PGPASSWORD or ~/.pgpass rather than in the URL, where other
    /// users of the machine could read it in the process list.
    #[arg(
        long,
        value_name = "URL",
        env = "DJ2PG_TARGET_URL",
        hide_env_values = true
    )]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct WizardArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the backup goes (a new or empty folder); default: .dj2pg/backups/<time>/ in
    /// the project, which is added to .gitignore.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Forget any saved run of this project and start over.
    #[arg(long)]
    pub fresh: bool,
    /// When the target is a connection pool (DigitalOcean 25061, Supabase 6543, Azure 6432):
    /// the same role and database without the pool, for the schema and the copy
    /// (postgresql://USER@HOST:DIRECT_PORT/DB). Default: the provider's direct port, or the
    /// server's own port behind the pool. The app's settings keep the pool.
    #[arg(long, value_name = "URL")]
    pub direct_url: Option<String>,
}

/// What to do with values that PostgreSQL would reject.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BadData {
    /// Stop before writing anything (the default).
    Abort,
    /// Leave the offending rows out, recording them in the reject files.
    Skip,
    /// Apply each problem's named fix (truncate to n, strip NUL) and report it.
    Fix,
}

impl From<BadData> for ProblemPolicy {
    fn from(b: BadData) -> ProblemPolicy {
        match b {
            BadData::Abort => ProblemPolicy::Abort,
            BadData::Skip => ProblemPolicy::SkipRows,
            BadData::Fix => ProblemPolicy::Fix,
        }
    }
}

/// Options of the copy engine, shared by `migrate` and `copy`.
#[derive(Debug, Clone, Args)]
pub struct CopyOptions {
    /// Parallel connections for the copy.
    #[arg(long, short = 'j', default_value_t = default_jobs(), value_name = "N")]
    pub jobs: usize,
    /// Where rows left out by --on-bad-data=skip are recorded (JSON lines per table).
    #[arg(long, value_name = "DIR")]
    pub rejects: Option<PathBuf>,
    /// What to do when preflight finds values PostgreSQL would reject.
    #[arg(long, value_enum, default_value_t = BadData::Abort)]
    pub on_bad_data: BadData,
    /// Empty target tables that already hold rows without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// SQLite tables (TABLE) or columns (TABLE.COLUMN) that hold data but have no place in
    /// the PostgreSQL schema, to leave behind on purpose (comma-separated, or repeated).
    /// Without it such data stops the copy before anything is written.
    #[arg(long, value_name = "TABLE[.COLUMN]", value_delimiter = ',')]
    pub leave_behind: Vec<String>,
    /// Print JSON lines instead of text: one event a line, `"v":1` (README, "JSON lines";
    /// assets/events.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Print no progress lines (the preflight report and the verification still print).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Tables with at least N rows load in bulk mode: indexes and foreign keys set aside
    /// and rebuilt in the table's transaction. Smaller ones keep them (fewer round trips).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub bulk_min_rows: u64,
    /// Smaller tables load together, at most N rows per batch: each batch is loaded, read
    /// back and analyzed in one round trip to the server. 0: every table on its own.
    #[arg(long, value_name = "N", default_value_t = crate::data::copy::DEFAULT_BATCH_ROWS)]
    pub batch_rows: u64,
    /// Compress large values (long JSON lists, text) with the server's default method
    /// (pglz) instead of lz4: about 30% less disk for long JSON, and slower to load
    /// (384-dimension JSON embeddings: about twice as slow).
    #[arg(long)]
    pub server_compression: bool,
    /// `dj2pg copy` only, for measuring: bulk tables that share a parent load one after
    /// the other, as before siblings loaded together.
    #[arg(long, hide = true)]
    pub siblings_apart: bool,
}

/// Parallel connections for the copy when none are asked for: one per core, 2 to 4. The
/// one place this machine-dependent default is decided (the wizard and both commands).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().clamp(2, 4))
        .unwrap_or(2)
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub copy: CopyOptions,
    /// An admin of the target (DigitalOcean: doadmin), to fix the app role's privileges:
    /// postgresql://doadmin@HOST:PORT/DB. Its password: in the URL or $DJ2PG_ADMIN_PASSWORD.
    /// Without it, a missing privilege stops the run with the SQL for a DBA.
    #[arg(
        long,
        value_name = "URL",
        env = "DJ2PG_ADMIN_URL",
        hide_env_values = true
    )]
    pub admin_url: Option<String>,
    /// When the target is a connection pool (DigitalOcean 25061, Supabase 6543, Azure 6432):
    /// the same role and database without the pool, for the schema and the copy
    /// (postgresql://USER@HOST:DIRECT_PORT/DB). Default: the provider's direct port, or the
    /// server's own port behind the pool. The app's settings keep the pool.
    #[arg(long, value_name = "URL")]
    pub direct_url: Option<String>,
    /// Which permission fix to run as the admin: grant-schema, own-schema, runtime-role,
    /// owner, or recommended (the default: the one that works with the fewest changes).
    #[arg(long, value_name = "RECIPE", value_parser = ["recommended", "grant-schema", "own-schema", "runtime-role", "owner"])]
    pub fix_permissions: Option<String>,
    /// Install the PostgreSQL driver (psycopg) into the project's Python when it is missing.
    #[arg(long)]
    pub install_driver: bool,
    /// When the role that runs migrate grants its new tables to other roles by default
    /// (Supabase's API roles anon and authenticated): revoke those grants on Django's tables
    /// after migrate, or keep them. Without it the run stops before migrate with the SQL for
    /// a role of the app's own (recommended).
    #[arg(long, value_name = "WHAT", value_parser = ["revoke", "keep"])]
    pub default_grants: Option<String>,
    /// Where the backup goes (a new or empty folder); default: .dj2pg/backups/<time>/ in
    /// the project, which is added to .gitignore.
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Which apps' migrations to move into the backup and regenerate: all, none (the
    /// default) or a list of app labels (classifier,shop). The preview is printed first.
    #[arg(long, value_name = "APPS", default_value = "none")]
    pub reset_migrations: String,
    /// Go on when the git tree has uncommitted changes (or is not a repository).
    #[arg(long)]
    pub allow_dirty: bool,
    /// How the new settings read the connection: env (POSTGRES_* variables, the default)
    /// or database-url (DATABASE_URL, with dj-database-url when the project has it).
    #[arg(long, value_name = "STYLE", value_parser = ["env", "database-url"])]
    pub settings_style: Option<String>,
    /// Do not edit settings.py: print the DATABASES snippet to paste instead.
    #[arg(long)]
    pub no_settings_rewrite: bool,
    /// Forget any saved run of this project and start over (default: resume it).
    #[arg(long)]
    pub fresh: bool,
    /// Embeddings in the SQLite file (JSON lists of numbers, packed float blobs): keep them
    /// as they are (the default), or turn them into pgvector's vector or halfvec, with a
    /// generated migration. For all columns, or per field: app.Model.field=halfvec
    /// (repeat the flag). pgvector-python is installed with --install-driver.
    #[arg(long, value_name = "CHOICE")]
    pub embeddings: Vec<String>,
    /// The index of each pgvector column: hnsw-cosine (the default), hnsw-l2, hnsw-ip or none.
    #[arg(long, value_name = "INDEX")]
    pub embeddings_index: Option<String>,
    /// Cutover: rows changed on PostgreSQL since the copy that SQLite changed too. Without
    /// this flag the run lists them, changes nothing and stops.
    #[arg(long, value_enum, value_name = "CHOICE")]
    pub on_conflict: Option<ConflictChoice>,
    /// Skip the Cutover step (the sync of what the app wrote since the copy's snapshot);
    /// dj2pg sync does it later.
    #[arg(long)]
    pub skip_cutover: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The SQLite file to read (opened read-only; never modified).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub copy: CopyOptions,
    /// The SQLite file's naive datetimes are in this zone (Django with USE_TZ = False);
    /// by default they are UTC, as Django stores them with USE_TZ = True.
    #[arg(long, value_name = "TZ")]
    pub time_zone: Option<String>,
}

/// What to do with rows changed on both sides since the copy.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ConflictChoice {
    /// Leave PostgreSQL's row as it is.
    KeepPostgres,
    /// Write SQLite's row over it.
    TakeSqlite,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The SQLite file that was copied (read through a snapshot; never modified).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Apply without asking (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Rows changed on PostgreSQL since the copy that SQLite changed too: without this
    /// flag the sync lists them and changes nothing.
    #[arg(long, value_enum, value_name = "CHOICE")]
    pub on_conflict: Option<ConflictChoice>,
    /// Remove the snapshot the copy kept for syncs of this file into this database.
    #[arg(long)]
    pub forget: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// About how many rows the sample project's SQLite file gets.
    #[arg(long, default_value_t = 5000)]
    pub rows: usize,
    /// Use this PostgreSQL instead of starting a throwaway local one.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Where to create the sample project (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Parse `--direct-url` (a password in it is not used: the target's is).
pub fn parse_direct(url: &str) -> anyhow::Result<ConnConfig> {
    ConnConfig::from_url(url)
        .map(|(c, _)| c)
        .map_err(|e| anyhow::anyhow!("--direct-url: {e:#}"))
}

/// Parse a target URL, keeping a password it carries apart from the settings.
pub fn parse_target(url: &str) -> anyhow::Result<(ConnConfig, Option<Secret>)> {
    ConnConfig::from_url(url).map_err(|e| anyhow::anyhow!("--to: {e:#}"))
}

/// The program: parse, dispatch, and turn errors into a message and an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(with_project_path(std::env::args_os().collect()));
    let result = match cli.command {
        None => crate::wizard::launch(cli.wizard),
        Some(Command::Wizard(args)) => crate::wizard::launch(args),
        Some(Command::Migrate(args)) => crate::headless::run(*args),
        Some(Command::Copy(args)) => crate::headless::copy(args),
        Some(Command::Sync(args)) => sync(args),
        #[cfg(feature = "demo")]
        Some(Command::Demo(args)) => crate::demo::run(args),
        Some(Command::Restore(args)) => {
            crate::backup::restore_command(&args.project, &args.backup, args.yes)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dj2pg: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `dj2pg sync`: exit 0 synced (or nothing to do), 1 conflicts or declined, 2 an error.
fn sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    use crate::copy::sync::{OnConflict, command};
    let Some(url) = args.target.to.as_deref() else {
        anyhow::bail!(
            "dj2pg sync needs the target: --to postgresql://USER@HOST:PORT/DB?sslmode=require"
        );
    };
    let (to, password) = parse_target(url)?;
    let stop = crate::copy::Stop::default();
    crate::interrupt::install(&stop.cancel)?;
    let ending = command::run(
        command::SyncArgs {
            from: args.from,
            to,
            password,
            yes: args.yes,
            json: args.json,
            on_conflict: match args.on_conflict {
                None => OnConflict::Stop,
                Some(ConflictChoice::KeepPostgres) => OnConflict::KeepPostgres,
                Some(ConflictChoice::TakeSqlite) => OnConflict::TakeSqlite,
            },
            forget: args.forget,
        },
        &mut std::io::stdout().lock(),
        stop,
    )?;
    Ok(match ending {
        command::Ending::Synced => ExitCode::SUCCESS,
        command::Ending::Conflicts | command::Ending::Declined => ExitCode::FAILURE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_every_subcommand() {
        let help = Cli::command().render_long_help().to_string();
        for sub in ["wizard", "migrate", "copy", "sync", "demo", "restore"] {
            assert!(help.contains(sub), "{sub} missing from --help:\n{help}");
        }
    }

    fn parsed(args: &[&str]) -> Cli {
        let args = args.iter().map(std::ffi::OsString::from).collect();
        Cli::try_parse_from(with_project_path(args)).unwrap()
    }

    #[test]
    fn a_folder_as_the_first_word_opens_the_wizard_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let cli = parsed(&["dj2pg", d, "--to", "postgresql://u@h/db"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.wizard.project.project, std::path::Path::new(d));
        assert_eq!(cli.wizard.target.to.as_deref(), Some("postgresql://u@h/db"));
        let cli = parsed(&["dj2pg", "-p", d, "--fresh"]);
        assert!(cli.command.is_none() && cli.wizard.fresh);
        assert_eq!(cli.wizard.project.project, std::path::Path::new(d));
        // Subcommands stay subcommands; a mistyped one is clap's to correct, not a folder.
        assert!(matches!(
            parsed(&["dj2pg", "restore", "--backup", d]).command,
            Some(Command::Restore(_))
        ));
        let url = ["dj2pg", "postgresql://u@h/db"]
            .map(std::ffi::OsString::from)
            .to_vec();
        assert_eq!(with_project_path(url.clone()), url, "a URL is not a folder");
        let typo = ["dj2pg", "migate"].map(std::ffi::OsString::from).to_vec();
        assert_eq!(with_project_path(typo.clone()), typo);
        let e = Cli::try_parse_from(typo).unwrap_err().to_string();
        assert!(e.contains("'migrate'"), "{e}");
    }
}
