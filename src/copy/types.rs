//! PostgreSQL column types as the copy engine sees them: what each value must become.
//!
//! A [`PgType`] is decided once per target column from the catalog (`typname`, `atttypmod`,
//! the element type of arrays); conversion and verification dispatch on it.

use serde::{Deserialize, Serialize};

/// A target column's type, with the modifiers that matter for conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(precision, scale)`; both `None` when unconstrained.
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Text,
    /// `varchar(n)`.
    Varchar(Option<usize>),
    /// `char(n)` (PostgreSQL pads with spaces).
    Bpchar(Option<usize>),
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Bytea,
    Inet,
    Cidr,
    /// A one-dimensional array of `elem`, whose type oid the binary format names.
    Array {
        elem: Box<PgType>,
        elem_oid: u32,
    },
    /// pgvector's `vector(dim)`.
    Vector(Option<usize>),
    /// pgvector's `halfvec(dim)`.
    HalfVec(Option<usize>),
    /// `tsvector`: derived data, never copied (rebuilt from the text columns).
    TsVector,
    /// Anything else, by its SQL name: not copied by this engine.
    Other(String),
}

impl PgType {
    /// Decide the type from the catalog: `typname`, `atttypmod`, and for arrays the element's
    /// `typname` and oid.
    pub fn from_catalog(typname: &str, typmod: i32, elem: Option<(&str, u32)>) -> PgType {
        let len_mod = || (typmod >= 4).then(|| (typmod - 4) as usize);
        match typname {
            "bool" => PgType::Bool,
            "int2" => PgType::Int2,
            "int4" => PgType::Int4,
            "int8" => PgType::Int8,
            "float4" => PgType::Float4,
            "float8" => PgType::Float8,
            "numeric" => {
                if typmod >= 4 {
                    let m = (typmod - 4) as u32;
                    PgType::Numeric {
                        precision: Some((m >> 16) & 0xffff),
                        scale: Some(m & 0xffff),
                    }
                } else {
                    PgType::Numeric {
                        precision: None,
                        scale: None,
                    }
                }
            }
            "text" | "citext" => PgType::Text,
            "varchar" => PgType::Varchar(len_mod()),
            "bpchar" => PgType::Bpchar(len_mod()),
            "date" => PgType::Date,
            "time" => PgType::Time,
            "timestamp" => PgType::Timestamp,
            "timestamptz" => PgType::Timestamptz,
            "interval" => PgType::Interval,
            "uuid" => PgType::Uuid,
            "json" => PgType::Json,
            "jsonb" => PgType::Jsonb,
            "bytea" => PgType::Bytea,
            "inet" => PgType::Inet,
            "cidr" => PgType::Cidr,
            "vector" => PgType::Vector((typmod > 0).then_some(typmod as usize)),
            "halfvec" => PgType::HalfVec((typmod > 0).then_some(typmod as usize)),
            "tsvector" => PgType::TsVector,
            name if name.starts_with('_') => match elem {
                Some((elem_name, elem_oid)) => {
                    let elem = PgType::from_catalog(elem_name, typmod, None);
                    if elem.array_element_supported() {
                        PgType::Array {
                            elem: Box::new(elem),
                            elem_oid,
                        }
                    } else {
                        PgType::Other(format!("{elem_name}[]"))
                    }
                }
                None => PgType::Other(name.to_string()),
            },
            other => PgType::Other(other.to_string()),
        }
    }

    fn array_element_supported(&self) -> bool {
        matches!(
            self,
            PgType::Bool
                | PgType::Int2
                | PgType::Int4
                | PgType::Int8
                | PgType::Float4
                | PgType::Float8
                | PgType::Text
                | PgType::Varchar(_)
                | PgType::Numeric { .. }
        )
    }

    /// Whether the engine writes this type (others are left out of the COPY and reported).
    pub fn copyable(&self) -> bool {
        !matches!(self, PgType::TsVector | PgType::Other(_))
    }

    /// The SQL name, for messages.
    pub fn sql_name(&self) -> String {
        match self {
            PgType::Bool => "boolean".into(),
            PgType::Int2 => "smallint".into(),
            PgType::Int4 => "integer".into(),
            PgType::Int8 => "bigint".into(),
            PgType::Float4 => "real".into(),
            PgType::Float8 => "double precision".into(),
            PgType::Numeric {
                precision: Some(p),
                scale: Some(s),
            } => format!("numeric({p},{s})"),
            PgType::Numeric { .. } => "numeric".into(),
            PgType::Text => "text".into(),
            PgType::Varchar(Some(n)) => format!("varchar({n})"),
            PgType::Varchar(None) => "varchar".into(),
            PgType::Bpchar(Some(n)) => format!("char({n})"),
            PgType::Bpchar(None) => "char".into(),
            PgType::Date => "date".into(),
            PgType::Time => "time".into(),
            PgType::Timestamp => "timestamp".into(),
            PgType::Timestamptz => "timestamp with time zone".into(),
            PgType::Interval => "interval".into(),
            PgType::Uuid => "uuid".into(),
            PgType::Json => "json".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Bytea => "bytea".into(),
            PgType::Inet => "inet".into(),
            PgType::Cidr => "cidr".into(),
            PgType::Array { elem, .. } => format!("{}[]", elem.sql_name()),
            PgType::Vector(Some(n)) => format!("vector({n})"),
            PgType::Vector(None) => "vector".into(),
            PgType::HalfVec(Some(n)) => format!("halfvec({n})"),
            PgType::HalfVec(None) => "halfvec".into(),
            PgType::TsVector => "tsvector".into(),
            PgType::Other(name) => name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_modifiers_decode() {
        assert_eq!(
            PgType::from_catalog("varchar", 104, None),
            PgType::Varchar(Some(100))
        );
        assert_eq!(
            PgType::from_catalog("numeric", (6 << 16 | 4) + 4, None),
            PgType::Numeric {
                precision: Some(6),
                scale: Some(4)
            }
        );
        assert_eq!(
            PgType::from_catalog("_float4", -1, Some(("float4", 700))),
            PgType::Array {
                elem: Box::new(PgType::Float4),
                elem_oid: 700
            }
        );
        assert_eq!(
            PgType::from_catalog("vector", 3, None),
            PgType::Vector(Some(3))
        );
        assert!(!PgType::from_catalog("tsvector", -1, None).copyable());
        assert!(!PgType::from_catalog("hstore", -1, None).copyable());
    }
}
