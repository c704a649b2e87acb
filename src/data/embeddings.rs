//! The embeddings choice as the state machine keeps it (the engine's types stay out of
//! `state`): one [`EmbeddingColumn`] per column found in the SQLite file, each with its own
//! type and index, chosen on Create schema's choice screen (or mapped from `--embeddings`),
//! and the project change shown as a diff before anything is written.
//!
//! The dimension limits live here so the screen, the state and the engine say the same:
//! `vector`/`halfvec` hold up to [`MAX_DIM`] dimensions; an HNSW index up to
//! [`INDEX_MAX_DIM_VECTOR`] on `vector` and [`INDEX_MAX_DIM_HALFVEC`] on `halfvec`.

use crate::data::settings::SettingsDiff;
use serde::{Deserialize, Serialize};

/// pgvector's `vector` and `halfvec` hold at most this many dimensions.
pub const MAX_DIM: usize = 16_000;
/// An HNSW (or IVFFlat) index on `vector` holds at most this many dimensions.
pub const INDEX_MAX_DIM_VECTOR: usize = 2_000;
/// An HNSW (or IVFFlat) index on `halfvec` holds at most this many dimensions.
pub const INDEX_MAX_DIM_HALFVEC: usize = 4_000;

/// What to do with embeddings: the whole run's answer (saved by older versions as the one
/// global choice), and one column's type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingsChoice {
    /// Leave the fields as they are (`jsonb`/`text`/`bytea` on PostgreSQL).
    #[default]
    Keep,
    /// pgvector's `vector(n)` (float4).
    Vector,
    /// pgvector's `halfvec(n)` (half the space).
    HalfVec,
}

impl EmbeddingsChoice {
    pub fn word(self) -> &'static str {
        match self {
            EmbeddingsChoice::Keep => "keep",
            EmbeddingsChoice::Vector => "vector",
            EmbeddingsChoice::HalfVec => "halfvec",
        }
    }
}

/// The index a column gets once it is a pgvector column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexChoice {
    #[default]
    HnswCosine,
    HnswL2,
    HnswIp,
    None,
}

impl IndexChoice {
    pub const ALL: [IndexChoice; 4] = [
        IndexChoice::HnswCosine,
        IndexChoice::HnswL2,
        IndexChoice::HnswIp,
        IndexChoice::None,
    ];

    pub fn word(self) -> &'static str {
        match self {
            IndexChoice::HnswCosine => "HNSW cosine",
            IndexChoice::HnswL2 => "HNSW L2",
            IndexChoice::HnswIp => "HNSW inner product",
            IndexChoice::None => "no index",
        }
    }

    /// As `--embeddings-index` spells it.
    pub fn flag(self) -> &'static str {
        match self {
            IndexChoice::HnswCosine => "hnsw-cosine",
            IndexChoice::HnswL2 => "hnsw-l2",
            IndexChoice::HnswIp => "hnsw-ip",
            IndexChoice::None => "none",
        }
    }
}

/// One column of embeddings found in the SQLite file, and what the user chose for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingColumn {
    /// `app.Model.field` (`table.column` when no model field holds it).
    pub field: String,
    /// Why it can only be kept (no model field, a third-party app, values pgvector
    /// refuses); `None`: it may change.
    #[serde(default)]
    pub keep_only: Option<String>,
    pub dim: usize,
    pub rows: u64,
    pub nulls: u64,
    /// What `vector` and `halfvec` would keep, in a few words.
    pub precision_vector: String,
    pub precision_half: String,
    /// Vectors beyond halfvec's range (±65504): halfvec is refused.
    #[serde(default)]
    pub half_overflow: u64,
    pub ty: EmbeddingsChoice,
    pub index: IndexChoice,
}

impl EmbeddingColumn {
    /// Why `ty` with `index` cannot be chosen for this column; `None`: it can.
    pub fn refusal(&self, ty: EmbeddingsChoice, index: IndexChoice) -> Option<String> {
        let max_index = match ty {
            EmbeddingsChoice::Keep => return None,
            EmbeddingsChoice::Vector => INDEX_MAX_DIM_VECTOR,
            EmbeddingsChoice::HalfVec => INDEX_MAX_DIM_HALFVEC,
        };
        if let Some(why) = &self.keep_only {
            return Some(format!("{}: only keep is possible: {why}", self.field));
        }
        if self.dim > MAX_DIM {
            return Some(format!(
                "{}: {} dimensions; vector and halfvec hold at most {MAX_DIM}: keep it",
                self.field, self.dim
            ));
        }
        if ty == EmbeddingsChoice::HalfVec && self.half_overflow > 0 {
            return Some(format!(
                "{}: {} vector(s) hold values beyond halfvec's range (±65504): choose vector",
                self.field, self.half_overflow
            ));
        }
        if index != IndexChoice::None && self.dim > max_index {
            let offer = if ty == EmbeddingsChoice::Vector && self.dim <= INDEX_MAX_DIM_HALFVEC {
                "halfvec (indexed up to 4,000) or no index (n)"
            } else {
                "no index (n)"
            };
            return Some(format!(
                "{}: an HNSW index on {} holds at most {max_index} dimensions, this column \
                 has {}: choose {offer}",
                self.field,
                ty.word(),
                self.dim
            ));
        }
        None
    }

    /// The index that goes with a new type: the one chosen if allowed, else none.
    pub fn fitting_index(&self, ty: EmbeddingsChoice) -> IndexChoice {
        if self.refusal(ty, self.index).is_none() {
            self.index
        } else {
            IndexChoice::None
        }
    }
}

/// The per-column choice of a run, and the change it makes, once planned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsPlan {
    pub columns: Vec<EmbeddingColumn>,
    /// The last choice refused, with why (shown on the screen until the next choice).
    #[serde(default)]
    pub refusal: Option<String>,
    /// The project change, planned (nothing written): shown before the user confirms.
    #[serde(default)]
    pub diff: Option<EmbeddingsDiff>,
}

impl EmbeddingsPlan {
    /// Some column becomes a pgvector column.
    pub fn changes(&self) -> bool {
        self.columns.iter().any(|c| c.ty != EmbeddingsChoice::Keep)
    }

    /// The run's answer in one word (the report, and the saved `embeddings` field).
    pub fn summary(&self) -> EmbeddingsChoice {
        let tys = self.columns.iter().map(|c| c.ty);
        if tys.clone().any(|t| t == EmbeddingsChoice::Vector) {
            EmbeddingsChoice::Vector
        } else if tys.clone().any(|t| t == EmbeddingsChoice::HalfVec) {
            EmbeddingsChoice::HalfVec
        } else {
            EmbeddingsChoice::Keep
        }
    }
}

/// The project change of the chosen columns, as diffs (models.py, requirements.txt, the
/// generated migration), and what the user should know before writing it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsDiff {
    /// One file's diff each, named relative to the project.
    pub files: Vec<(String, SettingsDiff)>,
    pub notes: Vec<String>,
}
