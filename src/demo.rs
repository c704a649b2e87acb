//! `dj2pg demo`: the sample project plus a throwaway PostgreSQL. Being built.
