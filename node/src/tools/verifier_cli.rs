//! `certledger-node verifier register|rotate|retire|request`: the verifier registry (`specs/node.md`,
//! Verifiers; `specs/request.md`).
//!
//! `register`, `rotate` and `retire` build a `RegisterVerifier`, `RotateVerifier` or
//! `RetireVerifier` entry, sign it locally with an admin key of the registering department and
//! wait for the commit (the one submit-and-wait loop of `tools/client.rs`). `request` signs a
//! presentation request with a verifier's request-signing key file, for agency services and
//! scripts (the verifier page signs its own in the browser).

use std::path::{Path, PathBuf};
use std::time::Duration;

use certledger_core::ledger::{
    EntryBody, Purpose, RegisterVerifier, RetireVerifier, RotateVerifier, SignedEntry,
};
use certledger_core::request::{PresentationRequest, RequestOptions};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::tools::issuer::{
    input, load_key, now_s, parse_public_key, parse_type, Committed, NodeClient,
};
use crate::tools::issuer_cli::NodeOpts;

/// `verifier ...`.
#[derive(Subcommand, Debug)]
pub enum VerifierCmd {
    /// Register a verifier (a counter, an agency service) with its request-signing key and its
    /// purposes, signed by an admin key of the sponsoring department.
    #[command(after_help = "Example:\n  \
        certledger-node verifier register --node http://127.0.0.1:8080 \\\n    \
        --admin-key keys/dept-2.admin.key.json --department education \\\n    \
        --verifier-id pudong-hr-1 --name-zh 浦东人事窗口 --name-en 'Pudong HR counter' \\\n    \
        --verifier-key <public key shown by the page> --purpose hire=institution,name\n\n\
        Exit codes: 0 ok, 3 bad input, 4 refused by the ledger, 5 node unreachable or too slow.")]
    Register(RegisterCmd),
    /// Replace a verifier's request-signing key; requests signed by the old key are refused from
    /// the commit on. Signed by an admin key of the verifier's department.
    #[command(after_help = "Example:\n  \
        certledger-node verifier rotate --node http://127.0.0.1:8080 \\\n    \
        --admin-key keys/dept-2.admin.key.json --verifier-id pudong-hr-1 --new-key <public key>\n\n\
        Exit codes: 0 ok, 3 bad input, 4 refused by the ledger, 5 node unreachable or too slow.")]
    Rotate(RotateCmd),
    /// Retire a verifier: every request it signs is refused from the commit on, and its id is
    /// never reused. Signed by an admin key of the verifier's department.
    #[command(after_help = "Example:\n  \
        certledger-node verifier retire --node http://127.0.0.1:8080 \\\n    \
        --admin-key keys/dept-2.admin.key.json --verifier-id pudong-hr-1\n\n\
        Exit codes: 0 ok, 3 bad input, 4 refused by the ledger, 5 node unreachable or too slow.")]
    Retire(RetireCmd),
    /// Sign a presentation request with a verifier's request-signing key file (no node needed).
    /// Prints the request JSON, or writes it to --out, and its CLR1. text.
    #[command(after_help = "Example:\n  \
        certledger-node keygen --out counter.key.json\n  \
        certledger-node verifier request --key counter.key.json --verifier-id pudong-hr-1 \\\n    \
        --purpose 'hire 招聘核验' --type diploma --claims institution,name --out request.json\n\n\
        Exit codes: 0 ok, 3 bad input.")]
    Request(RequestCmd),
}

/// `verifier register`.
#[derive(Args, Debug)]
pub struct RegisterCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// An admin key file of the sponsoring department.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The sponsoring department id.
    #[arg(long)]
    department: String,
    /// The verifier id (what its requests name).
    #[arg(long)]
    verifier_id: String,
    /// Chinese name shown to citizens.
    #[arg(long)]
    name_zh: String,
    /// English name shown to citizens.
    #[arg(long)]
    name_en: String,
    /// The request-signing public key (64 hex digits, 43 base64url characters, did:key or a key
    /// file).
    #[arg(long, value_name = "KEY")]
    verifier_key: String,
    /// A purpose and the claims it may ask for: `ID=claim,claim` (repeatable, at least one).
    #[arg(long = "purpose", value_name = "ID=CLAIMS", required = true)]
    purposes: Vec<String>,
}

/// `verifier rotate`.
#[derive(Args, Debug)]
pub struct RotateCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// An admin key file of the verifier's department.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The verifier id.
    #[arg(long)]
    verifier_id: String,
    /// The new request-signing public key (as for `register --verifier-key`).
    #[arg(long, value_name = "KEY")]
    new_key: String,
}

/// `verifier retire`.
#[derive(Args, Debug)]
pub struct RetireCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// An admin key file of the verifier's department.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The verifier id.
    #[arg(long)]
    verifier_id: String,
}

/// `verifier request`.
#[derive(Args, Debug)]
pub struct RequestCmd {
    /// The verifier's request-signing key file (`certledger-node keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The registered verifier id.
    #[arg(long)]
    verifier_id: String,
    /// Why, shown to the citizen; must start with a registered purpose id.
    #[arg(long)]
    purpose: String,
    /// Accepted credential types: shipped short names or ids (comma separated or repeated).
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', required = true)]
    types: Vec<String>,
    /// Claims to be disclosed (comma separated).
    #[arg(long, value_delimiter = ',', value_name = "CLAIMS")]
    claims: Vec<String>,
    /// The key-binding audience (default: the verifier id).
    #[arg(long)]
    audience: Option<String>,
    /// Lifetime in seconds (at most one day).
    #[arg(long, default_value_t = 600)]
    lifetime: u64,
    /// Where to write the request JSON (default: print it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Parses `ID=claim,claim` (claims sorted and de-duplicated, as the ledger requires).
fn parse_purpose(text: &str) -> anyhow::Result<Purpose> {
    let (id, claims) = text
        .split_once('=')
        .ok_or_else(|| input(format!("--purpose `{text}` must be ID=claim,claim")))?;
    let mut claims: Vec<String> =
        claims.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
    claims.sort();
    claims.dedup();
    Ok(Purpose { id: id.trim().to_owned(), claims })
}

fn client(o: &NodeOpts) -> anyhow::Result<NodeClient> {
    NodeClient::new(&o.node, Duration::from_secs(o.wait_secs))
}

/// Signs `body` with the admin key, submits it and waits for the commit.
async fn submit(o: &NodeOpts, admin_key: &Path, body: EntryBody) -> anyhow::Result<Committed> {
    let node = client(o)?;
    let admin = load_key(admin_key)?;
    let chain_id = node.chain_id().await?;
    node.submit_and_wait(&SignedEntry::sign(&admin, &chain_id, body)).await
}

fn report(o: &NodeOpts, what: &str, verifier_id: &str, done: &Committed) {
    if o.json {
        println!(
            "{}",
            json!({ "verifier_id": verifier_id, "action": what,
                    "committed": { "height": done.height, "log_index": done.log_index } })
        );
    } else {
        println!(
            "{what} verifier {verifier_id} at height {} (log index {})",
            done.height, done.log_index
        );
    }
}

/// Runs `verifier ...`.
pub async fn run(cmd: VerifierCmd) -> anyhow::Result<()> {
    match cmd {
        VerifierCmd::Register(c) => {
            let mut purposes =
                c.purposes.iter().map(|p| parse_purpose(p)).collect::<Result<Vec<_>, _>>()?;
            purposes.sort_by(|a, b| a.id.cmp(&b.id));
            let body = EntryBody::RegisterVerifier(RegisterVerifier {
                verifier_id: c.verifier_id.clone(),
                department: c.department.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                verifier_key: parse_public_key(&c.verifier_key)?,
                purposes,
            });
            let done = submit(&c.node, &c.admin_key, body).await?;
            report(&c.node, "registered", &c.verifier_id, &done);
        }
        VerifierCmd::Rotate(c) => {
            let body = EntryBody::RotateVerifier(RotateVerifier {
                verifier_id: c.verifier_id.clone(),
                new_key: parse_public_key(&c.new_key)?,
            });
            let done = submit(&c.node, &c.admin_key, body).await?;
            report(&c.node, "rotated the key of", &c.verifier_id, &done);
        }
        VerifierCmd::Retire(c) => {
            let body =
                EntryBody::RetireVerifier(RetireVerifier { verifier_id: c.verifier_id.clone() });
            let done = submit(&c.node, &c.admin_key, body).await?;
            report(&c.node, "retired", &c.verifier_id, &done);
        }
        VerifierCmd::Request(c) => request(c)?,
    }
    Ok(())
}

fn request(c: RequestCmd) -> anyhow::Result<()> {
    let key = load_key(&c.key)?;
    let types = c
        .types
        .iter()
        .map(|t| parse_type(t).map(|ty| ty.id.to_owned()))
        .collect::<Result<_, _>>()?;
    let options = RequestOptions {
        audience: c.audience.clone().unwrap_or_else(|| c.verifier_id.clone()),
        verifier_id: c.verifier_id,
        purpose: c.purpose,
        claims: c.claims,
        credential_types: types,
        lifetime_s: c.lifetime,
    };
    let request = PresentationRequest::new(options, &key, &mut rand::rngs::OsRng, now_s())
        .map_err(|e| input(format!("the request is invalid: {e}")))?;
    request.check_against_profiles().map_err(|e| input(format!("the request is invalid: {e}")))?;
    match &c.out {
        Some(path) => {
            std::fs::write(path, request.to_json())
                .map_err(|e| input(format!("cannot write {}: {e}", path.display())))?;
            println!("{}", request.to_text());
        }
        None => println!("{}", request.to_json()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_parse_sorted() {
        let p = parse_purpose("hire=name, institution,name").unwrap();
        assert_eq!(p.id, "hire");
        assert_eq!(p.claims, ["institution", "name"]);
        assert_eq!(parse_purpose("kyc=").unwrap().claims, Vec::<String>::new());
        assert!(parse_purpose("no-equals").is_err());
    }
}
