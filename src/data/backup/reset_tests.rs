//! The scan's pure helpers: selection, totals, warnings that depend on the selection, and
//! the "keeping them is wiser" hints.

use super::*;

fn file(rel: &str, size: u64, warnings: Vec<MigrationWarning>) -> FileToGo {
    FileToGo {
        rel_path: rel.into(),
        kind: MigrationFileKind::Migration,
        size,
        warnings,
    }
}

fn app(label: &str, local: bool, files: Vec<FileToGo>) -> AppScan {
    AppScan {
        label: label.into(),
        name: label.into(),
        local,
        migrations_module: Some(format!("{label}.migrations")),
        migrations_dir: Some(format!("/p/{label}/migrations").into()),
        setup: MigrationsSetup::Standard,
        files: if local { files } else { Vec::new() },
        notes: Vec::new(),
    }
}

fn scan() -> MigrationScan {
    MigrationScan {
        apps: vec![
            app(
                "shop",
                true,
                vec![
                    file("0001_initial.py", 100, vec![]),
                    file(
                        "0002_seed.py",
                        50,
                        vec![
                            MigrationWarning::RunPython { elidable: false },
                            MigrationWarning::DependedOnBy {
                                app: "orders".into(),
                                migration: "0001_initial".into(),
                                local: true,
                            },
                        ],
                    ),
                ],
            ),
            app("orders", true, vec![file("0001_initial.py", 30, vec![])]),
            app("empty", true, vec![]),
            app("auth", false, vec![]),
        ],
        warnings: Vec::new(),
    }
}

#[test]
fn select_resolves_all_none_and_names() {
    let s = scan();
    assert_eq!(s.select("all").unwrap(), ["shop", "orders"]);
    assert!(s.select("none").unwrap().is_empty());
    assert_eq!(s.select(" shop, shop ,orders").unwrap(), ["shop", "orders"]);
    assert!(s.select("auth").unwrap_err().contains("third-party"));
    assert!(
        s.select("empty")
            .unwrap_err()
            .contains("no migration files")
    );
    assert!(s.select("ghost").unwrap_err().contains("ghost"));
}

#[test]
fn totals_count_only_the_selected_apps() {
    let s = scan();
    assert_eq!(s.totals(&["shop".into()]), (2, 150));
    assert_eq!(s.totals(&["shop".into(), "orders".into()]), (3, 180));
    assert_eq!(s.totals(&[]), (0, 0));
}

#[test]
fn a_dependency_from_an_app_reset_too_is_not_a_warning() {
    let s = scan();
    let alone = s.warnings_for_selection(&["shop".into()]);
    assert_eq!(alone.len(), 2);
    assert!(alone[1].2.contains("orders.0001_initial"));
    let both = s.warnings_for_selection(&["shop".into(), "orders".into()]);
    assert_eq!(both.len(), 1);
    assert!(both[0].2.starts_with("RunPython"));
}

#[test]
fn keep_hints_name_the_data_migrations_dependencies_and_other_databases() {
    let s = scan();
    let hints = s.keep_hints(&["shop".into()], false);
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(hints[0].contains("0002_seed.py"));
    assert!(hints[1].contains("NodeNotFoundError"));
    let hints = s.keep_hints(&["orders".into()], true);
    assert_eq!(hints.len(), 1);
    assert!(hints[0].contains("--fake"));
    assert!(s.keep_hints(&["orders".into()], false).is_empty());
}

#[test]
fn warnings_read_the_scripts_json_shape() {
    let json = r#"[{"kind":"run_sql","elidable":true},{"kind":"squashed","replaces":["a.0001"]},
                  {"kind":"depended_on_by","app":"b","migration":"0002_x","local":false}]"#;
    let w: Vec<MigrationWarning> = serde_json::from_str(json).unwrap();
    assert_eq!(w[0], MigrationWarning::RunSql { elidable: true });
    assert!(w[2].message().contains("third-party"));
    assert!(w[0].loses_work() && !w[1].loses_work());
}
