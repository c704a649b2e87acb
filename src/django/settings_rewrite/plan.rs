//! Planning the change: the new settings text and its diff, or the snippet to paste.

use super::edit::{edit, missing_imports};
use super::envvars::{dotenv_loader, env_example, env_vars, shell_lines};
use super::generate::{Generated, Shape, generate, verifies};
use super::options::carry_over;
use crate::data::settings::{
    LocateOutcome, RewritePlan, SettingsChange, SettingsLocation, SettingsStyle, SettingsTarget,
    Site, SiteKind,
};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::Path;

const SSLMODES: &[&str] = &["disable", "prefer", "require", "verify-ca", "verify-full"];

/// Plan the Update settings change for `location` (from [`super::locate`]), pointing at
/// `target`, in `style`. Reads the settings file; writes nothing.
///
/// When the location is not rewritable the plan is [`SettingsChange::Manual`]: the reason,
/// and a complete snippet (imports and `DATABASES`) to paste.
pub fn plan_rewrite(
    project_dir: &Path,
    location: &SettingsLocation,
    target: &SettingsTarget,
    style: SettingsStyle,
) -> Result<RewritePlan> {
    if !SSLMODES.contains(&target.sslmode.as_str()) {
        bail!(
            "SSL mode {:?} is not one of libpq's ({})",
            target.sslmode,
            SSLMODES.join(", ")
        );
    }
    let mut notes = location.notes.clone();
    let shape = choose_shape(style, location, &mut notes);
    note_prerequisites(location, target, shape, &mut notes);
    let env = env_vars(target, shape);
    let rel = |p: &Path| {
        p.strip_prefix(project_dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    // The paste-able snippet, also for a rewritable file (`--no-settings-rewrite` prints it).
    let site = match &location.outcome {
        LocateOutcome::Rewritable(site) => Some(&**site),
        LocateOutcome::NotRewritable { .. } => None,
    };
    let (snippet_code, snippet) = paste_snippet(target, shape, site);
    let change = match &location.outcome {
        LocateOutcome::Rewritable(site) => {
            rewrite_change(location, site, target, shape, &rel, &mut notes)?
        }
        LocateOutcome::NotRewritable { reason } => {
            notes.extend(snippet_code.notes.iter().cloned());
            SettingsChange::Manual {
                reason: reason.clone(),
                file: Some(location.settings_file.clone()),
                snippet: snippet.clone(),
            }
        }
    };
    let settings_name = match &change {
        SettingsChange::Rewrite { file, .. } => rel(file),
        SettingsChange::Manual { .. } => rel(&location.settings_file),
    };
    // A project that loads .env itself (python-dotenv, django-environ) gets its values
    // from there: the new DATABASES reads os.environ, which that load fills.
    let loader = [Some(&location.settings_file), site.map(|s| &s.file)]
        .into_iter()
        .flatten()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .find_map(|text| dotenv_loader(&text));
    if let Some(loader) = loader {
        notes.push(format!(
            "{settings_name} loads .env with {loader}: copy .env.example to .env and fill in \
             the password; the new DATABASES reads those values from the environment"
        ));
    }
    Ok(RewritePlan {
        style,
        project_dir: project_dir.to_path_buf(),
        env_example: env_example(&env, &settings_name, loader),
        snippet,
        shell_lines: shell_lines(&env),
        env,
        change,
        notes,
    })
}

/// The code's shape for `style`: DATABASE_URL through dj-database-url only when the
/// project's Python has it (else urllib.parse, with a note).
fn choose_shape(
    style: SettingsStyle,
    location: &SettingsLocation,
    notes: &mut Vec<String>,
) -> Shape {
    match style {
        SettingsStyle::Env => Shape::Env,
        SettingsStyle::DatabaseUrl if location.dj_database_url => Shape::DjDatabaseUrl,
        SettingsStyle::DatabaseUrl => {
            notes.push(
                "dj-database-url is not installed in the project's Python, so the settings read DATABASE_URL with urllib.parse (`pip install dj-database-url` and plan again to use it instead)".into(),
            );
            Shape::UrlLib
        }
    }
}

/// Notes for what the new settings need before they can connect: the CA file for a
/// verifying sslmode, a PostgreSQL driver.
fn note_prerequisites(
    location: &SettingsLocation,
    target: &SettingsTarget,
    shape: Shape,
    notes: &mut Vec<String>,
) {
    if verifies(&target.sslmode) && target.sslrootcert.is_none() {
        notes.push(format!(
            "sslmode={} needs the server's CA certificate: set {} to the CA file's path (DigitalOcean: download it from the cluster's page)",
            target.sslmode,
            if shape == Shape::Env { "POSTGRES_SSLROOTCERT" } else { "sslrootcert= in DATABASE_URL" }
        ));
    }
    if location.postgres_driver.is_none() {
        notes.push("the project's Python has no PostgreSQL driver: install one (`pip install \"psycopg[binary]\"`) before the settings can connect".into());
    }
}

/// The code to paste (an assignment) and its text with the imports it needs.
fn paste_snippet(
    target: &SettingsTarget,
    shape: Shape,
    site: Option<&Site>,
) -> (Generated, String) {
    let snippet_code = generate(
        target,
        shape,
        SiteKind::Assign,
        &carry_over(site, target.pool),
    );
    let mut snippet: String = missing_imports(None, &snippet_code)
        .iter()
        .map(|s| format!("{s}\n"))
        .collect();
    snippet.push('\n');
    for l in &snippet_code.lines {
        snippet.push_str(l);
        snippet.push('\n');
    }
    (snippet_code, snippet)
}

/// The rewrite of the file that sets DATABASES: its new text and diff, with the notes of
/// what was carried over and generated.
fn rewrite_change(
    location: &SettingsLocation,
    site: &Site,
    target: &SettingsTarget,
    shape: Shape,
    rel: &dyn Fn(&Path) -> String,
    notes: &mut Vec<String>,
) -> Result<SettingsChange> {
    let carried = carry_over(Some(site), target.pool);
    let generated = generate(target, shape, site.kind, &carried);
    notes.extend(carried.notes.iter().cloned());
    notes.extend(generated.notes.iter().cloned());
    if site.file != location.settings_file {
        notes.push(format!(
            "DATABASES is set in {}, which {} star-imports: every settings module importing that file gets the new DATABASES unless it sets its own",
            rel(&site.file),
            location.settings_module
        ));
    }
    let bytes = std::fs::read(&site.file)
        .with_context(|| format!("could not read {}", site.file.display()))?;
    let text = String::from_utf8(bytes.clone())
        .with_context(|| format!("{} is not UTF-8", site.file.display()))?;
    let new_text = edit(&text, site, &generated)?;
    let diff = super::diff_texts(&text, &new_text, &rel(&site.file));
    Ok(SettingsChange::Rewrite {
        file: site.file.clone(),
        original_sha256: hex::encode(Sha256::digest(&bytes)),
        new_text,
        diff,
    })
}
