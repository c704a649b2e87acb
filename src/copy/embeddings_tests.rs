use super::*;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE ml_embedding (id integer PRIMARY KEY AUTOINCREMENT, vec text, blob BLOB,
             blob64 BLOB, tags text, weights BLOB, note text);",
    )
    .unwrap();
    c
}

fn floats(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 + seed * 13) % 101) as f32 / 37.0 - 1.3)
        .collect()
}

fn insert(c: &Connection, id: i64, vec: Option<String>, blob: Option<Vec<u8>>) {
    let f64s: Vec<u8> = (0..32)
        .flat_map(|i| (i as f64 / 3.0 + 0.5).to_le_bytes())
        .collect();
    let pickle =
        b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f not floats at all, a pickle".to_vec();
    c.execute(
        "INSERT INTO ml_embedding VALUES (?1, ?2, ?3, ?4, '[1, 2, 3]', ?5, 'hello')",
        rusqlite::params![id, vec, blob, f64s, pickle],
    )
    .unwrap();
}

/// As numpy's `tolist()` then `json.dumps` write float32 values: each float4 as float8.
fn json(v: &[f32]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|f| format!("{:?}", *f as f64))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|f| f.to_le_bytes()).collect()
}

#[test]
fn json_lists_and_float_blobs_are_found_with_their_dimension() {
    let c = db();
    for id in 1..=20 {
        let v = floats(24, id as usize);
        insert(&c, id, Some(json(&v)), Some(blob(&v)));
    }
    insert(&c, 21, None, None);
    let found = detect(&c).unwrap();
    let names: Vec<_> = found
        .iter()
        .map(|f| (f.column.as_str(), f.source, f.dim))
        .collect();
    assert_eq!(
        names,
        [
            ("vec", Source::Json, 24),
            ("blob", Source::Blob(BlobWidth::F32), 24),
            ("blob64", Source::Blob(BlobWidth::F64), 32),
        ],
        "tags (integers), weights (a pickle) and note (text) are not embeddings"
    );
    let vec = &found[0];
    assert_eq!((vec.rows, vec.nulls, vec.problems.len()), (21, 1, 0));
    // float4 values written as float8 text, and float32 blobs: both exact in vector.
    assert!(vec.as_vector.exact && found[1].as_vector.exact);
    assert!(!found[1].as_half.exact);
    assert!(!found[2].as_vector.exact, "float64 narrows to float4");
}

#[test]
fn other_lengths_nan_and_infinity_are_listed_with_their_key() {
    let c = db();
    for id in 1..=10 {
        insert(&c, id, Some(json(&floats(20, id as usize))), None);
    }
    insert(&c, 11, Some(json(&floats(19, 1))), None);
    let mut v = floats(20, 3);
    v.pop();
    let inner = json(&v);
    let inner = &inner[1..inner.len() - 1];
    let nan = format!("[NaN, {inner}]");
    let inf = format!("[{inner}, Infinity]");
    insert(&c, 12, Some(nan), None);
    insert(&c, 13, Some(inf), None);
    insert(&c, 14, Some("[]".into()), None);
    let found = detect(&c).unwrap();
    let vec = found.iter().find(|f| f.column == "vec").unwrap();
    assert_eq!(vec.dim, 20);
    let listed: Vec<_> = vec
        .problems
        .iter()
        .map(|p| {
            (
                p.table.as_str(),
                p.pk.as_str(),
                p.column.as_str(),
                p.issue.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "ml_embedding",
                "11",
                "vec",
                "has 19 dimensions, the column has 20"
            ),
            (
                "ml_embedding",
                "12",
                "vec",
                "element 0 is NaN or infinite, which a vector cannot hold"
            ),
            (
                "ml_embedding",
                "13",
                "vec",
                "element 19 is NaN or infinite, which a vector cannot hold"
            ),
            (
                "ml_embedding",
                "14",
                "vec",
                "is an empty vector, which pgvector rejects"
            ),
        ]
    );
    assert!(
        vec.summary().contains("4 value(s) pgvector would refuse"),
        "{}",
        vec.summary()
    );
}
