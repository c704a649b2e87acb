//! Backups: SQLite online backup, integrity check, migration archives, restore.
//!
//! Not built yet: the Backup step shows "not built yet" (a later issue builds it).
