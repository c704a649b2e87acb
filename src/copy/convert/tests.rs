use super::*;
use proptest::prelude::*;
use rusqlite::types::ValueRef::{Blob, Integer, Null, Real, Text};

fn enc(v: ValueRef<'_>, ty: &PgType) -> Result<Vec<u8>, Issue> {
    let mut out = Vec::new();
    encode(v, ty, &Zone::utc(), false, &mut out).map(|_| out)
}

fn enc_fix(v: ValueRef<'_>, ty: &PgType) -> (Written, Vec<u8>) {
    let mut out = Vec::new();
    let w = encode(v, ty, &Zone::utc(), true, &mut out).unwrap();
    (w, out)
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().unwrap())
}

#[test]
fn duration_90_seconds_is_one_minute_thirty_exactly() {
    // DurationField stores microseconds; 90 s must become interval '00:01:30', not 25 000 hours.
    let b = enc(Integer(90_000_000), &PgType::Interval).unwrap();
    assert_eq!(be_i64(&b), 90_000_000, "microseconds");
    assert_eq!(&b[8..], &[0; 8], "no days, no months");
}

#[test]
fn durations_keep_their_days_as_django_writes_them() {
    // timedelta(days=400, hours=5): psycopg sends '400 days 05:00:00', not '9605:00:00'.
    let us = (400 * 86_400 + 5 * 3600) * 1_000_000i64;
    let b = enc(Integer(us), &PgType::Interval).unwrap();
    assert_eq!(be_i64(&b), 5 * 3600 * 1_000_000, "the time field");
    assert_eq!(
        i32::from_be_bytes(b[8..12].try_into().unwrap()),
        400,
        "days"
    );
    assert_eq!(&b[12..], &[0; 4], "no months");
    // timedelta(microseconds=-1) is days=-1, 23:59:59.999999 (Python floors the days).
    let b = enc(Integer(-1), &PgType::Interval).unwrap();
    assert_eq!(be_i64(&b), 86_400_000_000 - 1);
    assert_eq!(i32::from_be_bytes(b[8..12].try_into().unwrap()), -1);
}

#[test]
fn naive_datetime_with_use_tz_is_that_utc_instant() {
    let ny = Zone::new(true, "America/New_York").unwrap();
    let mut out = Vec::new();
    encode(
        Text(b"2024-03-10 02:30:00.123456"),
        &PgType::Timestamptz,
        &ny,
        false,
        &mut out,
    )
    .unwrap();
    let want = chrono::NaiveDate::from_ymd_opt(2024, 3, 10)
        .unwrap()
        .and_hms_micro_opt(2, 30, 0, 123_456)
        .unwrap()
        .and_utc()
        .timestamp_micros()
        - PG_EPOCH_US;
    assert_eq!(be_i64(&out), want);
}

#[test]
fn naive_datetime_without_use_tz_is_in_time_zone() {
    let paris = Zone::new(false, "Europe/Paris").unwrap();
    let us = timestamp_us("2024-01-15 13:00:00", true, &paris).unwrap();
    let utc = timestamp_us("2024-01-15 12:00:00", true, &Zone::utc()).unwrap();
    assert_eq!(us, utc, "13:00 in Paris in winter is 12:00 UTC");
    // An explicit offset wins over the zone.
    assert_eq!(
        timestamp_us("2024-01-15 14:00:00+02:00", true, &paris),
        Some(utc)
    );
    assert_eq!(
        timestamp_us("2024-01-15T12:00:00Z", true, &paris),
        Some(utc)
    );
    // Gap (02:30 does not exist in New York on 2024-03-10): offset before the gap, like PostgreSQL.
    let ny = Zone::new(false, "America/New_York").unwrap();
    assert_eq!(
        timestamp_us("2024-03-10 02:30:00", true, &ny),
        timestamp_us("2024-03-10 07:30:00", true, &Zone::utc())
    );
    // A naive column keeps the wall clock.
    assert_eq!(
        timestamp_us("2024-01-15 13:00:00", false, &paris),
        timestamp_us("2024-01-15 13:00:00", false, &Zone::utc())
    );
}

#[test]
fn timestamps_keep_microseconds_and_extremes() {
    let z = Zone::utc();
    let a = timestamp_us("2000-01-01 00:00:00.000001", true, &z).unwrap();
    assert_eq!(a, 1);
    assert!(timestamp_us("0001-01-01 00:00:00", true, &z).is_some());
    assert!(timestamp_us("9999-12-31 23:59:59.999999", true, &z).is_some());
    assert!(timestamp_us("2023-02-30 10:00:00", true, &z).is_none());
}

#[test]
fn decimals_are_exact() {
    let ty = PgType::Numeric {
        precision: Some(6),
        scale: Some(4),
    };
    let text = |v| super::super::numeric::decode_text(&enc(v, &ty).unwrap()).unwrap();
    assert_eq!(text(Real(0.1)), "0.1000");
    assert_eq!(text(Text(b"0.1000")), "0.1000");
    assert_eq!(text(Integer(1)), "1.0000");
    assert_eq!(text(Real(99.9999)), "99.9999");
    let e = enc(Real(123.5), &ty).unwrap_err();
    assert!(e.what.contains("numeric(6,4)"), "{e:?}");
}

#[test]
fn uuid_from_32_or_36_hex() {
    let want = uuid::Uuid::parse_str("12345678-1234-5678-1234-567812345678").unwrap();
    assert_eq!(
        enc(Text(b"12345678123456781234567812345678"), &PgType::Uuid).unwrap(),
        want.as_bytes()
    );
    assert_eq!(
        enc(Text(b"12345678-1234-5678-1234-567812345678"), &PgType::Uuid).unwrap(),
        want.as_bytes()
    );
    assert!(enc(Text(b"not-a-uuid"), &PgType::Uuid).is_err());
}

#[test]
fn booleans_integers_and_storage_classes() {
    assert_eq!(enc(Integer(1), &PgType::Bool).unwrap(), [1]);
    assert_eq!(enc(Integer(0), &PgType::Bool).unwrap(), [0]);
    assert!(enc(Integer(2), &PgType::Bool).is_err());
    assert_eq!(
        enc(Integer(-32768), &PgType::Int2).unwrap(),
        (-32768i16).to_be_bytes()
    );
    let e = enc(Integer(40000), &PgType::Int2).unwrap_err();
    assert!(e.what.contains("out of range for smallint"), "{e:?}");
    let e = enc(Text(b"twelve"), &PgType::Int4).unwrap_err();
    assert!(
        e.what.contains("twelve") && e.what.contains("storage class"),
        "{e:?}"
    );
    assert_eq!(
        enc(Integer(i64::MIN), &PgType::Int8).unwrap(),
        i64::MIN.to_be_bytes()
    );
    assert_eq!(enc(Null, &PgType::Int8).unwrap(), Vec::<u8>::new());
}

#[test]
fn floats_keep_their_bits() {
    assert_eq!(
        enc(Real(-0.0), &PgType::Float8).unwrap(),
        (-0.0f64).to_be_bytes()
    );
    assert_eq!(
        enc(Real(1e300), &PgType::Float8).unwrap(),
        1e300f64.to_be_bytes()
    );
    assert!(enc(Real(1e300), &PgType::Float4).is_err());
    assert_eq!(
        enc(Integer(3), &PgType::Float4).unwrap(),
        3f32.to_be_bytes()
    );
}

#[test]
fn text_problems_and_their_fixes() {
    let long = "x".repeat(150);
    let e = enc(Text(long.as_bytes()), &PgType::Varchar(Some(100))).unwrap_err();
    assert_eq!(e.fix, Some(Fix::Truncate(100)));
    let (w, out) = enc_fix(Text(long.as_bytes()), &PgType::Varchar(Some(100)));
    assert_eq!((w, out.len()), (Written::Fixed(Fix::Truncate(100)), 100));
    // Characters, not bytes: 100 emoji fit varchar(100).
    assert!(
        enc(
            Text("😀".repeat(100).as_bytes()),
            &PgType::Varchar(Some(100))
        )
        .is_ok()
    );
    let e = enc(Text(b"a\0b"), &PgType::Text).unwrap_err();
    assert_eq!(e.fix, Some(Fix::StripNul));
    assert_eq!(enc_fix(Text(b"a\0b"), &PgType::Text).1, b"ab");
    let e = enc(Text(b"bad \xff byte"), &PgType::Text).unwrap_err();
    assert!(e.what.contains("UTF-8"), "{e:?}");
    assert_eq!(
        enc(Text(b"tab\tnew\nline \\N"), &PgType::Text).unwrap(),
        b"tab\tnew\nline \\N"
    );
}

#[test]
fn dates_and_times() {
    assert_eq!(
        enc(Text(b"2000-01-02"), &PgType::Date).unwrap(),
        1i32.to_be_bytes()
    );
    assert!(enc(Text(b"0001-01-01"), &PgType::Date).is_ok());
    let e = enc(Text(b"2023-02-30"), &PgType::Date).unwrap_err();
    assert!(e.what.contains("2023-02-30"), "{e:?}");
    assert!(
        enc(Integer(20230101), &PgType::Date)
            .unwrap_err()
            .what
            .contains("storage class")
    );
    assert_eq!(
        enc(Text(b"23:59:59.999999"), &PgType::Time).unwrap(),
        86_399_999_999i64.to_be_bytes()
    );
    assert_eq!(
        enc(Text(b"00:00:00"), &PgType::Time).unwrap(),
        0i64.to_be_bytes()
    );
}

#[test]
fn json_and_jsonb() {
    assert_eq!(
        enc(Text(br#"{"a": 1}"#), &PgType::Json).unwrap(),
        br#"{"a": 1}"#
    );
    assert_eq!(enc(Text(b"null"), &PgType::Jsonb).unwrap(), b"\x01null");
    let e = enc(Text(br#"{"broken": "#), &PgType::Jsonb).unwrap_err();
    assert!(e.what.contains("not valid JSON"), "{e:?}");
    let nul = br#"{"note": "nul \u0000 byte"}"#;
    let e = enc(Text(nul), &PgType::Jsonb).unwrap_err();
    assert_eq!(e.fix, Some(Fix::StripNul));
    assert!(
        enc(Text(nul), &PgType::Json).is_ok(),
        "json (not jsonb) keeps \\u0000"
    );
    let (_, out) = enc_fix(Text(nul), &PgType::Jsonb);
    assert_eq!(&out[1..], br#"{"note": "nul  byte"}"#);
    // jsonb is sent as PostgreSQL will print it back.
    assert_eq!(
        enc(Text(br#"{"b":[1.0,2e1],"a":"\u00e9"}"#), &PgType::Jsonb).unwrap(),
        "\x01{\"a\": \"é\", \"b\": [1.0, 20]}".as_bytes()
    );
}

#[test]
fn bytea_inet_cidr() {
    assert_eq!(
        enc(Blob(&[0, 1, 255]), &PgType::Bytea).unwrap(),
        [0, 1, 255]
    );
    assert_eq!(enc(Blob(&[]), &PgType::Bytea).unwrap(), Vec::<u8>::new());
    assert_eq!(
        enc(Text(b"192.168.0.1"), &PgType::Inet).unwrap(),
        [2, 32, 0, 4, 192, 168, 0, 1]
    );
    let v6 = enc(Text(b"::ffff:1.2.3.4"), &PgType::Inet).unwrap();
    assert_eq!(&v6[..4], &[3, 128, 0, 16]);
    assert_eq!(
        enc(Text(b"10.0.0.0/8"), &PgType::Cidr).unwrap(),
        [2, 8, 1, 4, 10, 0, 0, 0]
    );
    assert!(enc(Text(b"10.0.0.1/8"), &PgType::Cidr).is_err());
    assert!(enc(Text(b"not an ip"), &PgType::Inet).is_err());
}

#[test]
fn arrays_from_json_and_packed_blobs() {
    let real = PgType::Array {
        elem: Box::new(PgType::Float4),
        elem_oid: 700,
    };
    let from_json = enc(Text(b"[0.5, -1.25]"), &real).unwrap();
    let packed: Vec<u8> = [0.5f32, -1.25]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    assert_eq!(enc(Blob(&packed), &real).unwrap(), from_json);
    let mut want = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 188, 0, 0, 0, 2, 0, 0, 0, 1];
    want.extend([0, 0, 0, 4]);
    want.extend(0.5f32.to_be_bytes());
    want.extend([0, 0, 0, 4]);
    want.extend((-1.25f32).to_be_bytes());
    assert_eq!(from_json, want);
    let double = PgType::Array {
        elem: Box::new(PgType::Float8),
        elem_oid: 701,
    };
    let packed: Vec<u8> = [0.5f64].iter().flat_map(|f| f.to_le_bytes()).collect();
    assert_eq!(
        &enc(Blob(&packed), &double).unwrap()[24..],
        0.5f64.to_be_bytes()
    );
    let ints = PgType::Array {
        elem: Box::new(PgType::Int4),
        elem_oid: 23,
    };
    let b = enc(Text(b"[1, null]"), &ints).unwrap();
    assert_eq!(&b[4..8], &[0, 0, 0, 1], "has-null flag");
    let texts = PgType::Array {
        elem: Box::new(PgType::Text),
        elem_oid: 25,
    };
    assert_eq!(
        enc(Text(b"[]"), &texts).unwrap(),
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]
    );
    assert!(enc(Text(b"[[1]]"), &ints).is_err());
}

#[test]
fn pgvector() {
    let v = enc(Text(b"[1, 2.5]"), &PgType::Vector(Some(2))).unwrap();
    let mut want = vec![0, 2, 0, 0];
    want.extend(1f32.to_be_bytes());
    want.extend(2.5f32.to_be_bytes());
    assert_eq!(v, want);
    assert!(enc(Text(b"[1]"), &PgType::Vector(Some(2))).is_err());
}

proptest! {
    #[test]
    fn any_duration_is_exact_microseconds(us in any::<i64>()) {
        let b = enc(Integer(us), &PgType::Interval).unwrap();
        let days = i32::from_be_bytes(b[8..12].try_into().unwrap()) as i128;
        prop_assert_eq!(days * 86_400_000_000 + be_i64(&b) as i128, us as i128);
        prop_assert!((0..86_400_000_000).contains(&be_i64(&b)));
    }

    #[test]
    fn any_django_datetime_round_trips(secs in -62_135_596_800i64..253_402_300_799, micros in 0u32..1_000_000) {
        let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap().naive_utc();
        let text = t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
        let us = timestamp_us(&text, true, &Zone::utc()).unwrap();
        prop_assert_eq!(us, secs * 1_000_000 + micros as i64 - PG_EPOCH_US);
    }

    #[test]
    fn integers_fit_or_are_reported(i in any::<i64>()) {
        prop_assert_eq!(enc(Integer(i), &PgType::Int2).is_ok(), i16::try_from(i).is_ok());
        prop_assert_eq!(enc(Integer(i), &PgType::Int4).is_ok(), i32::try_from(i).is_ok());
    }

    #[test]
    fn text_never_keeps_nul_or_excess_when_fixed(s in "\\PC{0,120}", n in 1usize..100) {
        let ty = PgType::Varchar(Some(n));
        let mut out = Vec::new();
        encode(Text(s.as_bytes()), &ty, &Zone::utc(), true, &mut out).unwrap();
        let back = String::from_utf8(out).unwrap();
        prop_assert!(back.chars().count() <= n && !back.contains('\0'));
    }

    #[test]
    fn uuids_any_form(bytes in any::<[u8; 16]>()) {
        let u = uuid::Uuid::from_bytes(bytes);
        let simple = u.simple().to_string();
        prop_assert_eq!(enc(Text(simple.as_bytes()), &PgType::Uuid).unwrap(), bytes.to_vec());
    }

    #[test]
    fn float_arrays_from_blobs(values in proptest::collection::vec(-1e30f32..1e30, 0..20)) {
        let ty = PgType::Array { elem: Box::new(PgType::Float4), elem_oid: 700 };
        let packed: Vec<u8> = values.iter().flat_map(|f| f.to_le_bytes()).collect();
        let json = serde_json::to_string(&values.iter().map(|f| *f as f64).collect::<Vec<_>>()).unwrap();
        prop_assert_eq!(enc(Blob(&packed), &ty).unwrap(), enc(Text(json.as_bytes()), &ty).unwrap());
    }

    /// The hand-written parser of Django's formats reads exactly what chrono's format
    /// strings read, and leaves everything else to them.
    #[test]
    fn fast_datetime_parse_agrees_with_chrono(
        s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?",
    ) {
        let chrono = NaiveDateTime::parse_from_str(&s.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f").ok();
        prop_assert_eq!(parse_naive(&s), chrono);
        let b = s.as_bytes();
        if let (Some(d), Some(t)) = (fast_date(&b[..10]), fast_time(&b[11..])) {
            prop_assert_eq!(Some(d.and_time(t)), chrono);
        }
        prop_assert_eq!(fast_date(&b[..10]).is_some(), NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok());
    }

    #[test]
    fn fast_time_parse_agrees_with_chrono(s in "[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?") {
        let chrono = NaiveTime::parse_from_str(&s, "%H:%M:%S%.f").ok();
        if let Some(t) = fast_time(s.as_bytes()) {
            prop_assert_eq!(Some(t), chrono);
        }
        prop_assert_eq!(parse_time(&s), chrono);
    }
}
