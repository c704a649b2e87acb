//! pgvector values: an embedding as SQLite holds it (a JSON array of numbers, or a blob of
//! packed little-endian float32/float64) → pgvector's binary form, plus what the narrowing
//! costs (the precision report).
//!
//! Invariants: each JSON number is parsed straight to float4 with correct rounding (as
//! pgvector's own text input does), never through float8 first, whose double rounding can
//! move a value by one unit; `halfvec` rounds float4 to the nearest half, ties to even, as
//! pgvector does. NaN, infinities, an empty vector, a wrong dimension count and a half
//! overflow are [`VecIssue`]s, never written. The binary form is int16 dimensions, int16
//! zero, then each element big-endian.

use rusqlite::types::ValueRef;
use serde::{Deserialize, Serialize};

// pgvector's limits, stated once (the choice screen explains them too).
pub use crate::data::embeddings::{INDEX_MAX_DIM_HALFVEC, INDEX_MAX_DIM_VECTOR, MAX_DIM};
/// The largest finite half.
const HALF_MAX: f32 = 65_504.0;

/// The pgvector type a column becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VecKind {
    /// `vector(n)`: float4 elements.
    Vector,
    /// `halfvec(n)`: float2 elements, half the space, about three significant digits.
    Half,
}

impl VecKind {
    pub fn sql(self, dim: usize) -> String {
        match self {
            VecKind::Vector => format!("vector({dim})"),
            VecKind::Half => format!("halfvec({dim})"),
        }
    }
    /// The largest dimension an HNSW/IVFFlat index on this type accepts.
    pub fn index_max_dim(self) -> usize {
        match self {
            VecKind::Vector => INDEX_MAX_DIM_VECTOR,
            VecKind::Half => INDEX_MAX_DIM_HALFVEC,
        }
    }
}

/// Why a value cannot become a vector.
#[derive(Clone, Debug, PartialEq)]
pub enum VecIssue {
    NotNumbers(String),
    Empty,
    NonFinite { index: usize },
    Dim { found: usize, want: usize },
    TooLong(usize),
    HalfOverflow { index: usize, value: f32 },
}

impl VecIssue {
    pub fn describe(&self) -> String {
        match self {
            VecIssue::NotNumbers(why) => why.clone(),
            VecIssue::Empty => "is an empty vector, which pgvector rejects".into(),
            VecIssue::NonFinite { index } => {
                format!("element {index} is NaN or infinite, which a vector cannot hold")
            }
            VecIssue::Dim { found, want } => {
                format!("has {found} dimensions, the column has {want}")
            }
            VecIssue::TooLong(n) => {
                format!("has {n} dimensions; pgvector holds at most {MAX_DIM}")
            }
            VecIssue::HalfOverflow { index, value } => format!(
                "element {index} ({value}) is beyond halfvec's range (±{HALF_MAX}); use vector"
            ),
        }
    }
}

/// The elements of one embedding: float4 as stored, and the source's own value (float8)
/// where the source was wider than float4, for the precision report.
#[derive(Debug, Default)]
pub struct Elements {
    pub f32s: Vec<f32>,
    /// The source values, when they may differ from `f32s` (JSON text, float64 blobs).
    pub wide: Option<Vec<f64>>,
}

/// How a blob's bytes are read when the dimension is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlobWidth {
    F32,
    F64,
}

/// Read one SQLite value as an embedding. A blob is float32 unless `dim` says its size is
/// 8 bytes per element (or `width` says so). `wide` also keeps the source's values.
pub fn elements(
    v: ValueRef<'_>,
    dim: Option<usize>,
    width: Option<BlobWidth>,
    wide: bool,
    out: &mut Elements,
) -> Result<(), VecIssue> {
    out.f32s.clear();
    out.wide = None;
    match v {
        ValueRef::Blob(b) => {
            let f64s = match (width, dim) {
                (Some(w), _) => w == BlobWidth::F64,
                (None, Some(d)) => d > 0 && b.len() == d * 8,
                (None, None) => false,
            };
            let w = if f64s { 8 } else { 4 };
            if b.len() % w != 0 {
                return Err(VecIssue::NotNumbers(format!(
                    "a BLOB of {} bytes is not packed {w}-byte floats",
                    b.len()
                )));
            }
            if f64s {
                let src: Vec<f64> = b
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect();
                out.f32s.extend(src.iter().map(|&x| x as f32));
                if wide {
                    out.wide = Some(src);
                }
            } else {
                out.f32s.extend(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
        }
        ValueRef::Text(t) => parse_json_numbers(t, wide, out)?,
        ValueRef::Null => {}
        ValueRef::Integer(_) | ValueRef::Real(_) => {
            return Err(VecIssue::NotNumbers(
                "a single number where a list of numbers was expected".into(),
            ));
        }
    }
    Ok(())
}

/// A JSON array of numbers (Python's `json.dumps` also writes `NaN`, `Infinity`), each
/// number parsed straight to float4.
fn parse_json_numbers(t: &[u8], wide: bool, out: &mut Elements) -> Result<(), VecIssue> {
    let not = || VecIssue::NotNumbers("is not a JSON list of numbers".into());
    let s = std::str::from_utf8(t).map_err(|_| not())?.trim();
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(not)?;
    let mut wides = wide.then(Vec::new);
    if inner.trim().is_empty() {
        out.wide = wides;
        return Ok(());
    }
    for token in inner.split(',') {
        let token = token.trim();
        let (f, w) = match token {
            "NaN" => (f32::NAN, f64::NAN),
            "Infinity" => (f32::INFINITY, f64::INFINITY),
            "-Infinity" => (f32::NEG_INFINITY, f64::NEG_INFINITY),
            _ => {
                // Rust's parsers accept "inf"/"nan" and a leading '+': JSON does not.
                let first = token.as_bytes().first().copied().unwrap_or(b'x');
                if !(first == b'-' || first.is_ascii_digit())
                    || token.ends_with(['n', 'f', 'N', 'F'])
                {
                    return Err(not());
                }
                let f = token.parse::<f32>().map_err(|_| not())?;
                let w = if wides.is_some() {
                    token.parse::<f64>().map_err(|_| not())?
                } else {
                    0.0
                };
                (f, w)
            }
        };
        out.f32s.push(f);
        if let Some(ws) = wides.as_mut() {
            ws.push(w);
        }
    }
    out.wide = wides;
    Ok(())
}

/// Check `e` against the column and append its binary form for `kind`.
pub fn encode(
    e: &Elements,
    kind: VecKind,
    dim: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), VecIssue> {
    check(e, dim)?;
    out.extend_from_slice(&(e.f32s.len() as i16).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes());
    match kind {
        VecKind::Vector => {
            for f in &e.f32s {
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
        VecKind::Half => {
            for (index, &f) in e.f32s.iter().enumerate() {
                let h = f32_to_f16(f);
                if h & 0x7c00 == 0x7c00 {
                    return Err(VecIssue::HalfOverflow { index, value: f });
                }
                out.extend_from_slice(&h.to_be_bytes());
            }
        }
    }
    Ok(())
}

/// The checks every pgvector value must pass, whatever its type.
pub fn check(e: &Elements, dim: Option<usize>) -> Result<(), VecIssue> {
    let n = e.f32s.len();
    if n == 0 {
        return Err(VecIssue::Empty);
    }
    if let Some(index) = e.f32s.iter().position(|f| !f.is_finite()) {
        return Err(VecIssue::NonFinite { index });
    }
    if n > MAX_DIM {
        return Err(VecIssue::TooLong(n));
    }
    match dim {
        Some(want) if want != n => Err(VecIssue::Dim { found: n, want }),
        _ => Ok(()),
    }
}

/// float4 → IEEE half, rounded to nearest, ties to even (pgvector's `Float4ToHalfUnchecked`).
/// Values beyond the half range become infinity, which [`encode`] reports.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    let round = |m: u32, shift: u32| -> u32 {
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let r = m >> shift;
        if rem > half || (rem == half && r & 1 == 1) {
            r + 1
        } else {
            r
        }
    };
    if e <= 0 {
        // A subnormal half (or zero): the implicit bit joins the mantissa.
        if e < -10 {
            return sign;
        }
        return sign | round(man | 0x80_0000, (14 - e) as u32) as u16;
    }
    // A carry out of the mantissa bumps the exponent: to infinity at the top, as it should.
    sign | round(((e as u32) << 23) | man, 13) as u16
}

/// IEEE half → float4 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let man = (h & 0x3ff) as f32;
    match exp {
        0 => sign * man * 2f32.powi(-24),
        0x1f if man == 0.0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => sign * (1.0 + man / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// What narrowing to the target type does to one column's values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    /// Vectors measured.
    pub vectors: u64,
    /// Every stored element equals the source's value.
    pub exact: bool,
    pub max_abs_err: f64,
    pub max_rel_err: f64,
    /// The largest `1 - cos(source, stored)` over the vectors.
    pub max_cosine_drift: f64,
}

impl Precision {
    pub fn new() -> Precision {
        Precision {
            exact: true,
            ..Precision::default()
        }
    }

    /// Add one vector (already [`check`]ed) as stored in `kind`.
    pub fn add(&mut self, e: &Elements, kind: VecKind) {
        self.vectors += 1;
        let (mut dot, mut ns, mut nt) = (0f64, 0f64, 0f64);
        for (i, &f) in e.f32s.iter().enumerate() {
            let src = e
                .wide
                .as_ref()
                .and_then(|w| w.get(i).copied())
                .unwrap_or(f as f64);
            let stored = match kind {
                VecKind::Vector => f as f64,
                VecKind::Half => f16_to_f32(f32_to_f16(f)) as f64,
            };
            let err = (src - stored).abs();
            if err != 0.0 {
                self.exact = false;
                self.max_abs_err = self.max_abs_err.max(err);
                if src != 0.0 {
                    self.max_rel_err = self.max_rel_err.max(err / src.abs());
                }
            }
            dot += src * stored;
            ns += src * src;
            nt += stored * stored;
        }
        if ns > 0.0 && nt > 0.0 {
            let drift = 1.0 - dot / (ns.sqrt() * nt.sqrt());
            self.max_cosine_drift = self.max_cosine_drift.max(drift.max(0.0));
        }
    }

    /// One line for the report: "exact" or the errors.
    pub fn describe(&self) -> String {
        if self.exact {
            "exact (every value stored as it was)".into()
        } else {
            format!(
                "narrowed: max abs error {:.3e}, max rel error {:.3e}, max cosine drift {:.3e}",
                self.max_abs_err, self.max_rel_err, self.max_cosine_drift
            )
        }
    }
}

#[cfg(test)]
#[path = "vector_tests.rs"]
mod tests;
