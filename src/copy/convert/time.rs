//! Dates, times, datetimes and durations: Django's text (or integer microseconds) → the
//! binary fields of PostgreSQL's `date`, `time`, `timestamp[tz]` and `interval`.
//!
//! Naive datetimes are UTC when `USE_TZ` is on, else in the project's `TIME_ZONE`; years
//! outside what Python can read back are refused.

use super::{Issue, Zone, integer, issue, short, str_of};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset as _, TimeZone, Timelike};
use rusqlite::types::ValueRef;

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub(super) const PG_EPOCH_US: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;

/// A `date`: days since 2000-01-01.
pub(super) fn date(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
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
    Ok(())
}

/// A `time`: microseconds since midnight.
pub(super) fn time_of_day(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
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
    Ok(())
}

/// A `timestamp` (`with_tz`: `timestamptz`): microseconds since 2000-01-01.
pub(super) fn timestamp_field(
    v: ValueRef<'_>,
    with_tz: bool,
    zone: &Zone,
    out: &mut Vec<u8>,
) -> Result<(), Issue> {
    let s = str_of(v, "a datetime")?;
    let us = timestamp(s.trim(), with_tz, zone).map_err(issue)?;
    out.extend_from_slice(&us.to_be_bytes());
    Ok(())
}

/// An `interval` from a `DurationField`: integer microseconds. 90 s is 90_000_000, never 90.
pub(super) fn interval(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), Issue> {
    let us = integer(v)?;
    let (days, time) = duration_fields(us);
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&days.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // months
    Ok(())
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

pub(super) fn parse_time(s: &str) -> Option<NaiveTime> {
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
pub(super) fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `HH:MM:SS` with an optional `.f` of 1 to 9 digits, as Django writes times.
pub(super) fn fast_time(b: &[u8]) -> Option<NaiveTime> {
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

pub(super) fn parse_naive(s: &str) -> Option<NaiveDateTime> {
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
