//! Throwaway local PostgreSQL clusters (tests and `dj2pg demo`). Being written.
