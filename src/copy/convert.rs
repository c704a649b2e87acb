//! One SQLite value → the binary COPY field of one PostgreSQL column, decided by the target
//! type and the value's SQLite storage class, the way Django stores each field on SQLite.
//!
//! Invariants: a value PostgreSQL would reject is never written; it becomes an [`Issue`]
//! (what is wrong, and the fix that `ProblemPolicy::Fix` may apply). Fixes are applied only
//! when asked for, and are reported by the caller. Two silent traps are handled here:
//! `DurationField` is integer **microseconds** (never seconds), and naive datetimes are UTC
//! when `USE_TZ` is on, else in the project's `TIME_ZONE`.

use super::jsonb::JsonError;
use super::numeric::Decimal;
use super::types::PgType;
use super::vector::{self, VecKind};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset as _, TimeZone, Timelike};
use rusqlite::types::ValueRef;
use std::borrow::Cow;

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

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_US: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

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
        PgType::Int2 => {
            let i = integer(v)?;
            let i = i16::try_from(i)
                .map_err(|_| issue(format!("{i} is out of range for smallint (-32768..32767)")))?;
            out.extend_from_slice(&i.to_be_bytes());
        }
        PgType::Int4 => {
            let i = integer(v)?;
            let i = i32::try_from(i).map_err(|_| {
                issue(format!(
                    "{i} is out of range for integer (-2147483648..2147483647)"
                ))
            })?;
            out.extend_from_slice(&i.to_be_bytes());
        }
        PgType::Int8 => out.extend_from_slice(&integer(v)?.to_be_bytes()),
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
        PgType::Date => {
            let s = str_of(v, "a date")?;
            let s = s.trim();
            let d = fast_date(s.as_bytes())
                .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .ok_or(())
                .map_err(|_| issue(format!("'{}' is not a valid date (YYYY-MM-DD)", short(s))))?;
            if !DJANGO_YEARS.contains(&d.year()) {
                return Err(issue(year_issue("date", d.year())));
            }
            let days = d.signed_duration_since(NaiveDate::default()).num_days() - PG_EPOCH_DAYS;
            out.extend_from_slice(&(days as i32).to_be_bytes());
        }
        PgType::Time => {
            let s = str_of(v, "a time")?;
            let t = parse_time(s.trim()).ok_or_else(|| {
                issue(format!(
                    "'{}' is not a valid time (HH:MM:SS[.ffffff])",
                    short(&s)
                ))
            })?;
            if t.nanosecond() >= 1_000_000_000 {
                return Err(issue(format!(
                    "'{}' is a leap second, which neither Django nor PostgreSQL can hold",
                    short(&s)
                )));
            }
            let us = t
                .signed_duration_since(NaiveTime::MIN)
                .num_microseconds()
                .unwrap_or(0);
            out.extend_from_slice(&us.to_be_bytes());
        }
        PgType::Timestamp | PgType::Timestamptz => {
            let s = str_of(v, "a datetime")?;
            let us = timestamp(s.trim(), *ty == PgType::Timestamptz, zone).map_err(issue)?;
            out.extend_from_slice(&us.to_be_bytes());
        }
        PgType::Interval => {
            // DurationField: integer microseconds. 90 s is 90_000_000, never 90.
            let us = integer(v)?;
            let (days, time) = duration_fields(us);
            out.extend_from_slice(&time.to_be_bytes());
            out.extend_from_slice(&days.to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes()); // months
        }
        PgType::Uuid => match v {
            ValueRef::Blob(b) if b.len() == 16 => out.extend_from_slice(b),
            _ => {
                let s = str_of(v, "a UUID")?;
                let u = uuid::Uuid::try_parse(s.trim())
                    .map_err(|_| issue(format!("'{}' is not a UUID (32 hex digits)", short(&s))))?;
                out.extend_from_slice(u.as_bytes());
            }
        },
        PgType::Json | PgType::Jsonb => {
            let s = match v {
                ValueRef::Integer(_) | ValueRef::Real(_) => Cow::Owned(plain_text(v)),
                _ => str_of(v, "JSON text")?,
            };
            if *ty == PgType::Jsonb {
                out.push(1); // jsonb binary format version
                jsonb(&s, fix, &mut fixed, out)?;
            } else {
                // json keeps the text as written: only check it.
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&s) {
                    return Err(issue(format!("is not valid JSON ({e})")));
                }
                out.extend_from_slice(s.as_bytes());
            }
        }
        PgType::Bytea => match v {
            ValueRef::Blob(b) | ValueRef::Text(b) => out.extend_from_slice(b),
            _ => {
                return Err(issue(format!(
                    "{} where binary data was expected",
                    class(v)
                )));
            }
        },
        PgType::Inet | PgType::Cidr => {
            let s = str_of(v, "an IP address")?;
            inet(s.trim(), *ty == PgType::Cidr, out)?;
        }
        PgType::Array { elem, elem_oid } => array(v, elem, *elem_oid, out)?,
        PgType::Vector(dim) | PgType::HalfVec(dim) => {
            let kind = if matches!(ty, PgType::HalfVec(_)) {
                VecKind::Half
            } else {
                VecKind::Vector
            };
            let mut e = vector::Elements::default();
            vector::elements(v, *dim, None, false, &mut e)
                .and_then(|()| vector::encode(&e, kind, *dim, out))
                .map_err(|i| issue(i.describe()))?;
        }
        PgType::TsVector | PgType::Other(_) => {
            return Err(issue(format!("the type {} is not copied", ty.sql_name())));
        }
    }
    Ok(fixed.map_or(Written::Value, Written::Fixed))
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

/// A duration of `us` microseconds as Django writes it on PostgreSQL (psycopg sends a
/// `timedelta` as its days and the rest): whole days in the interval's day field (floored,
/// as Python's `timedelta.days`), the non-negative rest in its time field. `400 days
/// 05:00:00`, not `9605:00:00`: equal as durations, but `EXTRACT(day …)` and date arithmetic
/// across a DST change in a non-UTC session see the fields.
pub(crate) fn duration_fields(us: i64) -> (i32, i64) {
    const DAY_US: i64 = 86_400_000_000;
    // |i64| / DAY_US is at most about 1.07e8 days: always an i32.
    (us.div_euclid(DAY_US) as i32, us.rem_euclid(DAY_US))
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

fn parse_time(s: &str) -> Option<NaiveTime> {
    if let Some(t) = fast_time(s.as_bytes()) {
        return Some(t);
    }
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

/// Split `2024-03-10 02:30:00.123456+01:00` into the naive part and an offset in seconds.
/// Works on bytes: the text may hold any Unicode, and only an ASCII sign can start an
/// offset, so the split always falls on a character boundary.
fn split_offset(s: &str) -> (&str, Option<Offset>) {
    if let Some(rest) = s.strip_suffix('Z') {
        return (rest, Some(Offset::Seconds(0)));
    }
    let b = s.as_bytes();
    if b.len() > 16 {
        let tail_start = b.len() - 6;
        let sign_at = b[tail_start..]
            .iter()
            .rposition(|c| matches!(c, b'+' | b'-'))
            .map(|p| p + tail_start);
        if let Some(pos) = sign_at {
            let (h, m) = match &b[pos + 1..] {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2]), digits(&[*m1, *m2]))
                }
                [h1, h2] => (digits(&[*h1, *h2]), Some(0)),
                _ => (None, None),
            };
            if let (Some(h), Some(m)) = (h, m) {
                let sign = if b[pos] == b'-' { -1 } else { 1 };
                let offset = if h > MAX_OFFSET_HOURS || m >= 60 {
                    Offset::Impossible
                } else {
                    Offset::Seconds(sign * (h as i32 * 3600 + m as i32 * 60))
                };
                // `pos` is the byte of an ASCII sign: a character boundary.
                return (&s[..pos], Some(offset));
            }
        }
    }
    (s, None)
}

/// `N` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// Django's own date text, `YYYY-MM-DD`, without chrono's format interpreter (the copy
/// parses a date or datetime in most rows). Anything else is left to chrono.
fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `HH:MM:SS` with an optional `.f` of 1 to 9 digits, as Django writes times.
fn fast_time(b: &[u8]) -> Option<NaiveTime> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let nanos = match &b[8..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let (h, m, sec) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    // A leap second (:60) is left to chrono.
    (sec < 60).then(|| NaiveTime::from_hms_nano_opt(h, m, sec, nanos))?
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() >= 19 && (b[10] == b' ' || b[10] == b'T') {
        if let (Some(d), Some(t)) = (fast_date(&b[..10]), fast_time(&b[11..])) {
            return Some(d.and_time(t));
        }
    }
    let s = s.replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M"))
        .ok()
}

/// Microseconds since 2000-01-01 00:00 (UTC for `timestamptz`; wall-clock for `timestamp`).
#[cfg(test)]
pub fn timestamp_us(s: &str, with_tz: bool, zone: &Zone) -> Option<i64> {
    timestamp(s, with_tz, zone).ok()
}

/// The years Django can read back: Python's `datetime` holds 1 to 9999 (no year 0).
const DJANGO_YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Offsets PostgreSQL and Python both accept: under 16 hours.
const MAX_OFFSET_HOURS: u32 = 15;

/// A UTC offset at the end of a datetime text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offset {
    Seconds(i32),
    /// Written like an offset, but no clock has it (`+25:00`, `+01:75`).
    Impossible,
}

fn year_issue(what: &str, year: i32) -> String {
    format!(
        "is a {what} in year {year}, which Django cannot read back (Python dates hold years 1 to 9999)"
    )
}

/// Like `timestamp_us`, saying what is wrong.
fn timestamp(s: &str, with_tz: bool, zone: &Zone) -> Result<i64, String> {
    let unparsable = || "is not a valid datetime (YYYY-MM-DD HH:MM:SS[.ffffff])".to_string();
    let (naive, offset) = split_offset(s);
    let local = parse_naive(naive).ok_or_else(unparsable)?;
    if !DJANGO_YEARS.contains(&local.year()) {
        return Err(year_issue("datetime", local.year()));
    }
    if local.nanosecond() >= 1_000_000_000 {
        return Err("is a leap second, which neither Django nor PostgreSQL can hold".into());
    }
    let offset = match offset {
        Some(Offset::Seconds(secs)) => Some(secs),
        Some(Offset::Impossible) => {
            return Err("has an impossible UTC offset".to_string());
        }
        None => None,
    };
    let shift = |secs: i32| {
        local
            .checked_sub_signed(chrono::Duration::seconds(secs as i64))
            .ok_or_else(unparsable)
    };
    let value = match (with_tz, offset) {
        // An explicit offset fixes the instant.
        (true, Some(secs)) => shift(secs)?,
        // Naive text: UTC with USE_TZ, else the project's TIME_ZONE.
        (true, None) if zone.use_tz => local,
        (true, None) => to_utc(local, zone.tz),
        // A naive column keeps the wall clock as stored.
        (false, None) => local,
        (false, Some(secs)) => {
            let utc = shift(secs)?;
            if zone.use_tz {
                utc
            } else {
                zone.tz.from_utc_datetime(&utc).naive_local()
            }
        }
    };
    // An offset or a zone can move the instant out of the years Django reads.
    if !DJANGO_YEARS.contains(&value.year()) {
        return Err(year_issue("datetime (in UTC)", value.year()));
    }
    let t = value.and_utc();
    let us = t.timestamp_micros() + i64::from(t.timestamp_subsec_nanos() % 1000 >= 500);
    Ok(us - PG_EPOCH_US)
}

/// A wall-clock time in `tz` → UTC, as PostgreSQL does: ambiguous times take the earlier
/// instant, times in a gap take the offset in force before it.
fn to_utc(local: NaiveDateTime, tz: chrono_tz::Tz) -> NaiveDateTime {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.naive_utc(),
        chrono::LocalResult::Ambiguous(a, b) => a.naive_utc().min(b.naive_utc()),
        chrono::LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&(local - chrono::Duration::hours(24)))
                .fix()
                .local_minus_utc();
            local - chrono::Duration::seconds(before as i64)
        }
    }
}

/// JSON text for a `jsonb` column, written as PostgreSQL will print it (see `jsonb`).
fn jsonb(s: &str, fix: bool, fixed: &mut Option<Fix>, out: &mut Vec<u8>) -> Result<(), Issue> {
    match super::jsonb::normalize(s, false, out) {
        Ok(()) => Ok(()),
        Err(JsonError::Invalid(e)) => Err(issue(format!("is not valid JSON ({e})"))),
        Err(JsonError::Nul) if fix => {
            *fixed = Some(Fix::StripNul);
            super::jsonb::normalize(s, true, out).map_err(|_| issue("is not valid JSON"))
        }
        Err(JsonError::Nul) => Err(Issue {
            what: "holds \\u0000, which jsonb cannot store".into(),
            fix: Some(Fix::StripNul),
        }),
    }
}

fn inet(s: &str, cidr: bool, out: &mut Vec<u8>) -> Result<(), Issue> {
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

fn array(v: ValueRef<'_>, elem: &PgType, elem_oid: u32, out: &mut Vec<u8>) -> Result<(), Issue> {
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

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "convert_total_tests.rs"]
mod total_tests;
