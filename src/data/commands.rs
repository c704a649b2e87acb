//! What the Dry run and Create schema steps (Django management commands) report back.
