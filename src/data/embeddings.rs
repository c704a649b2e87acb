//! The embeddings choice as the state machine keeps it (the engine's types stay out of
//! `state`): asked once at the start of Create schema when the SQLite file holds embeddings.

use serde::{Deserialize, Serialize};

/// What to do with the SQLite file's embeddings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingsChoice {
    /// Leave the fields as they are (`jsonb`/`text`/`bytea` on PostgreSQL).
    Keep,
    /// pgvector's `vector(n)` (float4), HNSW cosine index.
    Vector,
    /// pgvector's `halfvec(n)` (half the space), HNSW cosine index.
    HalfVec,
}
