//! Tests of the sled store: blocks and the entry index across reopen, the audit index, corrupted state nodes.

use certledger_core::codec::Encode as _;
use certledger_core::ledger::{EntryBody, LogLeaf, RegisterType, SignedEntry};
use certledger_core::sig::SecretKey;

use super::*;
use crate::server::context::BlockHeader;

fn entry(n: u8) -> Vec<u8> {
    SignedEntry::sign(
        &SecretKey::from_seed(&[n; 32]),
        "c",
        EntryBody::RegisterType(RegisterType {
            type_id: format!("t{n}"),
            name_zh: "类".into(),
            name_en: "T".into(),
            claims: vec![],
            validity_s: 1,
            holder_binding: false,
        }),
    )
    .to_bytes()
}

fn block(height: u64, entries: Vec<Vec<u8>>, log_size: u64) -> Block {
    Block {
        header: BlockHeader {
            chain_id: "c".into(),
            height,
            prev_block_hash: [0; 32],
            time: 1,
            proposer: [1; 32],
            entries_root: [2; 32],
            log_size,
            log_root: [3; 32],
            state_root: [4; 32],
            validators_hash: [5; 32],
            next_validators_hash: [5; 32],
        },
        entries,
    }
}

fn cert(b: &Block) -> StoredCertificate {
    StoredCertificate {
        height: b.header.height,
        round: 0,
        value_id: b.header.hash().0,
        signatures: vec![([1; 32], vec![2; 64])],
    }
}

#[test]
fn blocks_certificates_and_entry_index_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b1 = block(1, vec![entry(1), entry(2)], 2);
    let b2 = block(2, vec![entry(3)], 3);
    {
        let s = SledStore::open(dir.path()).expect("open");
        s.put_decided(&b1, &cert(&b1), None).expect("put");
        s.put_decided(&b2, &cert(&b2), None).expect("put");
        // A certificate for another block is refused.
        assert!(s.put_decided(&b2, &cert(&b1), None).is_err());
        s.put_checkpoint(2, "note").expect("checkpoint");
    }
    let s = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(s.max_height().expect("max"), Some(2));
    assert_eq!(s.min_height().expect("min"), Some(1));
    assert_eq!(s.block(1).expect("get"), Some(b1.clone()));
    assert_eq!(s.certificate(2).expect("get"), Some(cert(&b2)));
    let id = crate::server::exec::entry_id(&entry(3)).expect("id");
    let loc = s.entry_location(&id).expect("loc").expect("present");
    assert_eq!((loc.height, loc.index_in_block, loc.log_index), (2, 0, 2));
    let id = crate::server::exec::entry_id(&entry(2)).expect("id");
    assert_eq!(s.entry_location(&id).expect("loc").map(|l| l.log_index), Some(1));
    assert_eq!(s.latest_checkpoint().expect("cp"), Some((2, "note".into())));
    assert_eq!(s.block(3).expect("get"), None);
}

/// Bench, not a test (run with `--ignored --nocapture`): the per-item cost of an audit
/// answer, the old way (decode the item's whole block) and the new (read its indexed leaf),
/// for 100 items in one full block (2,000 entries). Prints JSON; asserts nothing about time.
#[test]
#[ignore = "bench: prints figures"]
fn bench_audit_leaf_reads() {
    use certledger_core::ledger::AnchorIssuance;
    let key = SecretKey::from_seed(&[1; 32]);
    let anchors: Vec<Vec<u8>> = (0..100u8)
        .map(|i| {
            SignedEntry::sign(
                &key,
                "c",
                EntryBody::AnchorIssuance(AnchorIssuance {
                    credential_id: [i; 32],
                    type_id: "t".into(),
                    commitment: [0; 32],
                    nonce: [i; 16],
                }),
            )
            .to_bytes()
        })
        .collect();
    let filler = |n: usize| {
        SignedEntry::sign(
            &key,
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: format!("t{n}"),
                name_zh: "类".repeat(80),
                name_en: "x".repeat(250),
                claims: vec![],
                validity_s: 1,
                holder_binding: false,
            }),
        )
        .to_bytes()
    };
    let mut entries = anchors;
    entries.extend((0..1900).map(filler));
    let n = entries.len() as u64;
    let b = block(1, entries, n);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SledStore::open(dir.path()).expect("open");
    s.put_decided(&b, &cert(&b), None).expect("put");
    let block_bytes = s.block_bytes(1).expect("bytes").map_or(0, |v| v.len());
    let t = std::time::Instant::now();
    for i in 0..100usize {
        let blk = s.block(1).expect("block").expect("stored");
        let entry = SignedEntry::from_bytes_checked(&blk.entries[i]).expect("entry");
        let _ = LogLeaf { height: 1, time: blk.header.time, entry }.to_bytes();
    }
    let old = t.elapsed();
    let t = std::time::Instant::now();
    for i in 0..100u64 {
        assert!(s.audit_leaf(i).expect("leaf").is_some());
    }
    let new = t.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "items": 100,
            "block_bytes": block_bytes,
            "decode_whole_block_ms": old.as_secs_f64() * 1e3,
            "indexed_leaf_ms": new.as_secs_f64() * 1e3,
        })
    );
}

#[test]
fn the_audit_index_follows_departments_and_credentials_and_is_backfilled() {
    use certledger_core::ledger::{
        AnchorIssuance, ChangeStatus, CredentialStatus, RegisterIssuer, RetireIssuer,
    };
    let admin = SecretKey::from_seed(&[1; 32]);
    let issuer = SecretKey::from_seed(&[2; 32]);
    let stranger = SecretKey::from_seed(&[3; 32]);
    let sign = |k: &SecretKey, b: EntryBody| SignedEntry::sign(k, "c", b).to_bytes();
    let register = sign(
        &admin,
        EntryBody::RegisterIssuer(RegisterIssuer {
            department: "edu".into(),
            issuer_key: issuer.public_key(),
            types: vec!["t".into()],
            valid_from: 0,
            valid_until: 100,
            name_zh: "z".into(),
            name_en: "e".into(),
        }),
    );
    let anchor = |id: u8, k: &SecretKey| {
        sign(
            k,
            EntryBody::AnchorIssuance(AnchorIssuance {
                credential_id: [id; 32],
                type_id: "t".into(),
                commitment: [0; 32],
                nonce: [id; 16],
            }),
        )
    };
    let revoke = sign(
        &issuer,
        EntryBody::ChangeStatus(ChangeStatus {
            credential_id: [7; 32],
            status: CredentialStatus::Revoked,
            reason: 4,
            nonce: [0; 16],
        }),
    );
    let retire = sign(
        &admin,
        EntryBody::RetireIssuer(RetireIssuer { issuer_key: issuer.public_key(), at: 50 }),
    );
    // Height 1 (time 1): registration and an anchor in the same block; an anchor by an
    // unregistered key is indexed by credential only. Height 2 (time 1): another anchor.
    // Height 3 (time 2): revocation and retirement.
    let mut b1 = block(1, vec![register, anchor(7, &issuer), anchor(9, &stranger)], 3);
    b1.header.time = 1;
    let mut b2 = block(2, vec![anchor(8, &issuer)], 4);
    b2.header.time = 1;
    let mut b3 = block(3, vec![revoke, retire, entry(5)], 7);
    b3.header.time = 2;
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |s: &SledStore| {
        let all = s.audit_department("edu", 0, u64::MAX, None, 100).expect("dept");
        let kinds: Vec<(AuditKind, u64)> =
            all.iter().map(|r| (r.kind, r.location.log_index)).collect();
        assert_eq!(
            kinds,
            vec![
                (AuditKind::RegisterIssuer, 0),
                (AuditKind::AnchorIssuance, 1),
                (AuditKind::AnchorIssuance, 3),
                (AuditKind::ChangeStatus, 4),
                (AuditKind::RetireIssuer, 5),
            ]
        );
        // Time range, limit and cursor.
        let t2 = s.audit_department("edu", 2, 3, None, 100).expect("range");
        assert_eq!(t2.len(), 2);
        let page = s.audit_department("edu", 0, u64::MAX, None, 2).expect("page");
        assert_eq!(page.len(), 2);
        let after = page.last().map(|r| (r.time, r.location.log_index));
        let rest = s.audit_department("edu", 0, u64::MAX, after, 100).expect("rest");
        assert_eq!(rest.first().map(|r| r.location.log_index), Some(3));
        assert_eq!(rest.len(), 3);
        assert!(s.audit_department("ed", 0, u64::MAX, None, 100).expect("prefix").is_empty());
        let c7 = s.audit_credential(&[7; 32], None, 100).expect("cred");
        assert_eq!(
            c7.iter().map(|r| r.kind).collect::<Vec<_>>(),
            vec![AuditKind::AnchorIssuance, AuditKind::ChangeStatus]
        );
        assert_eq!(s.audit_credential(&[7; 32], Some(1), 100).expect("after").len(), 1);
        assert_eq!(s.audit_credential(&[9; 32], None, 100).expect("stranger").len(), 1);
        let idx = s.issuer_index(&issuer.public_key().0).expect("issuer").expect("known");
        assert_eq!((idx.department.as_str(), idx.location.log_index), ("edu", 0));
        // Every indexed entry's log leaf is readable by log index without its block.
        for (b, first) in [(&b1, 0u64), (&b2, 3), (&b3, 4)] {
            for (i, bytes) in b.entries.iter().enumerate() {
                let log_index = first + i as u64;
                let got = s.audit_leaf(log_index).expect("leaf");
                if log_index == 6 {
                    assert_eq!(got, None, "entry 6 is not audit-indexed");
                    continue;
                }
                let entry = SignedEntry::from_bytes_checked(bytes).expect("entry");
                let want =
                    LogLeaf { height: b.header.height, time: b.header.time, entry }.to_bytes();
                assert_eq!(got, Some(want), "log index {log_index}");
            }
        }
    };
    {
        let s = SledStore::open(dir.path()).expect("open");
        for b in [&b1, &b2, &b3] {
            s.put_decided(b, &cert(b), None).expect("put");
        }
        check(&s);
        // A store written before the index existed: forget the index, reopen, rebuilt.
        for t in [&s.issuers, &s.audit_dept, &s.audit_cred, &s.meta] {
            t.clear().expect("clear");
        }
        assert!(s.audit_credential(&[7; 32], None, 100).expect("cleared").is_empty());
        s.db.flush().expect("flush");
    }
    let s = SledStore::open(dir.path()).expect("reopen");
    check(&s);
}

#[test]
fn a_flipped_byte_in_a_stored_state_node_is_caught_at_open_and_on_read() {
    use certledger_core::ledger::{Department, Genesis};
    use certledger_core::ledger_store::LedgerStore as _;

    use std::sync::Arc;

    use crate::server::exec::{CoreLedger, Executor as _};

    let dir = tempfile::tempdir().expect("tempdir");
    let admin = SecretKey::from_seed(&[1; 32]);
    let genesis = Genesis {
        chain_id: "c".into(),
        genesis_time: 0,
        departments: vec![Department {
            id: "education".into(),
            name_zh: "教育部".into(),
            name_en: "Ministry of Education".into(),
            node_key: SecretKey::from_seed(&[3; 32]).public_key(),
            admin_keys: vec![admin.public_key()],
        }],
    };
    let ty = |n: u32| {
        SignedEntry::sign(
            &admin,
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: format!("t{n}"),
                name_zh: "类".into(),
                name_en: "T".into(),
                claims: vec![],
                validity_s: 1,
                holder_binding: false,
            }),
        )
        .to_bytes()
    };
    let store = SledStore::open(dir.path()).expect("open");
    let mut l = CoreLedger::open(&genesis, store.clone(), Arc::default()).expect("genesis");
    for h in 1..=3u32 {
        let entries: Vec<Vec<u8>> = (0..10).map(|i| ty(h * 100 + i)).collect();
        l.apply_block(u64::from(h), u64::from(h), &entries).expect("apply");
    }
    let root = l.outcome().state_root;
    drop(l);
    // An intact store reopens at its head.
    let l = CoreLedger::open(&genesis, store.clone(), Arc::default()).expect("reopen");
    assert_eq!(l.outcome().state_root, root);
    drop(l);
    // Flip one byte of a node below the root: reads through it are refused, not served.
    let child = match store.smt_node(&root).expect("read").expect("root") {
        smt::Node::Internal { left, .. } => left,
        _ => panic!("30 keys under a leaf root"),
    };
    let flip = |hash: &[u8; 32]| {
        let mut v = store.smt_nodes.get(hash).expect("get").expect("stored").to_vec();
        let last = v.len() - 1;
        v[last] ^= 1;
        store.smt_nodes.insert(hash, v).expect("put");
    };
    flip(&child);
    let err = store.smt_node(&child).expect_err("damaged node refused");
    assert!(err.to_string().contains("damaged store"), "{err}");
    // Flip one byte of the root node: opening the ledger says the store is damaged.
    flip(&root);
    let err = CoreLedger::open(&genesis, store, Arc::default()).expect_err("damaged");
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[test]
fn evidence_is_kept_once_per_department_and_size_pages_in_id_order_and_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = |n: u16| {
        let mut k = [0u8; 32];
        k[..2].copy_from_slice(&n.to_be_bytes());
        k
    };
    {
        let s = SledStore::open(dir.path()).expect("open");
        assert_eq!(s.put_evidence(&id(2), "dept-a", 5, b"two").expect("put"), EvidencePut::Stored);
        // The same (department, size) slot again, under another id: kept only once.
        assert_eq!(
            s.put_evidence(&id(3), "dept-a", 5, b"three").expect("put"),
            EvidencePut::Duplicate
        );
        // The same id again.
        assert_eq!(
            s.put_evidence(&id(2), "dept-b", 6, b"two").expect("put"),
            EvidencePut::Duplicate
        );
        // Another size, another department: new slots. A department name that is a prefix of
        // another does not share its slots.
        assert_eq!(s.put_evidence(&id(1), "dept-a", 6, b"one").expect("put"), EvidencePut::Stored);
        assert_eq!(s.put_evidence(&id(4), "dept-", 5, b"four").expect("put"), EvidencePut::Stored);
    }
    let s = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(s.evidence_count().expect("count"), 3);
    assert_eq!(s.evidence(&id(2)).expect("get"), Some(b"two".to_vec()));
    assert_eq!(s.evidence(&id(3)).expect("get"), None);
    let page = s.evidence_page(None, 2).expect("page");
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id(1), id(2)]);
    let page = s.evidence_page(Some(&id(2)), 10).expect("page");
    assert_eq!(page, vec![StoredEvidence { id: id(4), bytes: b"four".to_vec() }]);
    // Filled up to the cap, the next one is refused as full.
    for n in 10..(10 + MAX_STORED_EVIDENCE as u16 - 3) {
        assert_eq!(
            s.put_evidence(&id(n), "dept-c", u64::from(n), b"x").expect("put"),
            EvidencePut::Stored
        );
    }
    assert_eq!(s.evidence_count().expect("count"), MAX_STORED_EVIDENCE as u64);
    assert_eq!(s.put_evidence(&id(9000), "dept-d", 1, b"y").expect("put"), EvidencePut::Full);
    assert_eq!(s.evidence_page(None, usize::MAX).expect("page").len(), MAX_STORED_EVIDENCE);
}
