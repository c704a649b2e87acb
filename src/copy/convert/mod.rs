//! One SQLite value → the binary COPY field of one PostgreSQL column, decided by the target
//! type and the value's SQLite storage class, the way Django stores each field on SQLite.
//!
//! Invariants: a value PostgreSQL would reject is never written; it becomes an [`Issue`]
//! (what is wrong, and the fix that `ProblemPolicy::Fix` may apply). Fixes are applied only
//! when asked for, and are reported by the caller. Two silent traps are handled here:
//! `DurationField` is integer **microseconds** (never seconds), and naive datetimes are UTC
//! when `USE_TZ` is on, else in the project's `TIME_ZONE`.

mod structured;
mod time;

use super::numeric::Decimal;
use super::types::PgType;
#[cfg(test)]
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rusqlite::types::ValueRef;
use std::borrow::Cow;
#[cfg(test)]
use time::{PG_EPOCH_US, fast_date, fast_time, parse_naive, parse_time, timestamp_us};

/// How naive datetimes in the SQLite file are to be read.
#[derive(Clone, Debug)]
pub struct Zone {
    /// Django's `USE_TZ`: naive text is UTC.
    pub use_tz: bool,
    /// Django's `TIME_ZONE`, used when `use_tz` is off.
    pub tz: chrono_tz::Tz,
}

impl Zone {
    pub fn new(use_tz: bool, time_zone: &str) -> anyhow::Result<Zone> {
        let tz = if time_zone.is_empty() {
            chrono_tz::UTC
        } else {
            time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
                anyhow::anyhow!("TIME_ZONE {time_zone:?} is not a known IANA time zone")
            })?
        };
        Ok(Zone { use_tz, tz })
    }

    pub fn utc() -> Zone {
        Zone {
            use_tz: true,
            tz: chrono_tz::UTC,
        }
    }
}

/// A repair `ProblemPolicy::Fix` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Cut the text to this many characters.
    Truncate(usize),
    /// Remove NUL characters.
    StripNul,
    /// Replace invalid UTF-8 bytes with U+FFFD.
    ReplaceInvalidUtf8,
    /// Write NULL (a reference to a row that no longer exists, in a nullable column).
    SetNull,
}

impl Fix {
    pub fn describe(self) -> String {
        match self {
            Fix::Truncate(n) => format!("truncate to {n} characters"),
            Fix::StripNul => "strip the NUL bytes".into(),
            Fix::ReplaceInvalidUtf8 => "replace the invalid bytes with U+FFFD".into(),
            Fix::SetNull => "set it to NULL".into(),
        }
    }
}

/// A value PostgreSQL would reject.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub what: String,
    pub fix: Option<Fix>,
}

fn issue(what: impl Into<String>) -> Issue {
    Issue {
        what: what.into(),
        fix: None,
    }
}

/// What was written for a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Null,
    Value,
    /// A value, after applying this fix.
    Fixed(Fix),
}

/// Convert `v` for a column of type `ty`, appending the field's bytes (not its length) to
/// `out`. With `fix`, fixable issues are repaired instead of returned.
pub fn encode(
    v: ValueRef<'_>,
    ty: &PgType,
    zone: &Zone,
    fix: bool,
    out: &mut Vec<u8>,
) -> Result<Written, Issue> {
    if let ValueRef::Null = v {
        return Ok(Written::Null);
    }
    let mut fixed = None;
    match ty {
        PgType::Bool => out.push(boolean(v)? as u8),
        PgType::Int2 | PgType::Int4 | PgType::Int8 => int(v, ty, out)?,
        PgType::Float4 => {
            let f = float(v)?;
            out.extend_from_slice(&to_f32(f)?.to_be_bytes());
        }
        PgType::Float8 => out.extend_from_slice(&float(v)?.to_be_bytes()),
        PgType::Numeric { precision, scale } => numeric(v, *precision, *scale)?.encode(out),
        PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) => {
            let max = match ty {
                PgType::Varchar(n) | PgType::Bpchar(n) => *n,
                _ => None,
            };
            let s = text(v, fix, &mut fixed)?;
            let s = checked_text(s, max, fix, &mut fixed)?;
            out.extend_from_slice(s.as_bytes());
        }
        PgType::Date => time::date(v, out)?,
        PgType::Time => time::time_of_day(v, out)?,
        PgType::Timestamp | PgType::Timestamptz => {
            time::timestamp_field(v, *ty == PgType::Timestamptz, zone, out)?
        }
        PgType::Interval => time::interval(v, out)?,
        PgType::Uuid => structured::uuid(v, out)?,
        PgType::Json => structured::json(v, out)?,
        PgType::Jsonb => structured::jsonb_field(v, fix, &mut fixed, out)?,
        PgType::Bytea => structured::bytea(v, out)?,
        PgType::Inet | PgType::Cidr => {
            let s = str_of(v, "an IP address")?;
            structured::inet(s.trim(), *ty == PgType::Cidr, out)?;
        }
        PgType::Array { elem, elem_oid } => structured::array(v, elem, *elem_oid, out)?,
        PgType::Vector(dim) | PgType::HalfVec(dim) => structured::vector(v, ty, *dim, out)?,
        PgType::TsVector | PgType::Other(_) => {
            return Err(issue(format!("the type {} is not copied", ty.sql_name())));
        }
    }
    Ok(fixed.map_or(Written::Value, Written::Fixed))
}

/// `smallint`, `integer` or `bigint`, refusing what is out of the column's range.
fn int(v: ValueRef<'_>, ty: &PgType, out: &mut Vec<u8>) -> Result<(), Issue> {
    let i = integer(v)?;
    match ty {
        PgType::Int2 => {
            let i = i16::try_from(i)
                .map_err(|_| issue(format!("{i} is out of range for smallint (-32768..32767)")))?;
            out.extend_from_slice(&i.to_be_bytes());
        }
        PgType::Int4 => {
            let i = i32::try_from(i).map_err(|_| {
                issue(format!(
                    "{i} is out of range for integer (-2147483648..2147483647)"
                ))
            })?;
            out.extend_from_slice(&i.to_be_bytes());
        }
        _ => out.extend_from_slice(&i.to_be_bytes()),
    }
    Ok(())
}

/// A short, printable excerpt of a value for reports.
pub fn excerpt(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(b) => {
            let s = String::from_utf8_lossy(b);
            let mut e: String = s.chars().take(40).flat_map(char::escape_debug).collect();
            if s.chars().count() > 40 {
                e.push('…');
            }
            e
        }
        ValueRef::Blob(b) => {
            let mut e = format!("BLOB x'{}'", hex::encode(&b[..b.len().min(16)]));
            if b.len() > 16 {
                e.push_str(&format!("… ({} bytes)", b.len()));
            }
            e
        }
    }
}

/// The SQLite storage class of a value, in words.
fn class(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(f) => format!("the real number {f:?}"),
        ValueRef::Text(_) => format!("the text '{}'", excerpt(v)),
        ValueRef::Blob(b) => format!("a BLOB of {} bytes", b.len()),
    }
}

fn short(s: &str) -> String {
    excerpt(ValueRef::Text(s.as_bytes()))
}

fn plain_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        _ => String::new(),
    }
}

fn boolean(v: ValueRef<'_>) -> Result<bool, Issue> {
    match v {
        ValueRef::Integer(0) => Ok(false),
        ValueRef::Integer(1) => Ok(true),
        ValueRef::Text(b) => match std::str::from_utf8(b).map(|s| s.trim().to_ascii_lowercase()) {
            Ok(s) if matches!(s.as_str(), "0" | "f" | "false") => Ok(false),
            Ok(s) if matches!(s.as_str(), "1" | "t" | "true") => Ok(true),
            _ => Err(issue(format!("{} is not a boolean (0 or 1)", class(v)))),
        },
        _ => Err(issue(format!("{} is not a boolean (0 or 1)", class(v)))),
    }
}

fn integer(v: ValueRef<'_>) -> Result<i64, Issue> {
    match v {
        ValueRef::Integer(i) => Ok(i),
        ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        ValueRef::Text(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| {
                issue(format!(
                    "{} is not an integer (wrong storage class)",
                    class(v)
                ))
            }),
        _ => Err(issue(format!(
            "{} is not an integer (wrong storage class)",
            class(v)
        ))),
    }
}

fn float(v: ValueRef<'_>) -> Result<f64, Issue> {
    match v {
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(f) => Ok(f),
        ValueRef::Text(b) => {
            let s = std::str::from_utf8(b).ok().map(str::trim);
            let f = s.and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| {
                issue(format!(
                    "{} is not a number (wrong storage class)",
                    class(v)
                ))
            })?;
            // Text such as 1e400 parses as infinity: a silent change, not a number kept.
            let says_infinite = s.is_some_and(|s| {
                let s = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
                s == "inf" || s == "infinity"
            });
            if f.is_infinite() && !says_infinite {
                return Err(issue(format!(
                    "{} is out of range for double precision",
                    class(v)
                )));
            }
            Ok(f)
        }
        _ => Err(issue(format!(
            "{} is not a number (wrong storage class)",
            class(v)
        ))),
    }
}

fn to_f32(f: f64) -> Result<f32, Issue> {
    let r = f as f32;
    if f.is_finite() && !r.is_finite() {
        return Err(issue(format!("{f:?} is out of range for real")));
    }
    if f != 0.0 && r == 0.0 {
        return Err(issue(format!(
            "{f:?} is too small for real (it would become 0)"
        )));
    }
    Ok(r)
}

/// PostgreSQL's limits for `numeric` without a declared precision.
const NUMERIC_MAX_WEIGHT_DIGITS: usize = 131_072;
const NUMERIC_MAX_SCALE: u32 = 16_383;

fn numeric(v: ValueRef<'_>, precision: Option<u32>, scale: Option<u32>) -> Result<Decimal, Issue> {
    let d = match v {
        ValueRef::Integer(i) => Decimal::from_i64(i),
        // DecimalField on SQLite is often a REAL: take its shortest digits, not its binary noise.
        ValueRef::Real(f) => Decimal::from_f64(f),
        ValueRef::Text(b) => std::str::from_utf8(b)
            .ok()
            .and_then(Decimal::parse)
            .ok_or_else(|| issue(format!("{} is not a decimal number", class(v))))?,
        _ => return Err(issue(format!("{} is not a decimal number", class(v)))),
    };
    if let Decimal::Finite { scale, .. } = &d
        && (d.integer_digits() > NUMERIC_MAX_WEIGHT_DIGITS || *scale > NUMERIC_MAX_SCALE)
    {
        return Err(issue(format!(
            "{} is beyond what numeric can hold (131072 digits before the point, 16383 after)",
            excerpt(v)
        )));
    }
    let (Some(p), Some(s)) = (precision, scale) else {
        return Ok(d);
    };
    let d = d.with_scale(s);
    match d {
        Decimal::Finite { .. } if d.integer_digits() as u32 > p.saturating_sub(s) => {
            Err(issue(format!(
                "{} does not fit numeric({p},{s}) (at most {} digits before the point)",
                excerpt(v),
                p.saturating_sub(s)
            )))
        }
        Decimal::Finite { .. } => Ok(d),
        _ => Err(issue(format!(
            "{} cannot be stored in numeric({p},{s})",
            excerpt(v)
        ))),
    }
}

/// The value as text for text columns (numbers become their text, like SQLite's CAST).
fn text<'a>(v: ValueRef<'a>, fix: bool, fixed: &mut Option<Fix>) -> Result<Cow<'a, str>, Issue> {
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => match std::str::from_utf8(b) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) if fix => {
                *fixed = Some(Fix::ReplaceInvalidUtf8);
                Ok(String::from_utf8_lossy(b))
            }
            Err(e) => Err(Issue {
                what: format!(
                    "is not valid UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                ),
                fix: Some(Fix::ReplaceInvalidUtf8),
            }),
        },
        _ => Ok(Cow::Owned(plain_text(v))),
    }
}

fn checked_text<'a>(
    mut s: Cow<'a, str>,
    max: Option<usize>,
    fix: bool,
    fixed: &mut Option<Fix>,
) -> Result<Cow<'a, str>, Issue> {
    if s.contains('\0') {
        if !fix {
            return Err(Issue {
                what: "contains a NUL byte, which PostgreSQL text cannot hold".into(),
                fix: Some(Fix::StripNul),
            });
        }
        *fixed = Some(Fix::StripNul);
        s = Cow::Owned(s.replace('\0', ""));
    }
    if let Some(n) = max {
        let chars = s.chars().count();
        if chars > n {
            if !fix {
                return Err(Issue {
                    what: format!("is {chars} characters long; the column holds at most {n}"),
                    fix: Some(Fix::Truncate(n)),
                });
            }
            *fixed = Some(Fix::Truncate(n));
            s = Cow::Owned(s.chars().take(n).collect());
        }
    }
    Ok(s)
}

/// Text for a typed parse (dates, UUIDs, JSON…): must be TEXT and valid UTF-8.
fn str_of<'a>(v: ValueRef<'a>, what: &str) -> Result<Cow<'a, str>, Issue> {
    match v {
        ValueRef::Text(b) => std::str::from_utf8(b)
            .map(Cow::Borrowed)
            .map_err(|_| issue(format!("is not valid UTF-8 where {what} was expected"))),
        _ => Err(issue(format!(
            "{} where {what} was expected (wrong storage class)",
            class(v)
        ))),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod total_tests;
