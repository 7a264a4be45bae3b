//! Governance on real processes: a 4-department devnet adds a fifth department, which then
//! votes (commits continue with a founder down, which needs its vote); then removes a founder;
//! an unsafe removal is refused before commit; entries submitted throughout all commit; the
//! removed department's node, restarted, catches up across both validator-set changes (Malachite
//! issue #1240) to the same roots; the validator chain served by a node follows from genesis to
//! today's set.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use certledger_core::lightclient::{follow, GovernanceTrust, ValidatorChain};
use certledger_core::sig::SecretKey;
use certledger_node::config::{Genesis, GenesisDepartment};
use certledger_node::tools::governance::ChangeFile;
use common::{entry, id_hex, TestNet, CHAIN_ID};

fn change(add: Vec<GenesisDepartment>, remove: &[&str], effective: u64) -> ChangeFile {
    ChangeFile {
        chain_id: CHAIN_ID.into(),
        add,
        remove: remove.iter().map(|s| (*s).to_owned()).collect(),
        effective_height: effective,
        approvals: vec![],
    }
}

async fn follow_chain(net: &TestNet, i: usize) -> (u64, Vec<String>) {
    let (s, v) = net.get(i, "/v1/validator-chain").await;
    assert_eq!(s, 200, "{v}");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(v["chain"].as_str().unwrap())
        .unwrap();
    let chain = ValidatorChain::from_bytes_checked(&bytes).unwrap();
    let genesis = Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let followed = follow(&GovernanceTrust::from_genesis(&genesis.to_core()), &chain).unwrap();
    let ids = followed.trust.departments.iter().map(|d| d.id.clone()).collect();
    (chain.steps.len() as u64, ids)
}

async fn wait_chain(net: &TestNet, i: usize, steps: u64) -> Vec<String> {
    for _ in 0..150 {
        let (s, v) = net.get(i, "/v1/validator-chain").await;
        if s == 200 && v["steps"].as_u64() == Some(steps) {
            return follow_chain(net, i).await.1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("node {i} does not serve a validator chain with {steps} steps");
}

/// Whether node `key`'s precommit is in the certificate of block `h` as node `i` stores it.
async fn signed_block(net: &TestNet, i: usize, h: u64, key: &SecretKey) -> bool {
    let (s, b) = net.get(i, &format!("/v1/blocks/{h}")).await;
    assert_eq!(s, 200, "{b}");
    let me = hex::encode(key.public_key().0);
    b["certificate"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|sig| sig["address"].as_str() == Some(me.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_and_remove_departments_with_commits_continuing() {
    // Node 4 holds a department key that genesis does not name: it follows until added.
    let mut net = TestNet::new(4, 1);
    net.edit_config(4, |c| c.validator = true);
    net.start_all();
    net.wait_height(&[0, 1, 2, 3, 4], 2, Duration::from_secs(120)).await;

    // Entries flow throughout, to nodes 1-3 in turn (node 0 goes down later).
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        let urls = net.urls.clone();
        let admins = net.admins.clone();
        let client = net.client.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let i = 1 + n % 3;
                let e = entry(&admins[i], format!("flow {n}").as_bytes());
                let body = serde_json::json!({
                    "entry": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&e)
                });
                let sent = client.post(format!("{}/v1/entries", urls[i])).json(&body).send().await;
                if sent.is_ok_and(|r| r.status().as_u16() == 202) {
                    ids.push(id_hex(&e));
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            ids
        })
    };

    // 1. Add dept-4 (node 4's key), approved by 3 of 4 founders (the quorum of 4).
    let admin4 = SecretKey::generate(&mut rand::rngs::OsRng);
    let (eff_add, node4_key) = {
        let n = &net;
        let h = n.height(1).await;
        let dept4 = GenesisDepartment {
            id: "dept-4".into(),
            name_zh: "部门4".into(),
            name_en: "Department 4".into(),
            node_key: n.keys[4].public_key(),
            admin_keys: vec![admin4.public_key()],
        };
        let mut c = change(vec![dept4], &[], h + 4);
        for a in &n.admins[0..3] {
            c.approve(a).unwrap();
        }
        let e = c.entry(&n.admins[0]).unwrap();
        let (s, v) = n.submit(1, &e).await;
        assert_eq!(s, 202, "{v}");
        let committed = n.wait_committed(1, &id_hex(&e), Duration::from_secs(60)).await;
        eprintln!("add committed at {committed}");
        (c.effective_height, n.keys[4].clone())
    };
    {
        let n = &net;
        n.wait_height(&[0, 1, 2, 3, 4], eff_add + 2, Duration::from_secs(120)).await;
        // Blocks from the effective height on are decided by the 5-member set: headers carry
        // its hash, and the new department's precommits appear in certificates.
        let (_, before) = n.get(1, &format!("/v1/blocks/{}", eff_add - 1)).await;
        let (_, after) = n.get(1, &format!("/v1/blocks/{eff_add}")).await;
        assert_ne!(before["header"]["validators_hash"], after["header"]["validators_hash"]);
        assert_eq!(
            before["header"]["next_validators_hash"], after["header"]["validators_hash"],
            "the block before the change announces the next set"
        );
        let mut signed = false;
        for h in eff_add..=eff_add + 2 {
            signed |= signed_block(n, 1, h, &node4_key).await;
        }
        assert!(signed, "dept-4 precommitted none of heights {eff_add}..={}", eff_add + 2);
        assert!(!signed_block(n, 1, eff_add - 1, &node4_key).await);
        let ids = wait_chain(n, 2, 1).await;
        assert_eq!(ids, ["dept-0", "dept-1", "dept-2", "dept-3", "dept-4"]);
    }

    // 2. With dept-0 down, 4 of 5 remain: exactly the quorum, so progress needs dept-4's vote.
    let h_kill = {
        let n = &mut net;
        n.kill(0);
        n.height(1).await
    };
    {
        let n = &net;
        n.wait_height(&[1, 2, 3, 4], h_kill + 3, Duration::from_secs(120)).await;
        assert!(signed_block(n, 1, h_kill + 2, &node4_key).await);
    }

    // 3. Remove dept-0: with 5 members the quorum is 4 approvals (dept-4's admin among them).
    let eff_remove = {
        let n = &net;
        let h = n.height(1).await;
        let mut c = change(vec![], &["dept-0"], h + 4);
        for a in &n.admins[1..4] {
            c.approve(a).unwrap();
        }
        // Three approvals of five are refused before commit.
        let e = c.entry(&n.admins[1]).unwrap();
        let (s, v) = n.submit(2, &e).await;
        assert_eq!(s, 422, "{v}");
        assert!(v["message"].as_str().unwrap().contains("two thirds"), "{v}");
        c.approve(&admin4).unwrap();
        let e = c.entry(&n.admins[1]).unwrap();
        let (s, v) = n.submit(2, &e).await;
        assert_eq!(s, 202, "{v}");
        n.wait_committed(2, &id_hex(&e), Duration::from_secs(60)).await;
        c.effective_height
    };
    {
        let n = &net;
        n.wait_height(&[1, 2, 3, 4], eff_remove + 2, Duration::from_secs(120)).await;
        let ids = wait_chain(n, 3, 2).await;
        assert_eq!(ids, ["dept-1", "dept-2", "dept-3", "dept-4"]);

        // 4. Removing one more would leave 3, which cannot tolerate a faulty member: refused.
        let h = n.height(1).await;
        let mut c = change(vec![], &["dept-2"], h + 4);
        for a in [&n.admins[1], &n.admins[2], &n.admins[3], &admin4] {
            c.approve(a).unwrap();
        }
        let e = c.entry(&n.admins[1]).unwrap();
        let (s, v) = n.submit(1, &e).await;
        assert_eq!(s, 422, "{v}");
        assert!(v["message"].as_str().unwrap().contains("at least 4 departments"), "{v}");
    }

    // 5. Every entry accepted while the set changed twice is committed.
    stop.store(true, Ordering::Relaxed);
    let ids = feeder.await.unwrap();
    let n = &mut net;
    assert!(ids.len() >= 10, "only {} entries were accepted", ids.len());
    for id in &ids {
        n.wait_committed(3, id, Duration::from_secs(60)).await;
    }

    // 6. The removed department's node restarts and catches up across both changes.
    n.start(0);
    let top = n.height(1).await;
    n.wait_height(&[0], top, Duration::from_secs(120)).await;
    let a = n.get(0, &format!("/v1/blocks/{top}")).await.1;
    let b = n.get(1, &format!("/v1/blocks/{top}")).await.1;
    assert_eq!(a["hash"], b["hash"]);
    assert_eq!(a["header"]["state_root"], b["header"]["state_root"]);
    assert_eq!(a["header"]["log_root"], b["header"]["log_root"]);
    // It follows without voting: no precommit of its own after the removal.
    let later = n.height(1).await;
    assert!(!signed_block(n, 1, later, &n.keys[0].clone()).await);
    assert_eq!(wait_chain(n, 0, 2).await, ["dept-1", "dept-2", "dept-3", "dept-4"]);
}
