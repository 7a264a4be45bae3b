//! Command failures and the exit codes they map to.
//!
//! Exit codes (also in `certledger-wallet --help` and `specs/wallet.md`):
//! 0 ok; 1 refused or invalid (a credential, request or bundle failed a check); 2 usage or input
//! error (bad arguments, unreadable or malformed input files); 3 wrong passphrase or keystore
//! error; 4 network or node error.

use std::fmt;

/// The class of a failure, which fixes the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A check refused the input (exit 1).
    Refused,
    /// Bad arguments or malformed input (exit 2).
    Usage,
    /// Wrong passphrase, missing, corrupted or unwritable keystore (exit 3).
    Keystore,
    /// The node could not be reached or served something unusable (exit 4).
    Network,
}

impl Kind {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Refused => 1,
            Kind::Usage => 2,
            Kind::Keystore => 3,
            Kind::Network => 4,
        }
    }

    /// The machine-readable name used in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Refused => "refused",
            Kind::Usage => "usage",
            Kind::Keystore => "keystore",
            Kind::Network => "network",
        }
    }
}

/// A typed refusal reason with its bilingual message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// Stable machine-readable code, e.g. `revoked`.
    pub code: String,
    /// English message.
    pub message_en: String,
    /// Chinese message.
    pub message_zh: String,
}

impl Reason {
    /// A reason from its parts.
    pub fn new(code: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message_en: en.into(), message_zh: zh.into() }
    }

    /// The reason for a verification verdict.
    pub fn from_invalid(invalid: &certledger_core::verify::Invalid) -> Self {
        Self::new(invalid.code(), invalid.to_string(), invalid.message_zh())
    }
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// Its class.
    pub kind: Kind,
    /// What went wrong, with context.
    pub error: anyhow::Error,
    /// The typed reason, for refusals.
    pub reason: Option<Reason>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: Kind, error: impl Into<anyhow::Error>) -> Self {
        Self { kind, error: error.into(), reason: None }
    }

    /// The same failure carrying `reason` (kept when a failure is wrapped in context).
    pub fn with_reason(mut self, reason: Option<Reason>) -> Self {
        self.reason = reason;
        self
    }

    /// A refusal with a typed reason.
    pub fn refused(reason: Reason) -> Self {
        let error = anyhow::anyhow!("{} / {}", reason.message_en, reason.message_zh);
        Self { kind: Kind::Refused, error, reason: Some(reason) }
    }
}

/// Shorthand constructors.
pub fn usage(msg: impl fmt::Display) -> Failure {
    Failure::new(Kind::Usage, anyhow::anyhow!("{msg}"))
}

/// A keystore failure.
pub fn keystore(msg: impl fmt::Display) -> Failure {
    Failure::new(Kind::Keystore, anyhow::anyhow!("{msg}"))
}

/// A network failure.
pub fn network(msg: impl fmt::Display) -> Failure {
    Failure::new(Kind::Network, anyhow::anyhow!("{msg}"))
}

/// A refusal with a reason code and bilingual message.
pub fn refused(code: &str, en: impl Into<String>, zh: impl Into<String>) -> Failure {
    Failure::refused(Reason::new(code, en, zh))
}

/// Attaches a [`Kind`] and context to any error.
pub trait ResultExt<T> {
    /// Classifies the error as `kind`, with `context`.
    fn kind(self, kind: Kind, context: &'static str) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> ResultExt<T> for Result<T, E> {
    fn kind(self, kind: Kind, context: &'static str) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(kind, e.into().context(context)))
    }
}

/// The result of a command.
pub type CmdResult<T> = Result<T, Failure>;
