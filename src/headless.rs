//! The headless runner. Being built.
