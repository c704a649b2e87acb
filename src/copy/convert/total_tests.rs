//! Totality: every converter, fed any value of any SQLite storage class, either writes an
//! exact value or reports a Problem (an `Issue`). None may panic, and where a value is
//! written, it reads back as what Django stored.

use super::*;
use proptest::prelude::*;

/// An owned SQLite value, so strategies can make them (`ValueRef` borrows).
#[derive(Clone, Debug)]
enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Val {
    fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(*i),
            Val::Real(f) => ValueRef::Real(*f),
            Val::Text(b) => ValueRef::Text(b),
            Val::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// Every type the engine knows, with and without modifiers.
fn every_type() -> Vec<PgType> {
    let arr = |elem: PgType, elem_oid| PgType::Array {
        elem: Box::new(elem),
        elem_oid,
    };
    vec![
        PgType::Bool,
        PgType::Int2,
        PgType::Int4,
        PgType::Int8,
        PgType::Float4,
        PgType::Float8,
        PgType::Numeric {
            precision: None,
            scale: None,
        },
        PgType::Numeric {
            precision: Some(8),
            scale: Some(2),
        },
        PgType::Text,
        PgType::Varchar(Some(5)),
        PgType::Varchar(None),
        PgType::Bpchar(Some(3)),
        PgType::Date,
        PgType::Time,
        PgType::Timestamp,
        PgType::Timestamptz,
        PgType::Interval,
        PgType::Uuid,
        PgType::Json,
        PgType::Jsonb,
        PgType::Bytea,
        PgType::Inet,
        PgType::Cidr,
        arr(PgType::Float4, 700),
        arr(PgType::Float8, 701),
        arr(PgType::Int4, 23),
        arr(PgType::Text, 25),
        arr(PgType::Timestamptz, 1184),
        PgType::Vector(None),
        PgType::Vector(Some(3)),
        PgType::TsVector,
        PgType::Other("point".into()),
    ]
}

/// Text that looks like what Django writes, with anything (any Unicode) mixed in.
fn djangoish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?.{0,8}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:?[0-9]{2}",
        ".{0,4}[0-9]{4}-[0-9]{2}-[0-9]{2}.{0,4}",
        "[0-9]{2}:[0-9]{2}(:[0-9]{2})?.{0,6}",
        "[-+]?[0-9]{0,30}(\\.[0-9]{0,30})?([eE][-+]?[0-9]{1,10})?",
        "\\[[-0-9., eE\"nul]{0,40}\\]",
        "\\{.{0,30}\\}",
        "[0-9a-fA-F:./%]{0,45}",
        "[0-9a-f]{32}",
        ".{0,40}",
    ]
}

fn any_val() -> impl Strategy<Value = Val> {
    prop_oneof![
        Just(Val::Null),
        any::<i64>().prop_map(Val::Int),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX)
        ]
        .prop_map(Val::Int),
        proptest::num::f64::ANY.prop_map(Val::Real),
        djangoish().prop_map(|s| Val::Text(s.into_bytes())),
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(Val::Text),
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(Val::Blob),
    ]
}

fn zones() -> [Zone; 3] {
    [
        Zone::utc(),
        Zone::new(false, "America/New_York").expect("a known zone"),
        Zone::new(false, "Pacific/Kiritimati").expect("a known zone"),
    ]
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No value of any storage class makes any converter panic, with or without fixes,
    /// in any zone; a value that is refused says what is wrong.
    #[test]
    fn every_converter_is_total(v in any_val()) {
        for ty in every_type() {
            for zone in &zones() {
                for fix in [false, true] {
                    let mut out = Vec::new();
                    if let Err(issue) = encode(v.as_ref(), &ty, zone, fix, &mut out) {
                        prop_assert!(!issue.what.is_empty(), "{ty:?} {v:?}");
                    }
                }
            }
            // Excerpts of any value are printable and never panic either.
            let _ = excerpt(v.as_ref());
        }
    }

    /// Integers go in exactly or are refused: never wrapped.
    #[test]
    fn integers_are_exact(i in any::<i64>()) {
        let z = Zone::utc();
        for (ty, width) in [(PgType::Int2, 2), (PgType::Int4, 4), (PgType::Int8, 8)] {
            let mut out = Vec::new();
            match encode(ValueRef::Integer(i), &ty, &z, false, &mut out) {
                Ok(_) => {
                    let mut b = [0u8; 8];
                    b[8 - width..].copy_from_slice(&out);
                    let back = match width {
                        2 => i16::from_be_bytes([b[6], b[7]]) as i64,
                        4 => i32::from_be_bytes([b[4], b[5], b[6], b[7]]) as i64,
                        _ => i64::from_be_bytes(b),
                    };
                    prop_assert_eq!(back, i);
                }
                Err(e) => prop_assert!(e.what.contains("out of range"), "{}", e.what),
            }
        }
    }

    /// Valid UTF-8 text without NUL goes in byte for byte; anything else is a Problem, or
    /// with fixes, valid text without NUL.
    #[test]
    fn text_is_exact_or_a_problem(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let z = Zone::utc();
        let mut out = Vec::new();
        let clean = std::str::from_utf8(&b).is_ok_and(|s| !s.contains('\0'));
        match encode(ValueRef::Text(&b), &PgType::Text, &z, false, &mut out) {
            Ok(_) => prop_assert!(clean && out == b),
            Err(_) => prop_assert!(!clean),
        }
        let mut out = Vec::new();
        encode(ValueRef::Text(&b), &PgType::Text, &z, true, &mut out).expect("fixable");
        let fixed = String::from_utf8(out).expect("fixed text is UTF-8");
        prop_assert!(!fixed.contains('\0'));
    }

    /// Floats keep every bit (NaN and infinities included) for double precision, and
    /// packed float blobs keep NaN as NaN in arrays (not NULL).
    #[test]
    fn floats_are_exact(f in proptest::num::f64::ANY) {
        let z = Zone::utc();
        let mut out = Vec::new();
        encode(ValueRef::Real(f), &PgType::Float8, &z, false, &mut out).expect("any real");
        prop_assert_eq!(out, f.to_be_bytes().to_vec());
        let packed = f.to_le_bytes();
        let ty = PgType::Array { elem: Box::new(PgType::Float8), elem_oid: 701 };
        let mut out = Vec::new();
        encode(ValueRef::Blob(&packed), &ty, &z, false, &mut out).expect("a packed float");
        // header (12) + dims (8) + element length (4) + the element
        prop_assert_eq!(&out[20..24], &8i32.to_be_bytes());
        prop_assert_eq!(&out[24..], &f.to_be_bytes());
    }

    /// Float text that overflows is refused, never silently made infinite.
    #[test]
    fn float_text_overflow_is_a_problem(m in 1u32..9, e in 309u32..5000) {
        let text = format!("{m}e{e}");
        let z = Zone::utc();
        let mut out = Vec::new();
        let r = encode(ValueRef::Text(text.as_bytes()), &PgType::Float8, &z, false, &mut out);
        prop_assert!(r.is_err(), "{text} was written as {out:?}");
    }

    /// Datetimes Django can read go in exactly; years it cannot read are Problems.
    #[test]
    fn datetimes_are_exact_or_out_of_django_range(year in -5i32..12000, secs in 0i64..86_400, micros in 0u32..1_000_000) {
        let Some(day) = chrono::NaiveDate::from_ymd_opt(year, 6, 15) else { return Ok(()); };
        let t = day.and_hms_opt(0, 0, 0).expect("midnight")
            + chrono::Duration::seconds(secs)
            + chrono::Duration::microseconds(micros as i64);
        let rest = t.format("%m-%d %H:%M:%S%.6f");
        let text = if (0..10000).contains(&year) {
            format!("{year:04}-{rest}")
        } else {
            format!("{year}-{rest}")
        };
        let z = Zone::utc();
        let mut out = Vec::new();
        let r = encode(ValueRef::Text(text.as_bytes()), &PgType::Timestamptz, &z, false, &mut out);
        if (1..=9999).contains(&year) {
            prop_assert!(r.is_ok(), "{text}: {r:?}");
            prop_assert_eq!(be_i64(&out), t.and_utc().timestamp_micros() - PG_EPOCH_US);
        } else {
            prop_assert!(r.is_err(), "{text} was written");
        }
    }

    /// Durations are microseconds, exactly, whatever their size.
    #[test]
    fn durations_are_exact(us in any::<i64>()) {
        let mut out = Vec::new();
        encode(ValueRef::Integer(us), &PgType::Interval, &Zone::utc(), false, &mut out).expect("any integer");
        let days = i32::from_be_bytes(out[8..12].try_into().unwrap()) as i128;
        prop_assert_eq!(days * 86_400_000_000 + be_i64(&out) as i128, us as i128);
    }
}

#[test]
fn a_multibyte_character_after_the_seconds_is_a_problem_not_a_panic() {
    // Finding 1 of the hardening issue: this panicked with "byte index 20 is not a char
    // boundary" in split_offset.
    for text in [
        "2024-01-15 12:00:00é12345",
        "2024-01-15 12:00:00+é1",
        "2024-01-15 12:00:00+0é",
        "2024-01-15 12:00:00-1€",
        "日本語日本語日本語日本語日本語",
    ] {
        for ty in [
            PgType::Timestamptz,
            PgType::Timestamp,
            PgType::Date,
            PgType::Time,
        ] {
            let mut out = Vec::new();
            let r = encode(
                ValueRef::Text(text.as_bytes()),
                &ty,
                &Zone::utc(),
                false,
                &mut out,
            );
            assert!(r.is_err(), "{text} as {ty:?} was written");
        }
    }
}

#[test]
fn impossible_offsets_years_and_leap_seconds_are_problems() {
    let z = Zone::utc();
    let issue_of = |text: &str, ty: &PgType| {
        let mut out = Vec::new();
        encode(ValueRef::Text(text.as_bytes()), ty, &z, false, &mut out)
            .err()
            .unwrap_or_else(|| panic!("{text} was written"))
            .what
    };
    let tz = PgType::Timestamptz;
    assert!(issue_of("2024-01-15 12:00:00+25:00", &tz).contains("impossible UTC offset"));
    assert!(issue_of("2024-01-15 12:00:00+01:75", &tz).contains("impossible UTC offset"));
    assert!(issue_of("0000-06-01 12:00:00", &tz).contains("year 0"));
    assert!(issue_of("0000-06-01", &PgType::Date).contains("year 0"));
    // Valid text, but the offset moves the instant before year 1.
    assert!(issue_of("0001-01-01 00:30:00+01:00", &tz).contains("year 0"));
    assert!(issue_of("2016-12-31 23:59:60", &tz).contains("leap second"));
    assert!(issue_of("23:59:60", &PgType::Time).contains("leap second"));
    assert!(issue_of("1e400", &PgType::Float8).contains("out of range"));
    let mut out = Vec::new();
    assert!(
        encode(
            ValueRef::Text(b"-Infinity"),
            &PgType::Float8,
            &z,
            false,
            &mut out
        )
        .is_ok(),
        "an explicit infinity is kept"
    );
    let huge = format!("1{}", "0".repeat(140_000));
    let numeric = PgType::Numeric {
        precision: None,
        scale: None,
    };
    assert!(issue_of(&huge, &numeric).contains("beyond what numeric can hold"));
}
