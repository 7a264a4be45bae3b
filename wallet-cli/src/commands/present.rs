//! `present`: answer a verifier's presentation request with a bundle (`specs/wallet.md`).
//!
//! [`present`] runs named phases, each a function of its own: [`check_request`] (the request's
//! signature against the verifier's proven registry record, before anything else),
//! [`choose_credentials`], [`refresh_chosen`], [`choose_disclosures`], [`pseudonym_for`],
//! [`summary`] (and [`confirm`]), [`build_bundle`], [`self_check`], the consent record
//! ([`consent_record`], kept in the encrypted wallet) and [`write_outputs`] (file, PNGs,
//! terminal QR).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{Bundle, LinkedBundle, LinkedCredential};
use certledger_core::codec::Encode as _;
use certledger_core::ledger;
use certledger_core::pseudonym::{LinkProof, PseudonymProof};
use certledger_core::registry::{self, RequestCheckError, StateProofError, StateProofJson};
use certledger_core::request::PresentationRequest;
use certledger_core::verify::{self, Policy, TrustList, Verdict};
use serde_json::json;

use super::refresh::fetch_fresh;
use super::{
    claim_label, claims_of, date, not_active, now, open_wallet, read_input, read_text, type_name,
    value_text, write_png, Ctx, Output, FRESH_CHECKPOINT_AGE_S, MAX_PNG_BYTES,
};
use crate::cli::{Lang, PresentArgs};
use crate::error::{refused, usage, CmdResult, Failure, Reason};
use crate::node::{HttpNode, ProofSource};
use crate::store::{ConsentRecord, Status, StoredCredential, Wallet};
use crate::{identity, qr};

/// Oldest verifier-registry checkpoint accepted, in seconds.
const VERIFIER_RECORD_AGE_S: u64 = 7 * 24 * 3600;
/// Clock skew tolerated on request times, in seconds.
const REQUEST_SKEW_S: u64 = 60;

/// `present`.
pub fn present(ctx: &Ctx, args: &PresentArgs) -> CmdResult<Output> {
    let now = now();
    let request = read_request(&args.request)?;
    let mut wallet = open_wallet(ctx)?;
    let trust = wallet.trust()?;
    let source = args.node.as_deref().map(HttpNode::new).transpose()?;
    let registry = check_request(args, source.as_ref(), &request, &trust, now)?;
    let mut notices = registry.notices.clone();

    let choice = choose_credentials(&mut wallet, &request, args, now, &mut notices)?;
    let creds = refresh_chosen(
        &mut wallet,
        source.as_ref().map(|s| s as &dyn ProofSource),
        &choice.indices,
        &trust,
        registry.node_chain.as_deref(),
        now,
        &mut notices,
    )?;
    let disclosure = choose_disclosures(&request, args.disclose.as_deref(), &creds)?;
    let main = creds.first().ok_or_else(|| usage("no credential"))?;
    let pseudonym = if args.no_pseudonym {
        None
    } else {
        pseudonym_for(&wallet, main, &request, &mut notices)?
    };
    let pseudonym_text = pseudonym.as_ref().map(|p| URL_SAFE_NO_PAD.encode(p.pseudonym.0));
    let summary = summary(&request, &registry, &creds, &disclosure, pseudonym_text.as_deref());
    if !args.yes {
        confirm(&summary)?;
    }
    let bundle = build_bundle(&wallet, &creds, &disclosure, &request, pseudonym, now)?;
    notices.extend(self_check(&bundle, &trust, &request, &disclosure.names, now));
    // The consent record is saved (with the attestation copy newly assigned to this verifier,
    // if any) before the bundle leaves the wallet: nothing is disclosed unrecorded.
    let record =
        consent_record(&request, &registry, &creds, &disclosure, pseudonym_text.as_deref(), now);
    if let Some(dropped) = wallet.record_consent(record) {
        notices.push(format!(
            "notice: the consent history is full; the oldest record (from {}) was dropped: \
             export the history regularly with `history --out FILE`\n\
             注意：出示记录已满，已删除最早的一条记录，请定期导出",
            date(dropped.at)
        ));
    }
    wallet.save()?;
    let text = bundle.to_text();
    let written = write_outputs(args, &text, !args.no_terminal_qr && !ctx.json)?;

    let mut human = summary;
    human.push_str(&written.human);
    let json = json!({
        "bundle_file": args.out.as_ref().map(|p| p.display().to_string()),
        "bundle": if args.out.is_none() { Some(text.as_str()) } else { None },
        "bundle_bytes": text.len(),
        "png": written.pngs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "qr_parts": written.parts,
        "credential": main.id,
        "holder_key_index": main.key_index,
        "linked": creds.iter().skip(1).map(|c| c.id.clone()).collect::<Vec<_>>(),
        "pseudonym": pseudonym_text,
        "verifier_id": request.verifier_id(),
        "verifier_registry_checked": registry.checked_at.is_some(),
        "request_signature_checked": registry.checked_at.is_some(),
        "verifier_record_as_of": registry.checked_at,
        "matched_purpose": registry.matched_purpose,
        "audience": request.audience(),
        "nonce": request.nonce_b64(),
        "disclosed": disclosure.names,
        "checkpoint_height": main.checkpoint_height,
    });
    let mut out = Output::new(human, json);
    out.notices = notices;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Request check

/// The request from `--request`: a file (JSON, `CLR1.` text or a QR PNG) or the text itself.
pub(super) fn read_request(arg: &str) -> CmdResult<PresentationRequest> {
    let path = Path::new(arg);
    let text = if arg.len() < 4096 && path.is_file() {
        let bytes = read_input(path, MAX_PNG_BYTES)?;
        if bytes.starts_with(b"\x89PNG") {
            super::qr_texts_in_png(&bytes, path)?
                .into_iter()
                .find(|t| t.trim_start().starts_with("CLR1."))
                .ok_or_else(|| usage("no request QR code found in the PNG"))?
        } else {
            String::from_utf8(bytes).map_err(|_| usage("the request file is not UTF-8"))?
        }
    } else {
        arg.to_owned()
    };
    let trimmed = text.trim();
    let parsed = if trimmed.starts_with("CLR1.") {
        PresentationRequest::from_text(trimmed)
    } else if trimmed.starts_with('{') {
        PresentationRequest::from_json(trimmed)
    } else {
        return Err(usage("--request must be a file, request JSON or CLR1. text"));
    };
    parsed.map_err(|e| usage(format!("the request is invalid: {e}")))
}

/// What the verifier registry said about the requesting verifier.
#[derive(Debug, Default, PartialEq, Eq)]
struct RegistryCheck {
    /// The registry checkpoint's time, when the request was checked against the registry.
    checked_at: Option<u64>,
    /// The registered names (zh, en).
    verifier_name: Option<(String, String)>,
    /// The registered purpose the request matched.
    matched_purpose: Option<String>,
    /// Warnings and notices for the citizen.
    notices: Vec<String>,
    /// The ledger of the node that answered (`--node`), when it answered the registry check.
    node_chain: Option<String>,
}

/// The refusal for a registry answer that cannot be trusted.
fn bad_record(e: StateProofError) -> Failure {
    let (en, zh) = match e {
        StateProofError::WrongKey => {
            ("the verifier record is for another verifier id", "核验方登记记录与请求中的核验方不符")
        }
        StateProofError::Checkpoint(_) => (
            "the verifier record's checkpoint is not cosigned by the trusted departments",
            "核验方登记记录的检查点未获得受信任部门的共同签名",
        ),
        StateProofError::NotFresh => ("the verifier record is not fresh", "核验方登记记录已过时"),
        StateProofError::ProofMismatch => (
            "the verifier record proof does not match the checkpoint",
            "核验方登记证明与检查点不符",
        ),
        _ => ("the verifier record is malformed", "核验方登记记录格式错误"),
    };
    refused("bad_verifier_record", en, zh)
}

/// The refusal for each reason [`registry::check_signed_request`] gives.
fn refusal(request: &PresentationRequest, e: RequestCheckError) -> Failure {
    let id = request.verifier_id();
    match e {
        RequestCheckError::Registry(e) => bad_record(e),
        RequestCheckError::NotRegistered => refused(
            "verifier_not_registered",
            format!("verifier {id} is not registered on the ledger"),
            format!("核验方 {id} 未在账本上登记"),
        ),
        RequestCheckError::BadSignature => refused(
            "bad_request_signature",
            format!(
                "the request is not signed by the registered key of verifier {id} (forged, \
                 altered, or signed with a replaced key)"
            ),
            format!("请求未由核验方 {id} 的登记密钥签名（伪造、被篡改或密钥已更换）"),
        ),
        RequestCheckError::Retired(at) => refused(
            "verifier_retired",
            format!("verifier {id} was retired on {}", date(at)),
            format!("核验方 {id} 已于 {} 注销", date(at)),
        ),
        RequestCheckError::Request(
            e @ (certledger_core::request::RequestError::Expired
            | certledger_core::request::RequestError::NotYetValid),
        ) => refused(
            "request_expired",
            format!("the request is not valid now: {e}"),
            "请求已过期或尚未生效",
        ),
        RequestCheckError::Request(e) => {
            refused("bad_request", format!("the request is invalid: {e}"), "请求内容无效")
        }
        RequestCheckError::UnknownPurpose => refused(
            "unknown_purpose",
            format!(
                "the request's purpose \"{}\" is none of the purposes verifier {id} registered",
                request.purpose()
            ),
            format!("请求的用途不是核验方 {id} 登记的用途"),
        ),
        RequestCheckError::OverAsking(over) => {
            let list = over.join(", ");
            refused(
                "over_asking",
                format!(
                    "the verifier asks for claims its registered purpose does not allow: {list}"
                ),
                format!("核验方请求了其登记用途不允许的信息：{list}"),
            )
        }
        _ => refused("bad_request", "the request was refused", "请求被拒绝"),
    }
}

/// The loud warning when `--insecure-unchecked-request` was given.
const UNCHECKED_WARNING: &str = "WARNING: --insecure-unchecked-request: the request's signature \
    and the verifier's registration were NOT checked; anyone may have made this request\n\
    警告：未核验请求签名与核验方登记信息，此请求可能由任何人伪造";

/// Phase 1, before anything else is done with the request: the verifier's registry record
/// (from `--verifier-record` or `--node`) proven by core against the trust root, the request's
/// signature under the registered key, the verifier not retired, the request current, its
/// purpose a registered one and its claims allowed by that purpose. Without registry data the
/// request is refused, unless `--insecure-unchecked-request` (testing only) is given.
fn check_request(
    args: &PresentArgs,
    source: Option<&HttpNode>,
    request: &PresentationRequest,
    trust: &TrustList,
    now: u64,
) -> CmdResult<RegistryCheck> {
    let answer: StateProofJson =
        match (&args.verifier_record, source) {
            (Some(path), _) => serde_json::from_str(&read_text(path)?)
                .map_err(|e| usage(format!("the verifier record file is malformed: {e}")))?,
            (None, Some(src)) => src.state(&ledger::verifier_state_key(request.verifier_id()))?,
            (None, None) if args.insecure_unchecked_request => {
                let current = request
                    .check_time(now, REQUEST_SKEW_S)
                    .and_then(|()| request.check_against_profiles());
                current.map_err(|e| refusal(request, RequestCheckError::Request(e)))?;
                return Ok(RegistryCheck {
                    notices: vec![UNCHECKED_WARNING.to_owned()],
                    ..RegistryCheck::default()
                });
            }
            (None, None) => return Err(refused(
                "verifier_unchecked",
                "the request cannot be checked without the verifier registry: give --node URL or \
                 --verifier-record FILE",
                "缺少核验方登记信息，无法核验请求：请提供 --node 或 --verifier-record",
            )),
        };
    // The verifier is registered on the ledger whose node answered: its checkpoint's origin
    // picks the trust root, and that ledger must be on the wallet's trust list.
    let listed = verify::checkpoint_origin(&answer.checkpoint)
        .ok()
        .and_then(|origin| trust.get(origin))
        .ok_or_else(|| Failure::refused(Reason::from_invalid(&trust.unlisted_reason())))?;
    let from_node = args.verifier_record.is_none() && source.is_some();
    let node_chain = from_node.then(|| listed.root.chain_id.clone());
    let checked = registry::check_signed_request(
        request,
        &answer,
        &listed.root,
        VERIFIER_RECORD_AGE_S,
        now,
        REQUEST_SKEW_S,
    )
    .map_err(|e| refusal(request, e))?;
    let reg = &checked.record.registration;
    Ok(RegistryCheck {
        checked_at: Some(checked.checkpoint.time),
        verifier_name: Some((reg.name_zh.clone(), reg.name_en.clone())),
        matched_purpose: Some(checked.purpose.id),
        notices: Vec::new(),
        node_chain,
    })
}

// ---------------------------------------------------------------------------------------------
// Credential choice

/// Which stored credentials are presented.
struct Choice {
    /// Indices into the wallet's credentials: the main one first, then `--with` in order.
    indices: Vec<usize>,
}

/// The notice when a chosen attestation copy is also shown to other verifiers.
fn shared_copy_warning(others: &[String]) -> String {
    format!(
        "warning: this attestation copy is also shown to {}; those verifiers can link this \
         presentation to theirs\n注意：此身份认证凭证副本也曾出示给其他核验方",
        others.join(", ")
    )
}

/// Phase 2: the main credential (`--credential`, this verifier's attestation copy, or the one
/// credential of a requested type) and the `--with` credentials.
fn choose_credentials(
    wallet: &mut Wallet,
    request: &PresentationRequest,
    args: &PresentArgs,
    now: u64,
    notices: &mut Vec<String>,
) -> CmdResult<Choice> {
    let candidates: Vec<usize> = wallet
        .data
        .credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| request.credential_types().iter().any(|t| t == &c.type_id))
        .map(|(i, _)| i)
        .collect();
    let identity_type = identity::attestation_type();
    let index = match &args.credential {
        Some(id) => {
            let i = wallet.find(id)?;
            if !candidates.contains(&i) {
                return Err(refused(
                    "type_not_requested",
                    "the verifier does not ask for this credential type",
                    "核验方未请求此类证照",
                ));
            }
            let c = wallet.data.credentials.get(i).ok_or_else(|| usage("no such credential"))?;
            let others = identity::other_verifiers(wallet, &c.id, request.verifier_id());
            if c.type_id == identity_type && !others.is_empty() {
                notices.push(shared_copy_warning(&others));
            }
            i
        }
        None => {
            let identity_requested = request.credential_types().iter().any(|t| t == identity_type);
            let has_copy = candidates.iter().any(|i| {
                wallet.data.credentials.get(*i).is_some_and(|c| c.type_id == identity_type)
            });
            if identity_requested && has_copy {
                // A newly assigned copy is saved with the consent record.
                let (i, _assigned) =
                    identity::copy_for_verifier(wallet, request.verifier_id(), now)?;
                i
            } else {
                match candidates.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(refused(
                            "no_matching_credential",
                            "no credential in this wallet is of a requested type",
                            "钱包中没有所请求类型的证照",
                        ))
                    }
                    _ => {
                        return Err(usage(
                            "several credentials match: choose one with --credential ID",
                        ))
                    }
                }
            }
        }
    };
    let mut indices = vec![index];
    for id in args.with.iter().flatten() {
        let i = wallet.find(id)?;
        if indices.contains(&i) {
            return Err(usage(format!("--with {id}: that credential is already presented")));
        }
        if !candidates.contains(&i) {
            return Err(refused(
                "type_not_requested",
                format!("--with {id}: the verifier does not ask for this credential type"),
                "核验方未请求此类证照",
            ));
        }
        indices.push(i);
    }
    if indices.len() > 1 + certledger_core::bundle::MAX_LINKED as usize {
        return Err(usage("at most 4 credentials can be presented together with the main one"));
    }
    Ok(Choice { indices })
}

// ---------------------------------------------------------------------------------------------
// Refresh

/// The notice when stored proofs are older than verifiers accept by default.
fn stale_proofs_warning(checkpoint_time: u64) -> String {
    format!(
        "warning: the stored proofs are from {}; verifiers accept checkpoints up to 24 hours old \
         by default: run `refresh --node URL` or pass --node\n注意：状态证明已超过 24 小时，请刷新",
        date(checkpoint_time)
    )
}

/// Phase 4: with a node, fresh proofs for each chosen credential (a newly proven status is
/// saved, and a credential that is not active is refused); the chosen credentials, in order.
fn refresh_chosen(
    wallet: &mut Wallet,
    source: Option<&dyn ProofSource>,
    indices: &[usize],
    trust: &TrustList,
    node_chain: Option<&str>,
    now: u64,
    notices: &mut Vec<String>,
) -> CmdResult<Vec<StoredCredential>> {
    let mut chosen = Vec::new();
    for &i in indices {
        let cred = wallet.data.credentials.get_mut(i).ok_or_else(|| usage("no such credential"))?;
        let Some(listed) = trust.get(&cred.chain_id) else {
            return Err(Failure::refused(Reason::from_invalid(&trust.unlisted_reason())));
        };
        // The node serves one ledger: a credential of another (a cross-province presentation)
        // goes with its stored proofs, and the verifier judges their age.
        let other_ledger = node_chain.is_some_and(|chain| chain != cred.chain_id);
        if other_ledger {
            notices.push(format!(
                "notice: {} is from ledger {} ({}), not the node's: presented with its stored \
                 proofs of {} / 此证照来自其他账本，使用已保存的证明出示",
                cred.short_id(),
                listed.name_en,
                listed.name_zh,
                date(cred.checkpoint_time),
            ));
        }
        if let (Some(src), false) = (source, other_ledger) {
            let outcome = fetch_fresh(src, cred, &listed.root, now)?;
            wallet.save()?;
            if let Err(invalid) = outcome {
                return Err(Failure::refused(Reason::from_invalid(&invalid)));
            }
        }
        let cred = wallet.data.credentials.get(i).ok_or_else(|| usage("no such credential"))?;
        let status = cred.effective_status(now);
        if status != Status::Active {
            return Err(not_active(cred, status));
        }
        if now.saturating_sub(cred.checkpoint_time) > FRESH_CHECKPOINT_AGE_S {
            notices.push(stale_proofs_warning(cred.checkpoint_time));
        }
        chosen.push(cred.clone());
    }
    Ok(chosen)
}

// ---------------------------------------------------------------------------------------------
// Disclosure choice

/// What each presented credential discloses.
#[derive(Debug, PartialEq, Eq)]
struct Disclosure {
    /// The claim names disclosed, over all credentials.
    names: Vec<String>,
    /// Per credential: the selectively disclosable claims to reveal.
    reveal: Vec<Vec<String>>,
    /// Per credential: each disclosed claim with its value, for the summary.
    shown: Vec<Vec<(String, String)>>,
}

/// Phase 5: exactly the requested claims, or the citizen's `--disclose` subset of them, each
/// from the first credential (main, then `--with` in order) that has it.
fn choose_disclosures(
    request: &PresentationRequest,
    disclose: Option<&[String]>,
    creds: &[StoredCredential],
) -> CmdResult<Disclosure> {
    let names: Vec<String> = match disclose {
        None => request.claims().to_vec(),
        Some(list) => {
            if let Some(c) = list.iter().find(|c| !request.claims().contains(c)) {
                return Err(usage(format!("--disclose {c}: the verifier did not ask for it")));
            }
            let mut l = list.to_vec();
            l.sort();
            l.dedup();
            l
        }
    };
    let views = creds.iter().map(claims_of).collect::<CmdResult<Vec<_>>>()?;
    let mut reveal = vec![Vec::new(); creds.len()];
    let mut shown = vec![Vec::new(); creds.len()];
    for name in &names {
        let found = views
            .iter()
            .enumerate()
            .find_map(|(k, claims)| claims.iter().find(|c| &c.name == name).map(|c| (k, c)));
        let Some((k, c)) = found else {
            return Err(refused(
                "claim_unavailable",
                format!("the credential has no claim {name}"),
                format!("此证照不包含所请求的信息：{name}"),
            ));
        };
        if c.disclosable {
            if let Some(list) = reveal.get_mut(k) {
                list.push(c.name.clone());
            }
        }
        if let Some(list) = shown.get_mut(k) {
            list.push((c.name.clone(), value_text(&c.value)));
        }
    }
    w3c::full_disclosure(creds, &views, &names, &mut shown)?;
    Ok(Disclosure { names, reveal, shown })
}

// ---------------------------------------------------------------------------------------------
// Pseudonym

/// Phase 6: for an identity attestation, the pseudonym proof for the audience, but only when
/// the audience is the verifier id (the pseudonym is derived from the audience, which a
/// verifier could otherwise set to another verifier's id to learn the citizen's pseudonym
/// there).
fn pseudonym_for(
    wallet: &Wallet,
    main: &StoredCredential,
    request: &PresentationRequest,
    notices: &mut Vec<String>,
) -> CmdResult<Option<PseudonymProof>> {
    if main.type_id != identity::attestation_type() {
        return Ok(None);
    }
    if request.audience() != request.verifier_id() {
        notices.push(
            "notice: no pseudonym: the request's audience differs from its verifier id\n\
             注意：请求的受众与核验方标识不同，未附专用化名"
                .to_owned(),
        );
        return Ok(None);
    }
    let key = wallet.key_for(main)?.public_key();
    match PseudonymProof::create(
        &*wallet.wallet_secret()?,
        request.audience(),
        &request.nonce_b64(),
        &key,
    ) {
        Ok(proof) => Ok(Some(proof)),
        Err(e) => {
            notices.push(format!("notice: no pseudonym for this audience: {e}"));
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Confirmation

/// Phase 7: what the citizen is asked to confirm (bilingual).
fn summary(
    request: &PresentationRequest,
    registry: &RegistryCheck,
    creds: &[StoredCredential],
    disclosure: &Disclosure,
    pseudonym: Option<&str>,
) -> String {
    let mut summary = String::new();
    let _ = writeln!(summary, "Verifier 核验方: {}", request.verifier_id());
    if let Some((zh, en)) = &registry.verifier_name {
        let _ = writeln!(summary, "  registered as 登记名称: {zh} / {en}");
    }
    match registry.checked_at {
        Some(t) => {
            let _ = writeln!(
                summary,
                "  request signed by its registered key 请求签名已核验 (registry as of 登记信息截至 {})",
                date(t)
            );
        }
        None => {
            let _ = writeln!(summary, "  REQUEST NOT CHECKED 请求未经核验");
        }
    }
    let _ = writeln!(summary, "Purpose 用途: {}", request.purpose());
    let _ = writeln!(summary, "Audience 受众: {}", request.audience());
    for (k, (c, claims)) in creds.iter().zip(&disclosure.shown).enumerate() {
        let _ = writeln!(
            summary,
            "{} 证照: {} / {}",
            if k == 0 { "Credential" } else { "Together with" },
            type_name(&c.type_id, Lang::Zh),
            type_name(&c.type_id, Lang::En)
        );
        if k == 0 && c.type_id == identity::attestation_type() {
            let copy = c.key_index.map_or_else(|| "main key".to_owned(), |i| format!("key #{i}"));
            let _ = writeln!(summary, "  attestation copy 凭证副本: {} ({copy})", c.short_id());
        }
        w3c::summary_note(&mut summary, c);
        let _ = writeln!(summary, "  Claims disclosed 出示的信息:");
        for (name, value) in claims {
            let _ = writeln!(
                summary,
                "    {} / {}: {value}",
                claim_label(&c.type_id, name, Lang::Zh),
                claim_label(&c.type_id, name, Lang::En)
            );
        }
    }
    if let Some(p) = pseudonym {
        let _ = writeln!(summary, "Pseudonym for this verifier 专用化名: {p}");
    }
    summary
}

/// Asks on the terminal; anything but yes declines.
fn confirm(summary: &str) -> CmdResult<()> {
    super::confirm_on_terminal(
        &format!("{summary}Disclose? 是否出示？ [y/N] "),
        ("the citizen declined the request", "持有人拒绝了此请求"),
    )
}

// ---------------------------------------------------------------------------------------------
// Build and self-check

/// Phase 8: every presentation bound to the request's nonce and audience, each `--with`
/// credential under another key linked to the main one.
fn build_bundle(
    wallet: &Wallet,
    creds: &[StoredCredential],
    disclosure: &Disclosure,
    request: &PresentationRequest,
    pseudonym: Option<PseudonymProof>,
    now: u64,
) -> CmdResult<LinkedBundle> {
    let nonce = request.nonce_b64();
    let audience = request.audience();
    let cannot = |what: &str, e: &dyn std::fmt::Display| {
        refused("cannot_present", format!("cannot {what}: {e}"), "无法生成出示内容")
    };
    let mut items = Vec::new();
    for (c, reveal) in creds.iter().zip(&disclosure.reveal) {
        let key = wallet.key_for(c)?;
        let presentation = w3c::presentation(c, &key, reveal, &nonce, audience, now)?;
        items.push((key, presentation, c.proofs()?));
    }
    let mut items = items.into_iter();
    let (main_key, main_text, main_proofs) = items.next().ok_or_else(|| usage("no credential"))?;
    let mut linked = Vec::new();
    for (key, text, proofs) in items {
        let link = if key.public_key() == main_key.public_key() {
            None
        } else {
            Some(
                LinkProof::create(&main_key, &key, audience, &nonce)
                    .map_err(|e| cannot("link the credentials", &e))?,
            )
        };
        linked.push(LinkedCredential { presentation: text, proofs, link });
    }
    let bundle = LinkedBundle {
        main: Bundle { presentation: main_text, proofs: main_proofs },
        pseudonym,
        linked,
    };
    if bundle.to_bytes().len() > certledger_core::bundle::MAX_BUNDLE_BYTES {
        return Err(usage("the bundle would be larger than 64 KiB: present fewer credentials"));
    }
    Ok(bundle)
}

/// Phase 9: the browser's pipeline with a default policy for this request; a refusal is a
/// warning (the verifier decides).
fn self_check(
    bundle: &LinkedBundle,
    trust: &TrustList,
    request: &PresentationRequest,
    disclosed: &[String],
    now: u64,
) -> Option<String> {
    let mut policy = Policy::new(&request.nonce_b64(), request.audience());
    policy.required_claims = disclosed.to_vec();
    match trust.verify_linked(bundle, &policy, now) {
        Ok(Verdict::Valid(_)) => None,
        Ok(Verdict::Invalid(invalid)) => Some(format!(
            "warning: a verifier with the default policy would refuse this bundle: {invalid} / {}",
            invalid.message_zh()
        )),
        Err(e) => Some(format!("warning: the bundle could not be self-checked: {e}")),
    }
}

/// Phase 10: the consent record of this presentation: the signed request itself (so the
/// verifier's own signature proves who asked), what was disclosed from which credential, and when.
fn consent_record(
    request: &PresentationRequest,
    registry: &RegistryCheck,
    creds: &[StoredCredential],
    disclosure: &Disclosure,
    pseudonym: Option<&str>,
    now: u64,
) -> ConsentRecord {
    ConsentRecord {
        at: now,
        request: request.to_text(),
        verifier_id: request.verifier_id().to_owned(),
        verifier_name_zh: registry.verifier_name.as_ref().map(|(zh, _)| zh.clone()),
        verifier_name_en: registry.verifier_name.as_ref().map(|(_, en)| en.clone()),
        purpose: request.purpose().to_owned(),
        registered_purpose: registry.matched_purpose.clone(),
        signature_checked: registry.checked_at.is_some(),
        registry_as_of: registry.checked_at,
        audience: request.audience().to_owned(),
        credentials: creds.iter().map(|c| (c.id.clone(), c.type_id.clone())).collect(),
        disclosed: disclosure.names.clone(),
        pseudonym: pseudonym.map(str::to_owned),
    }
}

// ---------------------------------------------------------------------------------------------
// QR and files

/// What [`write_outputs`] wrote.
struct Written {
    /// The PNG files.
    pngs: Vec<PathBuf>,
    /// The number of QR codes.
    parts: usize,
    /// What to tell the citizen (and the terminal QR codes).
    human: String,
}

/// The PNG file names for `n` parts: `NAME.png`, or `NAME-1.png` … `NAME-n.png`.
fn png_paths(base: &Path, n: usize) -> Vec<PathBuf> {
    if n <= 1 {
        return vec![base.to_owned()];
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = base.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or("png".into());
    (1..=n).map(|i| base.with_file_name(format!("{stem}-{i}.{ext}"))).collect()
}

/// Phase 11: the bundle text to `--out` (else on stdout), the QR code(s) to `--png` (only when
/// asked) and to the terminal. Nothing is written into the current directory unasked.
fn write_outputs(args: &PresentArgs, text: &str, terminal_qr: bool) -> CmdResult<Written> {
    let mut human = String::new();
    match &args.out {
        Some(out) => {
            crate::keystore::write_atomic(out, format!("{text}\n").as_bytes())
                .map_err(|f| Failure::new(crate::error::Kind::Usage, f.error))?;
            let _ = writeln!(human, "Bundle written to {} ({} bytes)", out.display(), text.len());
        }
        None => {
            let _ = writeln!(human, "Bundle ({} bytes):\n{text}", text.len());
        }
    }
    let parts = qr::split(text)?;
    let pngs = args.png.as_deref().map(|p| png_paths(p, parts.len())).unwrap_or_default();
    let mut terminal = String::new();
    for (i, part) in parts.iter().enumerate() {
        if pngs.is_empty() && !terminal_qr {
            break;
        }
        let code = qr::encode(part)?;
        if let Some(path) = pngs.get(i) {
            write_png(path, &qr::to_image(&code))?;
        }
        if terminal_qr {
            terminal.push_str(&qr::to_terminal(&code));
            terminal.push('\n');
        }
    }
    if !pngs.is_empty() {
        let list: Vec<String> = pngs.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(human, "QR: {}", list.join(", "));
    }
    human.push_str("出示内容已生成\n");
    human.push_str(&terminal);
    Ok(Written { pngs, parts: parts.len(), human })
}

#[cfg(test)]
mod tests;
mod w3c;
