use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> Result<Elements, VecIssue> {
    let mut e = Elements::default();
    elements(ValueRef::Text(s.as_bytes()), None, None, true, &mut e)?;
    Ok(e)
}

#[test]
fn json_numbers_go_straight_to_float4() {
    // 1.00000005960464477539062500001 rounds up to the next float4 directly; through float8
    // it first becomes exactly the midpoint, which then rounds to even (down).
    let s = "1.00000005960464477539062500001";
    let e = parse(&format!("[{s}]")).unwrap();
    assert_eq!(e.f32s[0], s.parse::<f32>().unwrap());
    assert_ne!(
        e.f32s[0],
        s.parse::<f64>().unwrap() as f32,
        "the example must bite"
    );
}

#[test]
fn python_json_specials_are_found_not_rejected_as_text() {
    let e = parse("[0.5, NaN, -Infinity]").unwrap();
    assert_eq!(check(&e, None), Err(VecIssue::NonFinite { index: 1 }));
    assert!(parse("[1, \"2\"]").is_err());
    assert!(parse("[1, null]").is_err());
    assert!(parse("[inf]").is_err());
    assert!(parse("{\"a\": 1}").is_err());
    assert_eq!(check(&parse("[]").unwrap(), None), Err(VecIssue::Empty));
    assert_eq!(
        check(&parse("[1, 2]").unwrap(), Some(3)),
        Err(VecIssue::Dim { found: 2, want: 3 })
    );
}

#[test]
fn binary_form_is_dims_zero_then_big_endian_elements() {
    let e = parse("[1, 2.5]").unwrap();
    let mut out = Vec::new();
    encode(&e, VecKind::Vector, Some(2), &mut out).unwrap();
    let mut want = vec![0, 2, 0, 0];
    want.extend(1f32.to_be_bytes());
    want.extend(2.5f32.to_be_bytes());
    assert_eq!(out, want);
    out.clear();
    encode(&e, VecKind::Half, Some(2), &mut out).unwrap();
    assert_eq!(out, [0, 2, 0, 0, 0x3c, 0x00, 0x41, 0x00]);
}

#[test]
fn blobs_are_float32_unless_the_size_says_float64() {
    let mut e = Elements::default();
    let b32: Vec<u8> = [0.25f32, -1.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    elements(ValueRef::Blob(&b32), Some(2), None, true, &mut e).unwrap();
    assert_eq!(e.f32s, [0.25, -1.0]);
    let b64: Vec<u8> = [0.1f64, 3.0].iter().flat_map(|f| f.to_le_bytes()).collect();
    elements(ValueRef::Blob(&b64), Some(2), None, true, &mut e).unwrap();
    assert_eq!(e.f32s, [0.1f32, 3.0]);
    assert_eq!(e.wide.as_deref(), Some(&[0.1f64, 3.0][..]));
    let mut p = Precision::new();
    p.add(&e, VecKind::Vector);
    assert!(!p.exact && p.max_abs_err > 0.0 && p.max_rel_err < 1e-7);
}

#[test]
fn half_rounding_matches_ieee() {
    for (f, h) in [
        (0.0f32, 0x0000u16),
        (-0.0, 0x8000),
        (1.0, 0x3c00),
        (65504.0, 0x7bff),
        (65520.0, 0x7c00), // rounds up to infinity: an overflow
        (5.960_464_5e-8, 0x0001),
        (2.980_232_2e-8, 0x0000), // exactly half the smallest subnormal: ties to even
        (1.000_488_3, 0x3c00),    // 1 + 2^-11: a tie, to even (down)
        (1.001_464_8, 0x3c02),    // 1 + 3*2^-11: a tie, to even (up)
    ] {
        assert_eq!(f32_to_f16(f), h, "{f}");
    }
    let e = Elements {
        f32s: vec![70000.0],
        wide: None,
    };
    assert!(matches!(
        encode(&e, VecKind::Half, None, &mut Vec::new()),
        Err(VecIssue::HalfOverflow { index: 0, .. })
    ));
}

#[test]
fn float32_sources_are_exact_in_vector_and_narrowed_in_halfvec() {
    let e = parse("[0.1, 0.2, 0.3]").unwrap();
    let mut p = Precision::new();
    p.add(&e, VecKind::Vector);
    // JSON decimals are float8 values; float4 narrows them a little.
    assert!(!p.exact);
    let mut e2 = Elements::default();
    let b: Vec<u8> = [0.1f32, 0.2, 0.3]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    elements(ValueRef::Blob(&b), None, None, true, &mut e2).unwrap();
    let mut exact = Precision::new();
    exact.add(&e2, VecKind::Vector);
    assert!(exact.exact, "{}", exact.describe());
    let mut half = Precision::new();
    half.add(&e2, VecKind::Half);
    assert!(!half.exact && half.max_rel_err < 1e-3 && half.max_cosine_drift < 1e-6);
}

proptest! {
    #[test]
    fn half_round_trips_every_half(h in 0u16..0x7c00) {
        let f = f16_to_f32(h);
        prop_assert_eq!(f32_to_f16(f), h);
        prop_assert_eq!(f32_to_f16(-f), h | 0x8000);
    }

    #[test]
    fn half_is_the_nearest(f in -65000f32..65000f32) {
        let h = f32_to_f16(f);
        let got = f16_to_f32(h) as f64;
        let err = (got - f as f64).abs();
        for n in [h.wrapping_sub(1), h.wrapping_add(1)] {
            if n & 0x7c00 != 0x7c00 {
                prop_assert!(err <= (f16_to_f32(n) as f64 - f as f64).abs());
            }
        }
    }

    #[test]
    fn shortest_float4_text_reads_back_exactly(f in any::<f32>().prop_filter("finite", |f| f.is_finite())) {
        let e = parse(&format!("[{f:?}, {f:e}]")).unwrap();
        prop_assert_eq!(e.f32s[0].to_bits(), f.to_bits());
        prop_assert_eq!(e.f32s[1].to_bits(), f.to_bits());
    }
}
