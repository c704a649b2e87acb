//! Embeds the sample Django project (assets/sample_project) for `dj2pg demo`.
//!
//! Generated data (db.sqlite3), caches and virtualenvs are left out, so a developer's
//! local test run never bloats the binary.

use std::fmt::Write as _;
use std::path::Path;

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".gitignore"
            || name == "__pycache__"
            || name.ends_with(".pyc")
            || name.starts_with("db.sqlite3")
            || name.ends_with(".sqlite3")
            || name == "venv"
        {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("assets/sample_project");
    println!("cargo::rerun-if-changed=assets/sample_project");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let mut code = String::from(
        "/// The sample project's files: (relative path, contents).\npub const SAMPLE_PROJECT: &[(&str, &[u8])] = &[\n",
    );
    for f in files {
        let abs = root.join(&f);
        let _ = writeln!(
            code,
            "    ({f:?}, include_bytes!({:?})),",
            abs.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("sample_project.rs");
    std::fs::write(out, code).expect("write sample_project.rs");
}
