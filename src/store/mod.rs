//! Saving and loading the run, keyed by the project's path: the drivers' IO (files, the
//! environment, the clock), kept out of `state`, which only answers messages.
//!
//! The file lives in the user's data directory (`directories`), or in `$DJ2PG_STATE_DIR`
//! when set (tests, and users who want it elsewhere). It is written to a temporary file
//! and renamed, so a crash mid-write leaves the previous state intact. Nothing secret is in
//! a `Migration`, so nothing secret reaches this file.

use crate::state::{self, Migration, Msg, STATE_VERSION};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The directory holding saved runs.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DJ2PG_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "dj2pg")
        .context("could not find a home directory for dj2pg's saved runs; set DJ2PG_STATE_DIR")?;
    Ok(dirs.data_dir().join("runs"))
}

/// The state file of one project: a readable stem plus a hash of the canonical path.
pub fn state_file(project: &Path) -> Result<PathBuf> {
    Ok(state_file_in(&state_dir()?, project))
}

fn state_file_in(dir: &Path, project: &Path) -> PathBuf {
    let canonical = project
        .canonicalize()
        .unwrap_or_else(|_| project.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let stem: String = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    dir.join(format!("{stem}-{}.json", &hex::encode(digest)[..16]))
}

/// Write the run atomically.
pub fn save(m: &Migration) -> Result<PathBuf> {
    save_in(&state_dir()?, m)
}

/// Write the run atomically into `dir`.
pub fn save_in(dir: &Path, m: &Migration) -> Result<PathBuf> {
    let path = state_file_in(dir, &m.options.project);
    let dir = path
        .parent()
        .context("state file has no parent directory")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create the state directory {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(m).context("could not serialize the run")?;
    crate::atomic::write(&path, &json)?;
    Ok(path)
}

/// What loading found: a run to offer for resuming, and anything the user must be told.
#[derive(Debug, Default)]
pub struct Loaded {
    pub run: Option<Migration>,
    /// Said once, on screen or in the headless output (a file moved aside, steps that
    /// this version builds and the saved run had passed over).
    pub notice: Option<String>,
}

/// Load the saved run of `project`, if there is one worth resuming.
///
/// The loaded run is told `Msg::Interrupted` with the time it was saved: a step that was
/// running when the program stopped is marked stopped ("interrupted"), so resuming shows it
/// with a retry rather than pretending it still runs, and the resume is offered. A file
/// of another format version, or one that cannot be read, is moved aside with a notice,
/// never trusted. A finished run is not offered.
pub fn load(project: &Path) -> Result<Loaded> {
    load_in(&state_dir()?, project)
}

/// Load the saved run of `project` from `dir`.
pub fn load_in(dir: &Path, project: &Path) -> Result<Loaded> {
    let path = state_file_in(dir, project);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let parsed = parse(&bytes);
    let mut m = match parsed {
        Ok(m) => m,
        Err(why) => {
            let aside = move_aside(&path)?;
            return Ok(Loaded {
                run: None,
                notice: Some(format!(
                    "The saved run of this project could not be resumed: {why}. It was moved \
                     to {} and a new run starts.",
                    aside.display()
                )),
            });
        }
    };
    if m.finished() {
        return Ok(Loaded::default());
    }
    let saved_at = std::fs::metadata(&path)
        .and_then(|md| md.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Local>::from(t)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let fx = state::update(&mut m, Msg::Interrupted { saved_at });
    debug_assert!(
        fx.is_empty(),
        "marking a loaded run interrupted has no effects"
    );
    Ok(Loaded {
        run: Some(m),
        notice: None,
    })
}

/// Read a saved run of this format version; otherwise why it cannot be resumed.
pub(crate) fn parse(bytes: &[u8]) -> std::result::Result<Migration, String> {
    let version = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("version")?.as_u64());
    match version {
        Some(v) if v == u64::from(STATE_VERSION) => serde_json::from_slice::<Migration>(bytes)
            .map_err(|e| format!("it cannot be read ({e})")),
        Some(v) => Err(format!(
            "it was written by another version of dj2pg (state format {v}; this one reads {STATE_VERSION})"
        )),
        None => Err("it is not a dj2pg state file".to_string()),
    }
}

/// Rename an unusable state file out of the way (never delete it: it may be needed to
/// understand what happened), and return where it went.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".unreadable-{stamp}"));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside).with_context(|| {
        format!(
            "could not move the unreadable state file {} aside",
            path.display()
        )
    })?;
    Ok(aside)
}

/// Forget the saved run of `project`.
pub fn forget(project: &Path) -> Result<()> {
    forget_in(&state_dir()?, project)
}

/// Forget the saved run of `project` in `dir`.
pub fn forget_in(dir: &Path, project: &Path) -> Result<()> {
    let path = state_file_in(dir, project);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("could not remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
