//! Values with a structure of their own: UUIDs, JSON (`json` as written, `jsonb`
//! normalized as PostgreSQL prints it), bytes, IP addresses, arrays and pgvector vectors.

use super::{Fix, Issue, Written, Zone, class, encode, issue, plain_text, short, str_of};
use crate::copy::jsonb::JsonError;
use crate::copy::types::PgType;
use crate::copy::vector::{self, VecKind};
use rusqlite::types::ValueRef;
use std::borrow::Cow;

/// A `uuid`: 16 bytes, from Django's 32 hex digits (or a 16-byte BLOB).
pub(super) fn uuid(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
    match v {
        ValueRef::Blob(b) if b.len() == 16 => out.extend_from_slice(b),
        _ => {
            let s = str_of(v, "a UUID")?;
            let u = uuid::Uuid::try_parse(s.trim())
                .map_err(|_| issue(format!("'{}' is not a UUID (32 hex digits)", short(&s))))?;
            out.extend_from_slice(u.as_bytes());
        }
    }
    Ok(())
}

/// JSON text (a bare number is its text).
fn json_text(v: ValueRef<'_>) -> Result<Cow<'_, str>, Issue> {
    match v {
        ValueRef::Integer(_) | ValueRef::Real(_) => Ok(Cow::Owned(plain_text(v))),
        _ => str_of(v, "JSON text"),
    }
}

/// A `json` value keeps the text as written: only checked.
pub(super) fn json(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
    let s = json_text(v)?;
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&s) {
        return Err(issue(format!("is not valid JSON ({e})")));
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// A `jsonb` value: its format version, then the text as PostgreSQL will print it.
pub(super) fn jsonb_field(
    v: ValueRef<'_>,
    fix: bool,
    fixed: &mut Option<Fix>,
    out: &mut Vec<u8>,
) -> Result<(), Issue> {
    let s = json_text(v)?;
    out.push(1); // jsonb binary format version
    jsonb(&s, fix, fixed, out)
}

/// A `bytea`: the bytes of a BLOB (or of a text).
pub(super) fn bytea(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
    match v {
        ValueRef::Blob(b) | ValueRef::Text(b) => {
            out.extend_from_slice(b);
            Ok(())
        }
        _ => Err(issue(format!(
            "{} where binary data was expected",
            class(v)
        ))),
    }
}

/// A pgvector `vector` or `halfvec` of `dim` dimensions.
pub(super) fn vector(
    v: ValueRef<'_>,
    ty: &PgType,
    dim: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), Issue> {
    let kind = if matches!(ty, PgType::HalfVec(_)) {
        VecKind::Half
    } else {
        VecKind::Vector
    };
    let mut e = vector::Elements::default();
    vector::elements(v, dim, None, false, &mut e)
        .and_then(|()| vector::encode(&e, kind, dim, out))
        .map_err(|i| issue(i.describe()))
}

/// JSON text for a `jsonb` column, written as PostgreSQL will print it (see `jsonb`).
fn jsonb(s: &str, fix: bool, fixed: &mut Option<Fix>, out: &mut Vec<u8>) -> Result<(), Issue> {
    match crate::copy::jsonb::normalize(s, false, out) {
        Ok(()) => Ok(()),
        Err(JsonError::Invalid(e)) => Err(issue(format!("is not valid JSON ({e})"))),
        Err(JsonError::Nul) if fix => {
            *fixed = Some(Fix::StripNul);
            crate::copy::jsonb::normalize(s, true, out).map_err(|_| issue("is not valid JSON"))
        }
        Err(JsonError::Nul) => Err(Issue {
            what: "holds \\u0000, which jsonb cannot store".into(),
            fix: Some(Fix::StripNul),
        }),
    }
}

pub(super) fn inet(s: &str, cidr: bool, out: &mut Vec<u8>) -> Result<(), Issue> {
    let bad = || issue(format!("'{}' is not an IP address", short(s)));
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let bytes: Vec<u8> = match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    let max = (bytes.len() * 8) as u8;
    let bits = bits.unwrap_or(max);
    if bits > max {
        return Err(bad());
    }
    if cidr {
        let host_bits_set = bytes.iter().enumerate().any(|(i, b)| {
            let keep = (bits as usize).saturating_sub(i * 8).min(8);
            let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            b & !mask != 0
        });
        if host_bits_set {
            return Err(issue(format!(
                "'{}' has bits set to the right of the mask",
                short(s)
            )));
        }
    }
    // PostgreSQL's own family numbers: PGSQL_AF_INET = 2, PGSQL_AF_INET6 = 3.
    out.push(if bytes.len() == 4 { 2 } else { 3 });
    out.push(bits);
    out.push(cidr as u8);
    out.push(bytes.len() as u8);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Numbers of a JSON array text, or a packed little-endian float blob of `width` bytes each.
fn floats(v: ValueRef<'_>, width: usize) -> Result<Vec<f64>, Issue> {
    match v {
        ValueRef::Blob(b) => {
            if b.len() % width != 0 {
                return Err(issue(format!(
                    "a BLOB of {} bytes is not a packed array of {width}-byte floats",
                    b.len()
                )));
            }
            Ok(b.chunks_exact(width)
                .map(|c| match c {
                    [a, b, c, d] => f32::from_le_bytes([*a, *b, *c, *d]) as f64,
                    _ => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
                })
                .collect())
        }
        _ => {
            let s = str_of(v, "a JSON array of numbers")?;
            let values: Vec<serde_json::Value> = serde_json::from_str(&s)
                .map_err(|_| issue(format!("'{}' is not a JSON array", short(&s))))?;
            values
                .iter()
                .map(|x| {
                    x.as_f64()
                        .ok_or_else(|| issue(format!("'{}' holds a non-number", short(&s))))
                })
                .collect()
        }
    }
}

pub(super) fn array(
    v: ValueRef<'_>,
    elem: &PgType,
    elem_oid: u32,
    out: &mut Vec<u8>,
) -> Result<(), Issue> {
    if let (ValueRef::Blob(_), PgType::Float4 | PgType::Float8) = (v, elem) {
        // A packed blob goes element by element as reals: through JSON, NaN would become null.
        let width = if *elem == PgType::Float4 { 4 } else { 8 };
        let reals: Vec<ValueRef<'_>> = floats(v, width)?.into_iter().map(ValueRef::Real).collect();
        return array_of(reals.into_iter().map(Some).collect(), elem, elem_oid, out);
    }
    let elems: Vec<serde_json::Value> = {
        let s = str_of(v, "a JSON array")?;
        serde_json::from_str(&s)
            .map_err(|_| issue(format!("'{}' is not a JSON array", short(&s))))?
    };
    let mut values = Vec::with_capacity(elems.len());
    for e in &elems {
        values.push(match e {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(ValueRef::Text(s.as_bytes())),
            serde_json::Value::Bool(b) => Some(ValueRef::Integer(*b as i64)),
            serde_json::Value::Number(n) => Some(match n.as_i64() {
                Some(i) => ValueRef::Integer(i),
                None => ValueRef::Real(n.as_f64().unwrap_or(f64::NAN)),
            }),
            _ => {
                return Err(issue(
                    "nested JSON arrays or objects cannot go into a one-dimensional array",
                ));
            }
        });
    }
    array_of(values, elem, elem_oid, out)
}

/// A one-dimensional array of `values` (`None` is NULL) in PostgreSQL's binary format.
fn array_of(
    values: Vec<Option<ValueRef<'_>>>,
    elem: &PgType,
    elem_oid: u32,
    out: &mut Vec<u8>,
) -> Result<(), Issue> {
    let len = i32::try_from(values.len()).map_err(|_| issue("the array is too long"))?;
    let has_null = values.iter().any(Option::is_none);
    out.extend_from_slice(&(if values.is_empty() { 0i32 } else { 1 }).to_be_bytes());
    out.extend_from_slice(&(has_null as i32).to_be_bytes());
    out.extend_from_slice(&elem_oid.to_be_bytes());
    if !values.is_empty() {
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    let zone = Zone::utc();
    for value in values {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        let written = match value {
            Some(value) => encode(value, elem, &zone, false, out)
                .map_err(|i| issue(format!("an element {}", i.what)))?,
            None => Written::Null,
        };
        let len = if written == Written::Null {
            out.truncate(start + 4);
            -1
        } else {
            (out.len() - start - 4) as i32
        };
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}
