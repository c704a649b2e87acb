//! The state file: written and read back, forgotten, and moved aside when unusable.

use super::*;
use crate::state::{RunOptions, Status, Step, update};

/// A new run of a project in `dir`, looking at Connect.
fn looking_at_connect(dir: &Path) -> (PathBuf, Migration) {
    let project = dir.join("proj");
    std::fs::create_dir_all(&project).unwrap();
    let mut m = Migration::new(RunOptions {
        project: project.clone(),
        ..RunOptions::default()
    });
    update(&mut m, Msg::Select(Step::Connect));
    (project, m)
}

/// The state files moved aside in `dir`.
fn kept_aside(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".unreadable-"))
        .collect()
}

#[test]
fn save_and_load_round_trip_offers_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (project, m) = looking_at_connect(dir.path());
    let file = save_in(dir.path(), &m).unwrap();
    assert!(file.starts_with(dir.path()));
    let mut loaded = load_in(dir.path(), &project)
        .unwrap()
        .run
        .expect("a saved run");
    let offer = loaded.resume_offer.take().expect("the resume is offered");
    assert_eq!(offer.step, Step::Connect);
    assert!(!offer.saved_at.is_empty(), "the file's time is shown");
    assert_eq!(
        loaded, m,
        "apart from the offer, the run reads back as saved"
    );
    forget_in(dir.path(), &project).unwrap();
    assert!(load_in(dir.path(), &project).unwrap().run.is_none());
}

#[test]
fn a_step_running_when_saved_is_loaded_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (project, mut m) = looking_at_connect(dir.path());
    update(&mut m, Msg::Select(Step::Discover));
    update(&mut m, Msg::Activate);
    assert!(m.job.is_some(), "Discover runs");
    update(&mut m, Msg::Select(Step::Connect));
    save_in(dir.path(), &m).unwrap();
    let loaded = load_in(dir.path(), &project).unwrap().run.unwrap();
    assert!(loaded.job.is_none());
    assert_eq!(loaded.cursor, Step::Discover);
    assert_eq!(loaded.resume_offer.as_ref().unwrap().step, Step::Discover);
    assert!(
        matches!(loaded.status(Step::Discover), Status::Stopped { message } if message.contains("Interrupted"))
    );
}

#[test]
fn an_incompatible_or_unreadable_state_file_is_moved_aside_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let (project, m) = looking_at_connect(dir.path());
    let file = save_in(dir.path(), &m).unwrap();
    for (bytes, why) in [
        (
            serde_json::to_vec(&serde_json::json!({"version": 1, "steps": []})).unwrap(),
            "another version",
        ),
        (
            serde_json::to_vec(&serde_json::json!({"version": 2, "steps": []})).unwrap(),
            "another version",
        ),
        (
            format!(r#"{{"version": {STATE_VERSION}, "steps": "garbled"}}"#).into_bytes(),
            "cannot be read",
        ),
        (b"not json at all".to_vec(), "not a dj2pg state file"),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let loaded = load_in(dir.path(), &project).unwrap();
        assert!(loaded.run.is_none());
        let notice = loaded.notice.expect("a notice");
        assert!(
            notice.contains(why) && notice.contains("moved to"),
            "{notice}"
        );
        assert!(!file.exists(), "the file is moved, not trusted");
        let aside = kept_aside(dir.path());
        assert!(
            aside
                .iter()
                .any(|e| std::fs::read(e.path()).unwrap() == bytes),
            "the old content is kept aside"
        );
        for e in aside {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

/// A run saved by the dj2pg before the parts (state format 4: each step's data in flat
/// fields) is not resumed under the new shape: it is moved aside with its notice, and the
/// next start is a fresh run.
#[test]
fn a_version_4_state_file_with_flat_fields_is_moved_aside_and_a_fresh_run_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (project, m) = looking_at_connect(dir.path());
    let file = save_in(dir.path(), &m).unwrap();
    let old = serde_json::json!({
        "version": 4,
        "options": {"project": project, "python": null, "jobs": 4, "rejects_dir": null},
        "steps": [{"step": "Discover", "status": "Pending", "attempts": 0, "log": []}],
        "cursor": "Connect",
        "job": null,
        "next_job": 3,
        "resume_offer": null,
        "discovery": null,
        "target": {"host": "db.example", "port": 5432, "dbname": "app", "user": "app",
                   "sslmode": "Require", "sslrootcert": null},
        "server": null,
        "admin": null,
        "recipes": [],
        "schema": null,
        "settings_style": "Env",
        "preflight": null,
        "copy_answers": {},
        "copy": null,
        "copy_report": null,
        "paused": false,
        "quitting": false
    });
    let bytes = serde_json::to_vec_pretty(&old).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let loaded = load_in(dir.path(), &project).unwrap();
    assert!(loaded.run.is_none(), "the old shape is not resumed");
    let notice = loaded.notice.expect("a notice");
    assert!(
        notice.contains("another version")
            && notice.contains("state format 4")
            && notice.contains("moved to"),
        "{notice}"
    );
    assert!(!file.exists(), "the file is moved, not trusted");
    assert!(
        kept_aside(dir.path())
            .iter()
            .any(|e| std::fs::read(e.path()).unwrap() == bytes),
        "the old run is kept aside, byte for byte"
    );
    // The next start finds nothing to resume: a fresh run, saved in the new format.
    let again = load_in(dir.path(), &project).unwrap();
    assert!(again.run.is_none() && again.notice.is_none());
    let fresh = Migration::new(m.options.clone());
    assert_eq!(fresh.version, STATE_VERSION);
    save_in(dir.path(), &fresh).unwrap();
    let back = load_in(dir.path(), &project)
        .unwrap()
        .run
        .expect("the new run");
    assert_eq!(back.version, 5);
    assert!(back.connect.target.is_none());
}
