//! The command line: every command, argument and help text (also the source of the shell
//! completions and the manual page).

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  ok
  1  refused or invalid (a credential, request or bundle failed a check)
  2  usage or input error (bad arguments, unreadable or malformed input)
  3  wrong passphrase or keystore error (missing, corrupted or unwritable wallet)
  4  network or node error

The passphrase comes from --passphrase-file, else $CERTLEDGER_WALLET_PASSPHRASE, else a prompt.
It is never taken as a command-line argument.

Examples:
  certledger-wallet init
  certledger-wallet trust set trust-root.json
  certledger-wallet trust add zhejiang.ledger-root.json
  certledger-wallet import diploma.credential.json
  certledger-wallet list --lang en
  certledger-wallet present --request request.json --node http://127.0.0.1:8080 --out answer.clb
  certledger-wallet history --out consents.json
  certledger-wallet completions bash > ~/.local/share/bash-completion/completions/certledger-wallet
  certledger-wallet refresh --node http://127.0.0.1:8080
  certledger-wallet refresh --node https://node.example:8443 --ca department-ca.pem
  certledger-wallet verify answer.clb --trust-root trust-root.json --request request.json
  certledger-wallet print 3q2-7w --out card.png
  certledger-wallet delete 3q2-7w
  certledger-wallet identity keys --count 10 --out keys.json
  certledger-wallet present --request request.json --node http://127.0.0.1:8080 --with 3q2-7w";

/// The citizen wallet for certledger credentials.
#[derive(Parser)]
#[command(name = "certledger-wallet", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Wallet directory (default: $HOME/.certledger-wallet).
    #[arg(long, global = true, env = "CERTLEDGER_WALLET_DIR", value_name = "DIR")]
    pub wallet_dir: Option<PathBuf>,
    /// Read the passphrase from this file (one trailing newline is ignored).
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Print machine-readable JSON on stdout (errors too).
    #[arg(long, global = true)]
    pub json: bool,
    /// Display language for names and labels.
    #[arg(long, global = true, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
    /// CA certificate(s), PEM, trusted for `https://` node URLs (no other roots are trusted).
    #[arg(long, global = true, env = "CERTLEDGER_CA", value_name = "PEM")]
    pub ca: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Display language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// 中文
    Zh,
    /// English
    En,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a wallet: holder key and wallet secret, encrypted with a passphrase.
    ///
    /// Example: certledger-wallet init --passphrase-file pass.txt
    Init,
    /// Copy the encrypted wallet to FILE (checks the passphrase first).
    ///
    /// Example: certledger-wallet backup --out /media/usb/wallet.clw
    Backup {
        /// Where to write the backup (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore an encrypted wallet backup (checks that it decrypts first).
    ///
    /// Example: certledger-wallet restore /media/usb/wallet.clw
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace an existing wallet.
        #[arg(long)]
        force: bool,
    },
    /// Manage the trust root (the department keys that must cosign checkpoints).
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Import a credential file after checking it against the trust root.
    ///
    /// Example: certledger-wallet import diploma.credential.json
    Import {
        /// The credential file (JSON, `specs/credential-file.md`).
        file: PathBuf,
        /// Oldest checkpoint accepted in the file's proofs, in seconds.
        #[arg(long, default_value_t = 30 * 24 * 3600)]
        max_checkpoint_age: u64,
    },
    /// List the credentials.
    ///
    /// Example: certledger-wallet list --lang en
    List,
    /// Show one credential and its disclosable claims.
    ///
    /// Example: certledger-wallet show 3q2-7w
    Show {
        /// Credential id (a unique prefix of at least 4 characters).
        id: String,
    },
    /// Answer a verifier's presentation request with a bundle (file and QR codes).
    ///
    /// Example: certledger-wallet present --request request.json --node http://127.0.0.1:8080
    /// --out answer.clb --png answer.png
    Present(PresentArgs),
    /// The consent history: every signed request this wallet answered, what it disclosed and
    /// when (newest first); `--out` exports it as JSON with each verifier's signed request.
    ///
    /// Example: certledger-wallet history --out consents.json
    History {
        /// Export the whole history as JSON to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Show only this verifier id.
        #[arg(long, value_name = "ID")]
        verifier: Option<String>,
    },
    /// Erase a credential from the wallet: its claims, salts, disclosures and proofs, and its id
    /// from the consent history (`specs/erasure.md`). Asks first unless --yes.
    ///
    /// Example: certledger-wallet delete 3q2-7w
    Delete {
        /// Credential id (a unique prefix of at least 4 characters).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Fetch fresh proofs for every credential from a node and update their status.
    ///
    /// Example: certledger-wallet refresh --node http://127.0.0.1:8080
    Refresh {
        /// The node's base URL.
        #[arg(long, value_name = "URL")]
        node: String,
    },
    /// Verify a bundle locally (the browser's pipeline). No wallet needed.
    ///
    /// Example: certledger-wallet verify answer.clb --trust-root tr.json --request request.json
    Verify(VerifyArgs),
    /// Print a credential as a PNG card: QR of a full presentation and bilingual text.
    ///
    /// Example: certledger-wallet print 3q2-7w --out card.png
    Print(PrintArgs),
    /// Identity attestation batches (one copy per verifier).
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Print a shell completion script on stdout. No wallet needed.
    ///
    /// Example: certledger-wallet completions bash > /etc/bash_completion.d/certledger-wallet
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout. No wallet needed.
    ///
    /// Example: certledger-wallet man > certledger-wallet.1 && man ./certledger-wallet.1
    Man,
}

#[derive(Subcommand)]
pub enum IdentityCommand {
    /// Derive the next N batch holder keys from the wallet secret and write their public keys,
    /// for the issuer to bind one identity attestation copy to each.
    ///
    /// Example: certledger-wallet identity keys --count 10 --out keys.json
    Keys {
        /// How many keys (1 to 100).
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// Where to write the public keys (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Store the trust root JSON used for import checks.
    ///
    /// Example: certledger-wallet trust set trust-root.json
    Set {
        /// The trust root JSON file.
        file: PathBuf,
    },
    /// Show the stored trust root.
    Show,
    /// Add a ledger to the trust list, or update it: a ledger root signed by its departments'
    /// admin keys, or a trust list of several (`specs/trust-list.md`). Compare the printed
    /// fingerprint with the one the province publishes before relying on a new ledger.
    ///
    /// Example: certledger-wallet trust add shanghai.ledger-root.json
    Add {
        /// The ledger root or trust list JSON file.
        file: PathBuf,
    },
    /// List the trusted ledgers with their names, sequence numbers and fingerprints.
    List,
    /// Drop a ledger from the trust list: its credentials stay stored but are no longer
    /// imported, presented or verified until it is added again.
    ///
    /// Example: certledger-wallet trust drop cn.gov.zhejiang.certledger
    Drop {
        /// The ledger's chain id.
        chain_id: String,
    },
}

/// Arguments of `present`.
#[derive(clap::Args)]
pub struct PresentArgs {
    /// The request: a file (JSON, `CLR1.` text or a QR PNG) or the JSON/`CLR1.` text itself.
    #[arg(long, value_name = "FILE|STRING")]
    pub request: String,
    /// Which credential to present (id prefix); needed when several match.
    #[arg(long, allow_hyphen_values = true, value_name = "ID")]
    pub credential: Option<String>,
    /// Claims to disclose (comma-separated; default: exactly those requested).
    #[arg(long, value_delimiter = ',', value_name = "CLAIMS")]
    pub disclose: Option<Vec<String>>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// The verifier's registry record with proof (the node's state-proof JSON).
    #[arg(long, value_name = "FILE")]
    pub verifier_record: Option<PathBuf>,
    /// Fetch fresh proofs (and the verifier record) from this node.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// Where to write the bundle text (default: print it on stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where to write the QR PNG (`NAME-<i>.png` per part when split; default: no PNG).
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Do not draw the QR code(s) in the terminal.
    #[arg(long)]
    pub no_terminal_qr: bool,
    /// Present this credential too (id prefix; repeatable, at most 4), linked to the main one
    /// as the same holder's.
    #[arg(long, allow_hyphen_values = true, value_name = "ID")]
    pub with: Option<Vec<String>>,
    /// Do not add the per-verifier pseudonym to an identity attestation.
    #[arg(long)]
    pub no_pseudonym: bool,
    /// TESTING ONLY: answer a request without checking its signature and the verifier's
    /// registration (no --node or --verifier-record). Anyone can forge such a request.
    #[arg(long)]
    pub insecure_unchecked_request: bool,
}

/// Arguments of `verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Bundle file(s), `CLB1.` text, or one or more QR PNGs (parts in any order).
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundle: Vec<String>,
    /// The trust: a trust list of several ledgers (`specs/trust-list.md`), one signed ledger
    /// root, or a plain trust root JSON file. The verdict names the issuing ledger.
    #[arg(long, visible_alias = "trust-list", value_name = "FILE")]
    pub trust_root: PathBuf,
    /// The request the bundle answers (a file, JSON or `CLR1.` text): its nonce, audience and
    /// `expires_at` are used (instead of --nonce and --audience).
    #[arg(long, value_name = "FILE|STRING", conflicts_with_all = ["nonce", "audience"])]
    pub request: Option<String>,
    /// The nonce of the request (base64url text as in the request).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "request")]
    pub nonce: Option<String>,
    /// The audience of the request.
    #[arg(long, required_unless_present = "request")]
    pub audience: Option<String>,
    /// The seen-nonce file: each accepted nonce is recorded there until its request expires, and
    /// a second bundle for it is refused (default: `seen-nonces.json` in the wallet directory).
    #[arg(long, value_name = "FILE")]
    pub seen_nonces: Option<PathBuf>,
    /// Verify as of this Unix time (default: now).
    #[arg(long, value_name = "UNIX")]
    pub at: Option<u64>,
    /// A claim that must be disclosed (repeatable).
    #[arg(long, value_name = "CLAIM")]
    pub require_claim: Vec<String>,
    /// Oldest key-binding accepted, in seconds (raise it for printed cards).
    #[arg(long, default_value_t = 300)]
    pub max_presentation_age: u64,
    /// The nonce is not a verifier's challenge (a printed card, checked again and again): do not
    /// record it or refuse a repeat.
    #[arg(long)]
    pub repeatable: bool,
    /// Oldest checkpoint accepted, in seconds: how old the status may be (raise it to accept
    /// printed cards offline; at most 10 years).
    #[arg(long, value_name = "S", default_value_t = 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 86400))]
    pub max_checkpoint_age: u64,
    /// Lowest level of assurance accepted for identity attestations (1 to 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4))]
    pub min_assurance: Option<u64>,
    /// Card mode with a network: fetch the current status of each presented credential from
    /// this node (only the credential id is sent) and decide with it; if the node cannot be
    /// reached, the bundle's own proofs decide (offline, "status as of" their checkpoint).
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
}

/// Arguments of `print`.
#[derive(clap::Args)]
pub struct PrintArgs {
    /// Credential id (a unique prefix of at least 4 characters).
    pub id: String,
    /// Where to write the PNG.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Audience the printed presentation is bound to.
    #[arg(long, default_value = "certledger:print")]
    pub audience: String,
    /// Nonce the printed presentation is bound to (default: `print-<unix time>`).
    #[arg(long, allow_hyphen_values = true)]
    pub nonce: Option<String>,
    /// Claims to disclose (default: all).
    #[arg(long, value_delimiter = ',', value_name = "CLAIMS")]
    pub disclose: Option<Vec<String>>,
}

/// A completion script or the manual page, generated from the command definition.
pub fn generated(command: &Command) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "certledger-wallet", &mut out);
        }
        Command::Man => clap_mangen::Man::new(Cli::command()).render(&mut out).ok()?,
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_for_every_shell_and_a_man_page_name_every_command() {
        use clap_complete::Shell;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let out = generated(&Command::Completions { shell }).expect("completions");
            let text = String::from_utf8(out).expect("UTF-8");
            for sub in ["present", "refresh", "verify", "identity", "passphrase-file"] {
                assert!(text.contains(sub), "{shell:?} completions lack {sub}");
            }
        }
        let man = String::from_utf8(generated(&Command::Man).expect("man")).expect("UTF-8");
        assert!(man.starts_with(".ie") || man.contains(".TH certledger-wallet"), "{man}");
        for sub in ["present", "refresh", "Exit codes"] {
            assert!(man.contains(sub), "man page lacks {sub}");
        }
    }
}
