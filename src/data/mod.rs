//! Plain data shared by the state machine and the workers: what a step needs as input and
//! what it reports back. Serializable, no IO, and it imports nothing from `copy`, `pg`,
//! `django`, `backup`, `state` or `tui` — it is the leaf every other module may depend on,
//! so that `state` never depends on an IO module and the workers never depend on `state`.

pub mod backup;
pub mod commands;
pub mod copy;
pub mod django;
pub mod embeddings;
pub mod pg;
pub mod privileges;
pub mod report;
pub mod resume;
pub mod settings;
pub mod sync;
pub mod tables;
