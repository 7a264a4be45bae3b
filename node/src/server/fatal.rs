//! Conditions that stop the node. Library code never exits the process: the consensus loop and
//! the cosigning task return a [`Fatal`] error, [`crate::server::run`] returns it to `main`,
//! and `main` exits with [`Fatal::exit_code`] (`specs/node.md`, exit codes). Continuing after
//! either would risk the ledger (ARCHITECTURE.md invariant 10: a failed storage write stops
//! the node).

/// Exit code when this node's state diverged from the decided chain (BSD `EX_SOFTWARE`).
pub const EXIT_DIVERGED: u8 = 70;
/// Exit code when a storage write failed (BSD `EX_IOERR`).
pub const EXIT_STORAGE: u8 = 74;

/// Why the node stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Fatal {
    /// A decided block does not apply to, or does not match, this node's own execution.
    #[error("height {height}: {what}; this node's state diverged from the decided chain")]
    Diverged {
        /// The decided height.
        height: u64,
        /// What disagreed.
        what: &'static str,
    },
    /// A write to durable storage failed.
    #[error("storage write failed ({what}): {detail}")]
    Storage {
        /// What was being written.
        what: &'static str,
        /// The store's error.
        detail: String,
    },
}

impl Fatal {
    /// The process exit code `main` uses for this condition.
    pub fn exit_code(&self) -> u8 {
        match self {
            Fatal::Diverged { .. } => EXIT_DIVERGED,
            Fatal::Storage { .. } => EXIT_STORAGE,
        }
    }

    /// A failed storage write of `what`.
    pub fn storage(what: &'static str, e: impl std::fmt::Display) -> Self {
        Fatal::Storage { what, detail: e.to_string() }
    }

    /// The fatal condition somewhere in `e`'s chain of causes, if any.
    pub fn find(e: &anyhow::Error) -> Option<&Fatal> {
        e.chain().find_map(|c| c.downcast_ref::<Fatal>())
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn a_fatal_error_keeps_its_exit_code_through_context() {
        let e = anyhow::Error::from(Fatal::storage("checkpoint", "disk full")).context("cosigning");
        assert_eq!(Fatal::find(&e).map(Fatal::exit_code), Some(EXIT_STORAGE));
        let e: anyhow::Result<()> = Err(Fatal::Diverged { height: 3, what: "state root" }.into());
        let e = e.context("consensus").unwrap_err();
        assert_eq!(Fatal::find(&e).map(Fatal::exit_code), Some(EXIT_DIVERGED));
        assert!(Fatal::find(&anyhow::anyhow!("other")).is_none());
    }
}
