//! Transition tests: pure, no IO.
