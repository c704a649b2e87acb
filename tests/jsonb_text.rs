//! The copy sends `jsonb` as the text PostgreSQL will print back, so verification can
//! compare bytes. This checks that claim against the real server: thousands of generated
//! documents (odd spacing, duplicate keys, escapes, every number form) and the awkward
//! cases by hand, each normalized by dj2pg and by PostgreSQL (`$1::jsonb::text`).

mod common;

use common::{cluster, connect};
use dj2pg::copy::jsonb::{JsonError, normalize};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// JSON text with the variety real files have.
fn json_text() -> impl Strategy<Value = String> {
    let ws = prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t")];
    let number = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        (-1e6f64..1e6).prop_map(|f| format!("{f}")),
        (-1.0f32..1.0).prop_map(|f| format!("{f:.6}")),
        ("-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?").prop_map(|s| s),
    ];
    let string = prop_oneof![
        "[a-zA-Z0-9 _-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        proptest::collection::vec(
            prop_oneof![
                "\\PC".prop_map(|c| c.replace('\\', "\\\\").replace('"', "\\\"")),
                Just("\\n".to_string()),
                Just("\\/".to_string()),
                Just("\\u00e9".to_string()),
                Just("\\u001F".to_string()),
                Just("\\ud83d\\ude00".to_string()),
                Just("\\\"".to_string()),
                Just("\\b\\f\\r\\t".to_string()),
            ],
            0..6
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat())),
    ];
    let leaf = prop_oneof![
        number,
        string.clone(),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        let ws = ws.clone();
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 0..6), ws.clone())
                .prop_map(|(items, w)| format!("[{w}{}{w}]", items.join(&format!("{w},{w}")))),
            (
                proptest::collection::vec(
                    (
                        prop_oneof![string.clone(), Just("\"k\"".to_string())],
                        inner
                    ),
                    0..6
                ),
                ws
            )
                .prop_map(|(members, w)| {
                    let m: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("{k}{w}:{w}{v}"))
                        .collect();
                    format!("{{{w}{}{w}}}", m.join(&format!("{w},{w}")))
                }),
        ]
    })
}

fn dj2pg_text(doc: &str) -> Result<String, JsonError> {
    let mut out = Vec::new();
    normalize(doc, false, &mut out)?;
    Ok(String::from_utf8(out).expect("normalized JSON is UTF-8"))
}

#[test]
fn normalized_jsonb_text_is_what_postgresql_prints() {
    let c = cluster();
    let pg = std::cell::RefCell::new(connect(&c.app(), c.app_password()));
    let stmt = pg
        .borrow_mut()
        .prepare("SELECT $1::text::jsonb::text")
        .unwrap();
    let check = |doc: &str| -> Result<(), TestCaseError> {
        let ours = dj2pg_text(doc);
        let theirs = pg
            .borrow_mut()
            .query_one(&stmt, &[&doc])
            .map(|r| r.get::<_, String>(0));
        match (ours, theirs) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "document {:?}", doc),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "{doc:?}: dj2pg {a:?}, PostgreSQL {b:?}"),
        }
        Ok(())
    };
    for doc in [
        r#"{"b":1,"a":2,"a":3,"aa":[],"":{}}"#,
        "[1.50, 1e3, 1.5E+2, 12e-1, -0, -0.0, 0e10, 100e-2, 0.0001e-2, 1E400, 2e1000, 3e-1000]",
        "[1e0, -1.25E0, -0e0, -0.00, -10, -0.000000, 0.1, -7]",
        "1e1001",
        "[-1E-1001]",
        "1e131071",
        "1e131072",
        "12e131071",
        "0.0001e131075",
        "1e200000",
        "1e-16383",
        "1e-16384",
        "0.5e-16383",
        r#""caf\u00e9 \/ \ud83d\ude00 \u001f""#,
        "  7  ",
        r#"{"k\u0000": 1}"#,
        "[1,]",
        "01",
        r#"{"dup": {"x": 1}, "dup": {"y": [true, false, null]}}"#,
    ] {
        check(doc).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        ..Config::default()
    });
    runner
        .run(&json_text(), |doc| check(&doc))
        .unwrap_or_else(|e| panic!("{e}"));
}
