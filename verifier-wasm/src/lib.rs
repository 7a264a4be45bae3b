//! The browser verifier. Under construction (issue 6).
