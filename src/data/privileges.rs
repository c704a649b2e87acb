//! What the Fix permissions step diagnoses, the recipes it offers, and what it ran.
