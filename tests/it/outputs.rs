//! Report files (placeholder)
