//! `certledger-node type register|list`: the credential types on the ledger (`specs/node.md`,
//! Credential types).
//!
//! `register` builds a `RegisterType` entry for a shipped profile (`core::profiles`, by short
//! name or id), signs it locally with a department admin key and waits for the commit. A type
//! the ledger already holds with the same definition counts as done (exit 0, `"already": true`);
//! one held with another definition is refused. `list` looks every shipped type (and any other
//! `--type` id) up in the ledger state and checks each answer: the checkpoint against a quorum of
//! the trust root, then the sparse Merkle proof of the record (or of its absence) against that
//! checkpoint's state root.

use std::path::PathBuf;
use std::time::Duration;

use crate::tools::issuer::{self, load_key, parse_type, Failure, NodeClient};
use crate::tools::issuer_cli::NodeOpts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::codec::Decode as _;
use certledger_core::ledger::{self, EntryBody, SignedEntry, TypeRecord};
use certledger_core::note;
use certledger_core::profiles;
use certledger_core::smt::SmtProof;
use certledger_core::verify::TrustRoot;
use clap::{Args, Subcommand};
use serde::Serialize;

/// `type ...`.
#[derive(Subcommand, Debug)]
pub enum TypeCmd {
    /// Register shipped credential types on the ledger (signed by a department admin key; the
    /// registering department owns the type and alone authorises issuers for it, so a shipped
    /// type must be registered by its issuing department to verify).
    #[command(after_help = "Examples:\n  \
        certledger-node type register --node http://127.0.0.1:8080 \\\n    \
        --admin-key keys/dept-1.admin.key.json --type business-licence\n  \
        certledger-node type register --node http://127.0.0.1:8080 \\\n    \
        --admin-key keys/dept-0.admin.key.json --type urn:cn:certledger:vct:identity-attestation:1\n\n\
        Types, each with the department that must register and issue it:\n  \
        business-licence (market-regulation), driving-licence (transport),\n  \
        diploma (education), identity-attestation (public-security); or a type id.\n\
        A type already registered with the same definition is reported and counts as success.\n\n\
        Exit codes: 0 ok, 3 bad input, 4 refused by the ledger, 5 node unreachable or too slow.")]
    Register(TypeRegisterCmd),
    /// List the shipped credential types (and any other --type id) with their ledger
    /// registration, each proven against a quorum-cosigned checkpoint.
    #[command(after_help = "Examples:\n  \
        certledger-node type list --node http://127.0.0.1:8080\n  \
        certledger-node type list --node http://127.0.0.1:8080 --trust-root trust-root.json --json\n\n\
        Exit codes: 0 ok, 3 bad input, 5 node unreachable, 6 a proof did not verify.")]
    List(TypeListCmd),
}

/// `type register`.
#[derive(Args, Debug)]
pub struct TypeRegisterCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// A department admin key file.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// Shipped type short names or ids, comma separated or repeated.
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', required = true)]
    types: Vec<String>,
}

/// `type list`.
#[derive(Args, Debug)]
pub struct TypeListCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// Trust root to verify against (default: the node's own /v1/trust-root).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Also look up these type ids (repeatable).
    #[arg(long = "type", value_name = "ID")]
    types: Vec<String>,
}

fn client(o: &NodeOpts) -> anyhow::Result<NodeClient> {
    NodeClient::new(&o.node, Duration::from_secs(o.wait_secs))
}

fn unverified(msg: String) -> anyhow::Error {
    Failure::Unverified(msg).into()
}

/// A type's registration as of a cosigned checkpoint, proven.
struct Proven {
    record: Option<TypeRecord>,
    checkpoint_height: u64,
}

/// Fetches `GET /v1/proofs/state/{type key}` and checks it against `root`.
async fn proven_type(node: &NodeClient, root: &TrustRoot, type_id: &str) -> anyhow::Result<Proven> {
    let key = ledger::type_state_key(type_id);
    let answer = node.state_proof(&key).await?;
    let quorum = root.quorum();
    let cp = note::verify_checkpoint(&answer.checkpoint, &quorum)
        .map_err(|e| unverified(format!("the checkpoint does not verify: {e}")))?;
    let b64 = |name: &str, s: &str| -> anyhow::Result<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(s).map_err(|_| unverified(format!("`{name}` is not base64url")))
    };
    let proof = SmtProof::from_bytes(&b64("proof", &answer.proof)?)
        .map_err(|e| unverified(format!("the state proof is malformed: {e}")))?;
    let value = answer.value.as_deref().map(|v| b64("value", v)).transpose()?;
    proof
        .verify(&cp.state_root, &key, value.as_deref())
        .map_err(|e| unverified(format!("the state proof of {type_id} does not verify: {e}")))?;
    let record = value
        .map(|b| TypeRecord::from_bytes(&b))
        .transpose()
        .map_err(|e| unverified(format!("the type record of {type_id} is malformed: {e}")))?;
    Ok(Proven { record, checkpoint_height: cp.height })
}

/// One row of `type list` (its `--json` form).
#[derive(Debug, Serialize)]
struct TypeRow {
    id: String,
    name_zh: Option<String>,
    name_en: Option<String>,
    /// The registered definition's claims, validity and binding (registered types only).
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validity_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_binding: Option<bool>,
    registered_by: Option<String>,
    alias: Option<&'static str>,
    registered: bool,
    shipped: bool,
    matches_shipped_profile: Option<bool>,
    checkpoint_height: u64,
}

/// What `type register` did with one type (its `--json` form).
#[derive(Debug, Serialize)]
struct RegisterRow {
    r#type: &'static str,
    already: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    registered_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    committed: Option<CommittedAt>,
}

/// Where an entry was committed.
#[derive(Debug, Serialize)]
struct CommittedAt {
    height: u64,
    log_index: u64,
}

/// Runs `type ...`.
pub async fn run(cmd: TypeCmd) -> anyhow::Result<()> {
    match cmd {
        TypeCmd::Register(c) => register(c).await,
        TypeCmd::List(c) => list(c).await,
    }
}

async fn register(c: TypeRegisterCmd) -> anyhow::Result<()> {
    let node = client(&c.node)?;
    let admin = load_key(&c.admin_key)?;
    let mut tys = Vec::new();
    for t in &c.types {
        let ty = parse_type(t)?;
        if !tys.iter().any(|x: &&profiles::CredentialType| x.id == ty.id) {
            tys.push(ty);
        }
    }
    let chain_id = node.chain_id().await?;
    let root = node.trust_root(None).await?;
    let mut out = Vec::new();
    for ty in tys {
        let def = profiles::register_type(ty);
        // Already there (as of the newest checkpoint)? Same definition: done; else refused.
        if let Some(rec) = proven_type(&node, &root, ty.id).await?.record {
            if rec.def != def {
                return Err(Failure::Refused(format!(
                    "{} is already registered (by {}) with another definition",
                    ty.id, rec.department
                ))
                .into());
            }
            out.push((
                ty,
                RegisterRow {
                    r#type: ty.id,
                    already: true,
                    registered_by: Some(rec.department),
                    committed: None,
                },
            ));
            continue;
        }
        let entry = SignedEntry::sign(&admin, &chain_id, EntryBody::RegisterType(def));
        let done = node
            .submit_and_wait(&entry)
            .await
            .map_err(|e| e.context(format!("registering {}", ty.id)))?;
        out.push((
            ty,
            RegisterRow {
                r#type: ty.id,
                already: false,
                registered_by: None,
                committed: Some(CommittedAt { height: done.height, log_index: done.log_index }),
            },
        ));
    }
    if c.node.json {
        #[derive(Serialize)]
        struct Registered<'a> {
            types: Vec<&'a RegisterRow>,
        }
        let types = out.iter().map(|(_, v)| v).collect();
        println!("{}", serde_json::to_string(&Registered { types })?);
        return Ok(());
    }
    for (ty, row) in &out {
        match (&row.registered_by, &row.committed) {
            (Some(by), _) => println!(
                "{} / {} ({}) was already registered by {by}",
                ty.name_zh, ty.name_en, ty.id
            ),
            (None, Some(at)) => println!(
                "registered {} / {} ({}) at height {} (log index {})",
                ty.name_zh, ty.name_en, ty.id, at.height, at.log_index
            ),
            (None, None) => {}
        }
    }
    Ok(())
}

async fn list(c: TypeListCmd) -> anyhow::Result<()> {
    let node = client(&c.node)?;
    if c.trust_root.is_none() && !c.node.json {
        eprintln!("note: verifying against the node's own trust root; pass --trust-root for an independent check");
    }
    let root = node.trust_root(c.trust_root.as_deref()).await?;
    let mut ids: Vec<String> = profiles::ALL.iter().map(|t| t.id.to_owned()).collect();
    for t in &c.types {
        let id = parse_type(t).map(|ty| ty.id.to_owned()).unwrap_or_else(|_| t.trim().to_owned());
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut rows = Vec::new();
    let mut heights = Vec::new();
    for id in &ids {
        let p = proven_type(&node, &root, id).await?;
        heights.push(p.checkpoint_height);
        let shipped = profiles::by_id(id);
        let alias = shipped.map(issuer::type_alias);
        let def = p.record.as_ref().map(|r| &r.def);
        rows.push(TypeRow {
            id: def.map_or_else(|| id.clone(), |d| d.type_id.clone()),
            name_zh: def
                .map(|d| d.name_zh.clone())
                .or_else(|| shipped.map(|t| t.name_zh.to_owned())),
            name_en: def
                .map(|d| d.name_en.clone())
                .or_else(|| shipped.map(|t| t.name_en.to_owned())),
            claims: def.map(|d| d.claims.iter().map(|c| c.name.clone()).collect()),
            validity_s: def.map(|d| d.validity_s),
            holder_binding: def.map(|d| d.holder_binding),
            registered_by: p.record.as_ref().map(|r| r.department.clone()),
            alias,
            registered: p.record.is_some(),
            shipped: shipped.is_some(),
            matches_shipped_profile: match (shipped, &p.record) {
                (Some(ty), Some(rec)) => Some(profiles::register_type(ty) == rec.def),
                _ => None,
            },
            checkpoint_height: p.checkpoint_height,
        });
    }
    if c.node.json {
        #[derive(Serialize)]
        struct Listed<'a> {
            verified: bool,
            types: &'a [TypeRow],
        }
        println!("{}", serde_json::to_string(&Listed { verified: true, types: &rows })?);
        return Ok(());
    }
    for v in &rows {
        let name = format!(
            "{} / {}",
            v.name_zh.as_deref().unwrap_or("?"),
            v.name_en.as_deref().unwrap_or("?")
        );
        let state = match &v.registered_by {
            Some(d) => format!("registered by {d}"),
            None => "not registered".to_owned(),
        };
        let mismatch = if v.matches_shipped_profile == Some(false) {
            " (differs from the shipped profile)"
        } else {
            ""
        };
        println!("{:<22} {:<45} {name}: {state}{mismatch}", v.alias.unwrap_or("-"), v.id);
    }
    heights.sort_unstable();
    heights.dedup();
    println!(
        "{} type(s), each proven against cosigned checkpoint height(s) {heights:?}",
        rows.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Subcommand as _;

    use super::*;

    #[test]
    fn every_shipped_type_is_named_in_the_help_and_parses() {
        let cmd = TypeCmd::augment_subcommands(clap::Command::new("type"));
        let help = cmd
            .find_subcommand("register")
            .and_then(|c| c.get_after_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        for ty in profiles::ALL {
            let alias = issuer::type_alias(ty);
            assert!(help.contains(alias), "{alias} missing from the help");
            assert!(help.contains(&format!("{alias} ({})", ty.issuing_department)));
            assert_eq!(parse_type(alias).unwrap().id, ty.id);
            assert_eq!(profiles::register_type(ty).type_id, ty.id);
        }
    }
}
