//! What the Backup and Reset migrations steps take as input and report back.
