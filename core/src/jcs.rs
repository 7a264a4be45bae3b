//! Work in progress: see the module list in lib.rs.
