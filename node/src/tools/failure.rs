//! How a tool command fails: a [`Failure`] class that `main` maps to the exit codes of
//! `specs/node.md` (3 input, 4 refused, 5 unavailable, 6 unverified,
//! 7 incomplete audit).

/// Exit code: bad input (arguments, files, claims, rows, keys).
pub const EXIT_INPUT: u8 = 3;
/// Exit code: the ledger refused the entry (signer not authorised, conflict, invalid).
pub const EXIT_REFUSED: u8 = 4;
/// Exit code: the node could not be reached, or a wait ran out.
pub const EXIT_UNAVAILABLE: u8 = 5;
/// Exit code: a proof or credential did not verify.
pub const EXIT_UNVERIFIED: u8 = 6;
/// Exit code: an audit answer is not proven complete (an entry is missing, or a completeness
/// proof is absent).
pub const EXIT_INCOMPLETE: u8 = 7;

/// The class of a command failure; `main` turns it into an exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// Bad input: exit 3.
    #[error("{0}")]
    Input(String),
    /// Refused by the ledger: exit 4.
    #[error("{0}")]
    Refused(String),
    /// Node unreachable or too slow: exit 5.
    #[error("{0}")]
    Unavailable(String),
    /// A proof or credential did not verify: exit 6.
    #[error("{0}")]
    Unverified(String),
    /// An audit answer left an entry out, or does not prove that it did not: exit 7.
    #[error("{0}")]
    Incomplete(String),
}

/// The exit code of a command error: the first [`Failure`] in its chain, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return match f {
                Failure::Input(_) => EXIT_INPUT,
                Failure::Refused(_) => EXIT_REFUSED,
                Failure::Unavailable(_) => EXIT_UNAVAILABLE,
                Failure::Unverified(_) => EXIT_UNVERIFIED,
                Failure::Incomplete(_) => EXIT_INCOMPLETE,
            };
        }
    }
    1
}

/// A bad-input failure (exit 3).
pub(crate) fn input(msg: impl Into<String>) -> anyhow::Error {
    Failure::Input(msg.into()).into()
}

/// A node-unavailable failure (exit 5).
pub(crate) fn unavailable(msg: impl Into<String>) -> anyhow::Error {
    Failure::Unavailable(msg.into()).into()
}

/// An incomplete-audit failure (exit 7).
pub(crate) fn incomplete(msg: impl Into<String>) -> anyhow::Error {
    Failure::Incomplete(msg.into()).into()
}

/// A did-not-verify failure (exit 6).
pub(crate) fn unverified(msg: impl Into<String>) -> anyhow::Error {
    Failure::Unverified(msg.into()).into()
}
