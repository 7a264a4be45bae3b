//! The formats the issuing commands sign a credential in (a leaf: the command line and the
//! issuing library both name it).

/// The format `issue` and `issue-batch` sign a credential in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialFormat {
    /// SD-JWT VC with selective disclosure and key binding (the default).
    #[default]
    SdJwt,
    /// Full-disclosure W3C VC 2.0 with an `eddsa-jcs-2022` Data Integrity proof.
    W3c,
}
