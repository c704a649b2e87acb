//! Exact decimals for `numeric`: parse Django's text/real/integer forms without float noise,
//! round like PostgreSQL (half away from zero), and read/write the binary wire format.

/// A parsed decimal: `digits × 10^-scale` (scale ≥ 0), or a special value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decimal {
    NaN,
    Infinity {
        negative: bool,
    },
    Finite {
        negative: bool,
        /// Decimal digits, most significant first, no leading zeros (empty for zero).
        digits: Vec<u8>,
        scale: u32,
    },
}

impl Decimal {
    /// Parse `-12.3400`, `1e-7`, `NaN`, `Infinity`. `None` when it is not a number.
    pub fn parse(text: &str) -> Option<Decimal> {
        let s = text.trim();
        let (negative, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "nan" {
            return Some(Decimal::NaN);
        }
        if lower == "inf" || lower == "infinity" {
            return Some(Decimal::Infinity { negative });
        }
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let mut scale = frac.len() as i64 - exp as i64;
        if scale < 0 {
            if -scale > 1_000_000 {
                return None;
            }
            digits.extend(std::iter::repeat_n(0, (-scale) as usize));
            scale = 0;
        }
        if scale > 1_000_000 {
            return None;
        }
        let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
        digits.drain(..first);
        Some(Decimal::Finite {
            negative: negative && !digits.is_empty(),
            digits,
            scale: scale as u32,
        })
    }

    /// The exact decimal of a float's shortest round-trip text (0.1 → 0.1, not 0.1000000000000000055…).
    pub fn from_f64(f: f64) -> Decimal {
        if f.is_nan() {
            return Decimal::NaN;
        }
        if f.is_infinite() {
            return Decimal::Infinity { negative: f < 0.0 };
        }
        // `{:e}` is the shortest representation that reads back as the same float.
        Decimal::parse(&format!("{f:e}")).unwrap_or(Decimal::NaN)
    }

    pub fn from_i64(i: i64) -> Decimal {
        Decimal::parse(&i.to_string()).unwrap_or(Decimal::NaN)
    }

    /// Round (half away from zero, as PostgreSQL does) or pad to exactly `target` decimals.
    pub fn with_scale(self, target: u32) -> Decimal {
        let Decimal::Finite {
            negative,
            mut digits,
            scale,
        } = self
        else {
            return self;
        };
        if scale <= target {
            digits.extend(std::iter::repeat_n(0, (target - scale) as usize));
        } else {
            let drop = (scale - target) as usize;
            let round_up = if drop <= digits.len() {
                digits[digits.len() - drop] >= 5
            } else {
                false
            };
            digits.truncate(digits.len().saturating_sub(drop));
            if round_up {
                let mut i = digits.len();
                loop {
                    if i == 0 {
                        digits.insert(0, 1);
                        break;
                    }
                    i -= 1;
                    if digits[i] == 9 {
                        digits[i] = 0;
                    } else {
                        digits[i] += 1;
                        break;
                    }
                }
            }
        }
        let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
        digits.drain(..first);
        Decimal::Finite {
            negative: negative && !digits.is_empty(),
            digits,
            scale: target,
        }
    }

    /// Digits before the decimal point (0 for |x| < 1).
    pub fn integer_digits(&self) -> usize {
        match self {
            Decimal::Finite { digits, scale, .. } => digits.len().saturating_sub(*scale as usize),
            _ => 0,
        }
    }

    /// PostgreSQL's binary `numeric`: ndigits, weight, sign, dscale, base-10000 digits.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (negative, digits, scale) = match self {
            Decimal::NaN => return header(out, 0, 0, 0xC000, 0),
            Decimal::Infinity { negative } => {
                return header(out, 0, 0, if *negative { 0xF000 } else { 0xD000 }, 0);
            }
            Decimal::Finite {
                negative,
                digits,
                scale,
            } => (*negative, digits, *scale as usize),
        };
        let split = digits.len().saturating_sub(scale);
        let int = &digits[..split];
        let frac_pad = scale.saturating_sub(digits.len());
        let frac: Vec<u8> = std::iter::repeat_n(0, frac_pad)
            .chain(digits[split..].iter().copied())
            .collect();
        let mut groups: Vec<i16> = Vec::new();
        let lead = (4 - int.len() % 4) % 4;
        let padded_int: Vec<u8> = std::iter::repeat_n(0, lead)
            .chain(int.iter().copied())
            .collect();
        for c in padded_int.chunks(4) {
            groups.push(group(c));
        }
        let mut weight = groups.len() as i32 - 1;
        for c in frac.chunks(4) {
            let mut g = [0u8; 4];
            g[..c.len()].copy_from_slice(c);
            groups.push(group(&g));
        }
        while groups.first() == Some(&0) {
            groups.remove(0);
            weight -= 1;
        }
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            return header(out, 0, 0, 0, scale as i16);
        }
        let sign = if negative { 0x4000 } else { 0 };
        header(out, groups.len() as i16, weight as i16, sign, scale as i16);
        for g in groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
    }
}

fn group(c: &[u8]) -> i16 {
    c.iter().fold(0i16, |acc, &d| acc * 10 + d as i16)
}

fn header(out: &mut Vec<u8>, ndigits: i16, weight: i16, sign: u16, dscale: i16) {
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

/// The text of a binary `numeric` (as PostgreSQL prints it), for verification.
pub fn decode_text(bytes: &[u8]) -> Option<String> {
    let be16 = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = be16(0)? as usize;
    let weight = be16(2)? as i32;
    let sign = be16(4)? as u16;
    let dscale = be16(6)?.max(0) as usize;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let groups: Vec<i16> = (0..ndigits)
        .map(|i| be16(8 + 2 * i))
        .collect::<Option<_>>()?;
    let at = |i: i32| -> i16 {
        if i >= 0 && (i as usize) < groups.len() {
            groups[i as usize]
        } else {
            0
        }
    };
    let mut s = String::new();
    if sign == 0x4000 && !groups.is_empty() {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let g = at(i);
            if i == 0 {
                s.push_str(&g.to_string());
            } else {
                s.push_str(&format!("{g:04}"));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", at(i)));
            i += 1;
        }
        frac.truncate(dscale);
        s.push_str(&frac);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(d: &Decimal) -> String {
        let mut v = Vec::new();
        d.encode(&mut v);
        decode_text(&v).unwrap()
    }

    #[test]
    fn real_point_one_is_exact_at_scale_four() {
        assert_eq!(text(&Decimal::from_f64(0.1).with_scale(4)), "0.1000");
        assert_eq!(text(&Decimal::from_i64(1).with_scale(4)), "1.0000");
        assert_eq!(text(&Decimal::from_f64(99.9999).with_scale(4)), "99.9999");
        assert_eq!(text(&Decimal::parse("0.1000").unwrap()), "0.1000");
        assert_eq!(
            text(&Decimal::parse("-0.00005").unwrap().with_scale(4)),
            "-0.0001"
        );
        assert_eq!(
            text(&Decimal::parse("0.00004").unwrap().with_scale(4)),
            "0.0000"
        );
        assert_eq!(
            text(&Decimal::parse("9.99995").unwrap().with_scale(4)),
            "10.0000"
        );
        assert_eq!(text(&Decimal::parse("1e3").unwrap()), "1000");
        assert_eq!(text(&Decimal::parse("12345678.9").unwrap()), "12345678.9");
        assert_eq!(text(&Decimal::parse("0.00000001").unwrap()), "0.00000001");
        assert_eq!(Decimal::parse("12.5").unwrap().integer_digits(), 2);
        assert_eq!(Decimal::parse("abc"), None);
    }

    #[test]
    fn binary_matches_postgres_layout() {
        // 1234.5678 → ndigits 2, weight 0... PostgreSQL: digits [1234, 5678], weight 0, dscale 4.
        let mut v = Vec::new();
        Decimal::parse("1234.5678").unwrap().encode(&mut v);
        assert_eq!(v, [0, 2, 0, 0, 0, 0, 0, 4, 0x04, 0xD2, 0x16, 0x2E]);
        let mut z = Vec::new();
        Decimal::parse("0.000").unwrap().encode(&mut z);
        assert_eq!(z, [0, 0, 0, 0, 0, 0, 0, 3]);
    }

    proptest! {
        #[test]
        fn integers_and_scaled_values_round_trip(i in any::<i64>(), frac in 0u32..10_000) {
            let s = format!("{}{}.{frac:04}", if i < 0 { "-" } else { "" }, i.unsigned_abs());
            let want = if i == 0 && frac == 0 { "0.0000".to_string() } else { s.clone() };
            prop_assert_eq!(text(&Decimal::parse(&s).unwrap()), want);
        }

        #[test]
        fn floats_keep_their_shortest_digits(f in -1e12f64..1e12) {
            let d = Decimal::from_f64(f);
            let back: f64 = text(&d).parse().unwrap();
            prop_assert_eq!(back, f);
        }
    }
}
