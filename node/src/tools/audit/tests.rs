//! Tests of the audit client: complete answers pass, a hidden entry is caught (exit 7), paging, credential history, loopback HTTP.

//! In-process: one node's store and ledger, blocks committed and a checkpoint cosigned by
//! hand (as `server::proofs`' tests do), the answers built by the server's audit functions
//! ([`crate::server::audit`]) and checked by this command's verifier.

use std::sync::Arc;

use certledger_core::ledger::{
    AnchorIssuance, ChangeStatus, CredentialStatus, EntryBody, RegisterIssuer,
};
use certledger_core::note::NoteSigner;
use certledger_core::sig::SecretKey;
use certledger_core::verify::TrustRoot;
use certledger_core::{profiles, testkit};

use certledger_core::codec::Encode as _;
use certledger_core::note::Note;

use super::{self as client, *};
use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
use crate::server::audit::{
    clamp_limit, credential_answer, department_answer, AuditError, CredentialQuery,
    DepartmentQuery, MAX_LIMIT,
};
use crate::server::chain::checkpoint_of;
use crate::server::codec::StoredCertificate;
use crate::server::context::{Block, BlockHeader};
use crate::server::handle::open_node;
use crate::server::handle::NodeHandle;
use crate::tools::failure::{exit_code, EXIT_INCOMPLETE, EXIT_UNVERIFIED};

const CHAIN: &str = "audit-test";
const DEPARTMENTS: [&str; 4] = ["market-regulation", "public-security", "education", "transport"];
const MARKET: &str = "market-regulation";

struct World {
    _dir: tempfile::TempDir,
    node: Arc<NodeHandle>,
    node_keys: Vec<SecretKey>,
    admin: SecretKey,
    trust_root: TrustRoot,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let node_keys: Vec<SecretKey> = (0..4u8).map(|i| SecretKey::from_seed(&[i + 1; 32])).collect();
    let admin = SecretKey::from_seed(&[9; 32]);
    let genesis = Genesis {
        version: 1,
        chain_id: CHAIN.into(),
        genesis_time: 0,
        departments: node_keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisDepartment {
                id: DEPARTMENTS[i].into(),
                name_zh: format!("部门{i}"),
                name_en: format!("Department {i}"),
                node_key: k.public_key(),
                admin_keys: vec![if i == 0 {
                    admin.public_key()
                } else {
                    SecretKey::from_seed(&[20 + i as u8; 32]).public_key()
                }],
            })
            .collect(),
    };
    let gpath = dir.path().join("genesis.json");
    std::fs::write(&gpath, serde_json::to_string(&genesis).expect("json")).expect("write");
    let kpath = dir.path().join("key.json");
    KeyFile::new(&node_keys[0]).write(&kpath).expect("key");
    let cfg = NodeToml {
        moniker: "t".into(),
        data_dir: dir.path().join("data"),
        key_file: kpath,
        genesis_file: gpath,
        validator: true,
        p2p_listen: "/ip4/127.0.0.1/tcp/0".into(),
        persistent_peers: vec![],
        http_listen: "127.0.0.1:0".into(),
        peer_http: vec![],
        block_time_ms: 500,
        timeout_propose_ms: 2000,
        timeout_vote_ms: 1000,
        danger_propose_bad_state_root: false,
        danger_propose_invalid_entry: None,
        web_dir: None,
        http: Default::default(),
    };
    let node = open_node(&cfg).expect("open");
    let trust_root = TrustRoot::from_genesis(&genesis.to_core());
    World { _dir: dir, node, node_keys, admin, trust_root }
}

impl World {
    fn commit(&self, height: u64, time: u64, entries: &[SignedEntry]) -> BlockHeader {
        let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.to_bytes()).collect();
        let mut s = self.node.lock();
        let out = s.ledger.apply_block(height, time, &bytes).expect("block applies");
        let header = BlockHeader {
            chain_id: CHAIN.into(),
            height,
            prev_block_hash: [0; 32],
            time,
            proposer: [1; 32],
            entries_root: crate::server::chain::entries_root(&bytes),
            log_size: out.log_size,
            log_root: out.log_root,
            state_root: out.state_root,
            validators_hash: [5; 32],
            next_validators_hash: [5; 32],
        };
        let block = Block { header: header.clone(), entries: bytes };
        let cert = StoredCertificate {
            height,
            round: 0,
            value_id: header.hash().0,
            signatures: vec![([1; 32], vec![2; 64])],
        };
        self.node.store.put_decided(&block, &cert, None).expect("store");
        s.last_header = Some(header.clone());
        header
    }

    fn cosign(&self, header: &BlockHeader) {
        let mut note = Note::new(&checkpoint_of(header).to_body()).expect("note");
        for (i, k) in self.node_keys.iter().enumerate().take(3) {
            note.sign(&NoteSigner::new(DEPARTMENTS[i], k.clone()).expect("signer")).expect("sign");
        }
        self.node.store.put_checkpoint(header.height, &note.to_text()).expect("put");
    }

    fn sign(&self, key: &SecretKey, body: EntryBody) -> SignedEntry {
        SignedEntry::sign(key, CHAIN, body)
    }

    fn department(&self, from: u64, to: u64, limit: usize, cursor: Option<u64>) -> api::AuditPage {
        let q = DepartmentQuery {
            from: Some(from),
            to: Some(to),
            limit: Some(limit),
            cursor: cursor.map(|c| c.to_string()),
        };
        department_answer(&self.node, MARKET, &q).expect("department answer")
    }

    fn credential(&self, id: &[u8; 32], cursor: Option<u64>) -> api::AuditPage {
        let q = CredentialQuery { limit: None, cursor: cursor.map(|c| c.to_string()) };
        credential_answer(&self.node, id, &q).expect("credential answer")
    }
}

fn anchor(n: u8) -> AnchorIssuance {
    AnchorIssuance {
        credential_id: [n; 32],
        type_id: profiles::BUSINESS_LICENCE.id.into(),
        commitment: [n.wrapping_add(100); 32],
        nonce: [n; 16],
    }
}

/// Market registers an issuer at 1000 and anchors credentials 1..=4 at 1001..=1004; the
/// first is suspended at 1005; a checkpoint covers height 6; credential 5 comes after it.
fn history(w: &World) -> SecretKey {
    let issuer = SecretKey::from_seed(&[30; 32]);
    let bl = &profiles::BUSINESS_LICENCE;
    w.commit(
        1,
        1000,
        &[
            w.sign(&w.admin, EntryBody::RegisterType(testkit::register_type(bl))),
            w.sign(
                &w.admin,
                EntryBody::RegisterIssuer(RegisterIssuer {
                    department: MARKET.into(),
                    issuer_key: issuer.public_key(),
                    types: vec![bl.id.into()],
                    valid_from: 0,
                    valid_until: 1_000_000_000,
                    name_zh: "签发".into(),
                    name_en: "Issuer".into(),
                }),
            ),
        ],
    );
    for n in 1..=4u8 {
        w.commit(
            1 + u64::from(n),
            1000 + u64::from(n),
            &[w.sign(&issuer, EntryBody::AnchorIssuance(anchor(n)))],
        );
    }
    let suspend = ChangeStatus {
        credential_id: [1; 32],
        status: CredentialStatus::Suspended,
        reason: 1,
        nonce: [1; 16],
    };
    let h6 = w.commit(6, 1005, &[w.sign(&issuer, EntryBody::ChangeStatus(suspend))]);
    w.cosign(&h6);
    w.commit(7, 1006, &[w.sign(&issuer, EntryBody::AnchorIssuance(anchor(5)))]);
    issuer
}

fn market(from: u64, to: u64) -> Target {
    Target::Department { id: MARKET.into(), from, to }
}

/// Removes item `i` and its index proof, as a node hiding that entry would.
fn hide(page: &api::AuditPage, i: usize) -> api::AuditPage {
    let mut bad = page.clone();
    bad.items.remove(i);
    bad.index.as_mut().expect("index").item_proofs.remove(i);
    bad
}

fn code(r: anyhow::Result<client::VerifiedPage>) -> u8 {
    exit_code(&r.expect_err("must be refused"))
}

#[test]
fn a_complete_department_answer_passes_and_a_hidden_entry_is_caught() {
    let w = world();
    history(&w);
    // 1001..1004: the four anchors; proven closed by the suspension at 1005.
    let page = w.department(1001, 1005, 100, None);
    assert_eq!(page.items.len(), 4);
    let v = client::verify_page(&page, &market(1001, 1005), &w.trust_root).expect("verifies");
    assert_eq!(v.items.iter().map(|i| i.time).collect::<Vec<_>>(), [1001, 1002, 1003, 1004]);
    assert!(v.index.closed && !v.index.closed_by_count);
    let step = client::next_step(&market(1001, 1005), &v, page.next_cursor.is_some());
    assert_eq!(step.expect("step"), Step::Done { range_final: true });

    // The node hides each entry in turn: always caught as incomplete (exit 7).
    for i in 0..4 {
        let bad = hide(&page, i);
        let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
        assert_eq!(code(r), EXIT_INCOMPLETE, "hidden item {i}");
    }
    // Hides one but keeps every proof: still caught.
    let mut bad = page.clone();
    bad.items.remove(1);
    let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
    assert_eq!(code(r), EXIT_INCOMPLETE);
    // Serves no index at all, as a node before this change would.
    let mut bad = page.clone();
    bad.index = None;
    let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
    assert_eq!(code(r), EXIT_INCOMPLETE);
    // Claims the range ends earlier than it does (drops the last item and the boundary).
    let mut bad = hide(&page, 3);
    bad.index.as_mut().expect("index").after = None;
    bad.next_cursor = None;
    let v = client::verify_page(&bad, &market(1001, 1005), &w.trust_root).expect("a page");
    let step = client::next_step(&market(1001, 1005), &v, bad.next_cursor.is_some());
    assert_eq!(exit_code(&step.expect_err("ended early")), EXIT_INCOMPLETE);
    // A forged counter proof is a proof failure (exit 6), not an omission.
    let mut bad = page.clone();
    bad.index.as_mut().expect("index").count_proof = page
        .index
        .as_ref()
        .and_then(|i| i.before.as_ref())
        .map(|b| b.proof.clone())
        .expect("before");
    let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
    assert_eq!(code(r), EXIT_UNVERIFIED);
}

#[test]
fn paging_is_bounded_and_a_skipped_page_start_is_a_gap() {
    let w = world();
    history(&w);
    let target = market(0, u64::MAX);
    let mut start = None;
    let mut times = Vec::new();
    let mut kinds = Vec::new();
    let mut pages = 0;
    loop {
        let page = w.department(0, u64::MAX, 2, start);
        assert!(page.items.len() <= 2);
        let v = client::verify_page_at(&page, &target, &w.trust_root, start).expect("page");
        times.extend(v.items.iter().map(|i| i.time));
        kinds.extend(v.items.iter().map(|i| i.kind()));
        pages += 1;
        match client::next_step(&target, &v, page.next_cursor.is_some()).expect("step") {
            Step::More(next) => start = Some(next),
            Step::Done { range_final } => {
                // The range reaches past the checkpoint: proven only up to it, and the node
                // says an entry came after it.
                assert!(!range_final);
                assert!(page.held_back && page.next_cursor.is_some());
                break;
            }
        }
    }
    // The type and the issuer registered at 1000, four anchors, one suspension.
    assert_eq!(times, [1000, 1000, 1001, 1002, 1003, 1004, 1005]);
    assert_eq!(kinds.first().copied(), Some("register_type"));
    assert_eq!(pages, 4);
    // A second page that starts one later than the first ended (one entry skipped).
    let page = w.department(0, u64::MAX, 2, Some(3));
    let r = client::verify_page_at(&page, &target, &w.trust_root, Some(2));
    assert_eq!(code(r), EXIT_INCOMPLETE);
    // A cursor past the index is refused by the server.
    let q = DepartmentQuery { from: None, to: None, limit: None, cursor: Some("99".into()) };
    assert!(matches!(department_answer(&w.node, MARKET, &q), Err(AuditError::BadCursor)));
    // Limits are clamped.
    assert_eq!(clamp_limit(Some(0)), 1);
    assert_eq!(clamp_limit(Some(usize::MAX)), MAX_LIMIT);
}

#[test]
fn a_credential_history_is_complete_and_a_hidden_status_change_is_caught() {
    let w = world();
    history(&w);
    let target = Target::Credential([1; 32]);
    let page = w.credential(&[1; 32], None);
    let v = client::verify_page(&page, &target, &w.trust_root).expect("verifies");
    let kinds: Vec<&str> = v.items.iter().map(|i| i.kind()).collect();
    assert_eq!(kinds, ["anchor_issuance", "change_status"]);
    let step = client::next_step(&target, &v, page.next_cursor.is_some()).expect("step");
    assert_eq!(step, Step::Done { range_final: false });
    // The suspension hidden: the page no longer reaches the counter and the node offers no
    // more, so the command refuses it.
    let mut bad = hide(&page, 1);
    bad.next_cursor = None;
    let v = client::verify_page(&bad, &target, &w.trust_root).expect("a page");
    let step = client::next_step(&target, &v, false);
    assert_eq!(exit_code(&step.expect_err("ended early")), EXIT_INCOMPLETE);
    // The anchor hidden: the history does not start at seq 0.
    let r = client::verify_page(&hide(&page, 0), &target, &w.trust_root);
    assert_eq!(code(r), EXIT_INCOMPLETE);
    // A credential anchored after the checkpoint has an empty, closed history there and the
    // node says more is coming.
    let later = w.credential(&[5; 32], None);
    assert!(later.items.is_empty() && later.held_back);
    client::verify_page(&later, &Target::Credential([5; 32]), &w.trust_root).expect("empty");
}
/// The command's whole fetch loop over loopback HTTP (`--all`, pages of 2): an honest node
/// passes; a node that hides one entry from its answers is caught with exit 7.
#[tokio::test]
async fn the_audit_command_over_http_catches_a_node_hiding_an_entry() {
    use axum::extract::{Path, Query, State};
    use axum::routing::get;

    let w = world();
    history(&w);
    type Shared = (Arc<NodeHandle>, bool);
    async fn department(
        State((node, hide)): State<Shared>,
        Path(id): Path<String>,
        Query(q): Query<DepartmentQuery>,
    ) -> axum::Json<api::AuditPage> {
        let mut page = department_answer(&node, &id, &q).expect("answer");
        // The dishonest node drops the anchor of time 1003 wherever it would appear.
        if let Some(i) = page.items.iter().position(|it| hide && it.time == 1003) {
            page.items.remove(i);
            page.index.as_mut().expect("index").item_proofs.remove(i);
        }
        axum::Json(page)
    }
    let serve = |hide: bool| {
        let app = axum::Router::new()
            .route("/v1/audit/department/{id}", get(department))
            .with_state((w.node.clone(), hide));
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            tokio::spawn(async move { axum::serve(listener, app).await });
            NodeClient::new(&url, std::time::Duration::from_secs(5)).expect("client")
        }
    };
    let target = market(0, 1005);
    let honest = serve(false).await;
    let v = fetch_and_verify(&honest, &target, &w.trust_root, 2, true).await.expect("honest");
    let times: Vec<u64> = v.items.iter().map(|i| i.time).collect();
    assert_eq!(times, [1000, 1000, 1001, 1002, 1003, 1004]);
    assert!(v.complete && v.range_final, "closed by the record at 1005");
    assert_eq!(v.checkpoint_heights.len(), 3);

    let dishonest = serve(true).await;
    let e = fetch_and_verify(&dishonest, &target, &w.trust_root, 2, true)
        .await
        .expect_err("a hidden entry is caught");
    assert_eq!(exit_code(&e), EXIT_INCOMPLETE, "{e:#}");
    let msg = format!("{e:#}");
    assert!(msg.contains("gap in the audit index") && msg.contains("遗漏"), "{msg}");
}
