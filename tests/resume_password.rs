//! A resumed wizard asks for the passwords it needs (issue 18): dj2pg never saves one, so a
//! run started by `dj2pg migrate` (or an earlier wizard) and resumed in a new wizard knows
//! the target but not its password. The real binary in a pseudo-terminal, the sample
//! project, a real PostgreSQL.

mod common;
mod pty;

use portable_pty::CommandBuilder;
use pty::Term;
use std::path::Path;
use std::process::Command;

fn wizard(project: &Path, python: &Path, state: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args([
        "wizard",
        "--project",
        project.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ]);
    cmd.env("DJ2PG_STATE_DIR", state);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("PGPASSWORD");
    cmd.env_remove("DJ2PG_ADMIN_PASSWORD");
    // No ~/.pgpass of the machine's user may answer for the prompt.
    cmd.env("PGPASSFILE", state.join("no-pgpass"));
    cmd
}

#[test]
fn a_resumed_run_prompts_for_its_passwords_and_a_wrong_admin_password_opens_the_login() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");

    // Headless, without an admin: the run stops at Fix permissions with the SQL for a DBA.
    let out = Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args([
            "migrate",
            "--project",
            project.to_str().unwrap(),
            "--python",
            python.to_str().unwrap(),
            "--allow-dirty",
            "--to",
            &cluster.app().display_url(),
        ])
        .env("DJ2PG_STATE_DIR", &state)
        .env("PGPASSWORD", cluster.app_password().expose())
        .env_remove("DJ2PG_ADMIN_PASSWORD")
        .output()
        .expect("run dj2pg migrate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("[fix-permissions] question"), "{text}");

    // The wizard resumes it: before the resume check looks at the target, the password.
    let mut term = Term::spawn(wizard(&project, &python, &state), 80, 24);
    term.wait_for("Resume?", 30);
    term.send("y");
    let screen = term.wait_for("never saves a password", 10);
    assert!(
        screen.contains("app role app") && screen.contains("Enter go on"),
        "{screen}"
    );
    let password = cluster.app_password().expose();
    term.send(password);
    let screen = term.screen();
    assert!(!screen.contains(password), "the password is drawn masked");
    term.enter();
    // Checked with it, the steps on the target stand (none was reopened).
    let screen = term.wait_for("6/11 Fix permissions", 60);
    assert!(screen.contains("✓ Connect"), "{screen}");

    // A wrong admin password: the failure opens the admin login, focused on its password.
    term.wait_for("l login", 60);
    term.send("l");
    term.wait_for("Enter log in", 10);
    term.send("wrong-admin-password");
    term.enter();
    let screen = term.wait_for("refused", 60);
    assert!(
        screen.contains("Enter log in"),
        "the login is open: {screen}"
    );
    assert!(
        screen.contains("✗ Password"),
        "it points at the password: {screen}"
    );
    term.send(cluster.admin_password().expose());
    term.enter();
    term.wait_for("1 recipe A", 60);
    term.send("1");
    term.wait_for("effective", 60);
    // Create schema runs as the app role with the password given at the prompt.
    term.enter();
    term.enter();
    // The sample's embeddings were decided at the end of the headless dry run (kept, no
    // --embeddings flag): Create schema runs migrate without asking again.
    let screen = term.wait_for("✓ Create schema", 180);
    assert!(!screen.contains("k/v/h type"), "{screen}");
    term.send("\x03");
    assert_eq!(term.wait_exit(30).exit_code(), 130);
    assert!(term.terminal_restored());
}
