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
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".unreadable-"))
            .collect();
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
