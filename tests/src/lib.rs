//! Shared helpers for certledger integration tests.
