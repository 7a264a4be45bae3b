//! Privacy of identity attestations on the ledger (`specs/identity.md` §7).
//!
//! 1,000 synthetic people (names and 18-digit GB 11643 identity numbers with valid check digits,
//! from a fixed seed) are real-name verified and issued an identity attestation each. Everything
//! goes through `ledger::Ledger` exactly as a node commits it: the issuer's registration signed
//! by the department admin key, then `AnchorIssuance` entries signed by the issuer key, in
//! blocks. The dump is every log leaf, every value and node ever written to the state store
//! (through a recording `SmtStore`), and the ledger-visible part of every credential file (its
//! proofs, with a quorum checkpoint). The scanner then looks for
//!
//! - every claim value (name, identity number, region code, birth date in two spellings) as
//!   UTF-8, UTF-16LE and UTF-16BE bytes;
//! - a dictionary of digests of every identity number (both cases of a final `X`) and name:
//!   SHA-224/256/384/512, SHA-512/256, double SHA-256, the project's own anchor-commitment hash,
//!   and HMAC-SHA256, over the raw value, its JSON string, and the value with common salts (the
//!   chain id, the commitment tag, "certledger", the department and the type id) before, after
//!   and colon-separated; each digest as raw bytes, its first 16 bytes, lower and upper hex,
//!   base64 and base64url.
//!
//! The test asserts nothing is found, and that the identity number never appears in the
//! credential itself. A control ledger with deliberately leaky commitments (an unsalted SHA-256
//! of the identity number, a chain-id-salted SHA-512, an HMAC) and a name in a registry entry
//! must be caught by the same scanner, so the main assertion can fail.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use certledger_core::bundle::Proofs;
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::issuance::{self, COMMITMENT_TAG};
use certledger_core::ledger::{
    self, AnchorIssuance, CredentialRecord, Department, EntryBody, Genesis, IssuerRecord, Ledger,
    LogLeaf, Purpose, RegisterIssuer, RegisterVerifier, SignedEntry,
};
use certledger_core::ledger_store::MemLedgerStore;
use certledger_core::note::{LedgerCheckpoint, Note, NoteSigner};
use certledger_core::profiles::{self, IDENTITY_ATTESTATION};
use certledger_core::sig::SecretKey;
use certledger_core::smt::{Hash, Node, SmtError, SmtStore};
use certledger_core::testkit::{register_type, SeededRng, STANDARD_DEPARTMENTS};
use rand_core::RngCore as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha224, Sha256, Sha384, Sha512, Sha512_256};

const CHAIN: &str = "cn.gov.certledger.privacy";
const GENESIS_TIME: u64 = 1_767_225_600; // 2026-01-01
const PEOPLE: usize = 1000;
const PER_BLOCK: usize = 25;

// ---------------------------------------------------------------------------------------------
// Synthetic people

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "子涵", "浩然", "雨桐", "思远", "欣怡",
];
/// Administrative division codes (none is a substring of the decimal times and sizes here).
const REGIONS: &[&str] =
    &["110101", "310115", "440305", "330106", "510107", "420102", "320102", "370202", "500103"];

struct Person {
    name: String,
    id_number: String,
    region: &'static str,
    birth: (u32, u32, u32),
}

impl Person {
    fn birth_dashed(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.birth.0, self.birth.1, self.birth.2)
    }
    fn birth_compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.birth.0, self.birth.1, self.birth.2)
    }
    /// Age in whole years on 2026-01-01.
    fn age(&self) -> u32 {
        let (y, m, d) = self.birth;
        2026 - y - u32::from((m, d) > (1, 1))
    }
    fn claims(&self, level: u64) -> Value {
        json!({
            "real_name_verified": true,
            "assurance_level": level,
            "age_over_16": self.age() >= 16,
            "age_over_18": self.age() >= 18,
            "age_over_60": self.age() >= 60,
            "region": self.region,
            "name": self.name,
        })
    }
}

/// GB 11643 check character for the first 17 digits (ISO 7064 MOD 11-2).
fn check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn pick<'a, T>(rng: &mut SeededRng, items: &'a [T]) -> &'a T {
    &items[(rng.next_u32() as usize) % items.len()]
}

fn people(label: &str, n: usize) -> Vec<Person> {
    let mut rng = SeededRng::from_label(label);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let region = *pick(&mut rng, REGIONS);
        let year = 1940 + rng.next_u32() % 69;
        let month = 1 + rng.next_u32() % 12;
        let day = 1 + rng.next_u32() % 28;
        let seq = rng.next_u32() % 1000;
        let first17 = format!("{region}{year:04}{month:02}{day:02}{seq:03}");
        let id_number = format!("{first17}{}", check_char(&first17));
        if !seen.insert(id_number.clone()) {
            continue;
        }
        let name = format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN));
        out.push(Person { name, id_number, region, birth: (year, month, day) });
    }
    out
}

#[test]
fn check_digits_follow_gb_11643() {
    // The standard's published example.
    assert_eq!(check_char("11010519491231002"), 'X');
    for p in people("check digits", 200) {
        assert!(profiles::looks_like_id_number(&p.id_number), "{}", p.id_number);
        let (head, last) = p.id_number.split_at(17);
        assert_eq!(last.chars().next(), Some(check_char(head)));
        assert_eq!(&p.id_number[6..14], p.birth_compact());
    }
}

// ---------------------------------------------------------------------------------------------
// A ledger whose state store records everything written to it

#[derive(Default)]
struct RecordingStore {
    nodes: std::collections::BTreeMap<Hash, Node>,
    values: std::collections::BTreeMap<Hash, Vec<u8>>,
    written: Rc<RefCell<Vec<u8>>>,
}

impl SmtStore for RecordingStore {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, SmtError> {
        Ok(self.nodes.get(hash).copied())
    }
    fn put_node(&mut self, hash: Hash, node: Node) -> Result<(), SmtError> {
        let mut w = self.written.borrow_mut();
        w.extend_from_slice(&hash);
        w.extend_from_slice(&node.to_bytes());
        self.nodes.insert(hash, node);
        Ok(())
    }
    fn delete_node(&mut self, hash: &Hash) -> Result<(), SmtError> {
        self.nodes.remove(hash);
        Ok(())
    }
    fn value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        Ok(self.values.get(key).cloned())
    }
    fn put_value(&mut self, key: Hash, value: Vec<u8>) -> Result<(), SmtError> {
        let mut w = self.written.borrow_mut();
        w.extend_from_slice(&key);
        w.extend_from_slice(&value);
        self.values.insert(key, value);
        Ok(())
    }
    fn delete_value(&mut self, key: &Hash) -> Result<(), SmtError> {
        self.values.remove(key);
        Ok(())
    }
}

/// How an issuer computes the anchored commitment (the control replaces it with leaky ones).
type CommitFn = dyn Fn(usize, &Person, &AnchorIssuance) -> [u8; 32];

struct World {
    ledger: Ledger<MemLedgerStore<RecordingStore>>,
    written: Rc<RefCell<Vec<u8>>>,
    departments: Vec<(String, SecretKey, SecretKey)>,
    leaves: Vec<Vec<u8>>,
    pending: Vec<SignedEntry>,
    rng: SeededRng,
}

impl World {
    fn new(label: &str) -> Self {
        let mut rng = SeededRng::from_label(label);
        let mut departments = Vec::new();
        let mut founding = Vec::new();
        for (id, zh, en) in STANDARD_DEPARTMENTS {
            let node = SecretKey::generate(&mut rng);
            let admin = SecretKey::generate(&mut rng);
            founding.push(Department {
                id: (*id).to_owned(),
                name_zh: (*zh).to_owned(),
                name_en: (*en).to_owned(),
                node_key: node.public_key(),
                admin_keys: vec![admin.public_key()],
            });
            departments.push(((*id).to_owned(), node, admin));
        }
        let genesis = Genesis {
            chain_id: CHAIN.to_owned(),
            genesis_time: GENESIS_TIME,
            departments: founding,
        };
        let store = RecordingStore::default();
        let written = Rc::clone(&store.written);
        let ledger = Ledger::from_genesis_in(&genesis, MemLedgerStore::with_state(store)).unwrap();
        let mut world =
            Self { ledger, written, departments, leaves: Vec::new(), pending: Vec::new(), rng };
        for ty in profiles::ALL {
            let admin = world.admin(ty.issuing_department);
            world.submit(&admin, EntryBody::RegisterType(register_type(ty)));
        }
        world.commit();
        world
    }

    fn admin(&self, department: &str) -> SecretKey {
        self.departments.iter().find(|d| d.0 == department).unwrap().2.clone()
    }

    fn submit(&mut self, key: &SecretKey, body: EntryBody) {
        self.pending.push(SignedEntry::sign(key, CHAIN, body));
    }

    fn commit(&mut self) {
        let height = self.ledger.height() + 1;
        let time = self.ledger.time() + 5;
        let entries = std::mem::take(&mut self.pending);
        self.ledger.apply_block(height, time, &entries).unwrap();
        for entry in entries {
            self.leaves.push(LogLeaf { height, time, entry }.to_bytes());
        }
    }

    /// The public-security issuer, registered by the department admin as the node commits it.
    fn register_police_issuer(&mut self) -> SecretKey {
        let issuer = SecretKey::generate(&mut self.rng);
        let admin = self.admin("public-security");
        let valid_from = self.ledger.time();
        self.submit(
            &admin,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: "public-security".to_owned(),
                issuer_key: issuer.public_key(),
                types: vec![IDENTITY_ATTESTATION.id.to_owned()],
                valid_from,
                valid_until: valid_from + 5 * 365 * 86_400,
                name_zh: "公安部门身份认证签发机构".to_owned(),
                name_en: "Public security identity issuer".to_owned(),
            }),
        );
        self.commit();
        issuer
    }

    /// Issues every person an attestation (to a fresh holder key each), anchored in blocks.
    fn issue_all(
        &mut self,
        issuer: &SecretKey,
        people: &[Person],
        commit_fn: &CommitFn,
    ) -> Vec<issuance::Issued> {
        let mut issued = Vec::with_capacity(people.len());
        for (i, p) in people.iter().enumerate() {
            let holder = SecretKey::generate(&mut self.rng).public_key();
            let level = 2 + u64::from(self.rng.next_u32() % 3);
            let now = self.ledger.time();
            let mut one = issuance::issue(
                issuer,
                &IDENTITY_ATTESTATION,
                &p.claims(level),
                &holder,
                CHAIN,
                now,
                &mut self.rng,
            )
            .unwrap();
            one.anchor.commitment = commit_fn(i, p, &one.anchor);
            self.submit(issuer, EntryBody::AnchorIssuance(one.anchor.clone()));
            issued.push(one);
            if self.pending.len() == PER_BLOCK {
                self.commit();
            }
        }
        if !self.pending.is_empty() {
            self.commit();
        }
        issued
    }

    fn checkpoint(&self) -> String {
        let cp = LedgerCheckpoint {
            origin: CHAIN.to_owned(),
            size: self.ledger.log_size(),
            root: self.ledger.log_root(),
            height: self.ledger.height(),
            time: self.ledger.time(),
            state_root: self.ledger.state_root(),
        };
        let mut note = Note::new(&cp.to_body()).unwrap();
        for (id, node, _) in self.departments.iter().take(3) {
            note.sign(&NoteSigner::new(id, node.clone()).unwrap()).unwrap();
        }
        note.to_text()
    }

    /// The proofs a credential file carries (the ledger-visible part of it).
    fn proofs(&self, anchor: &AnchorIssuance, checkpoint: &str) -> Proofs {
        let key = ledger::credential_state_key(&anchor.credential_id);
        let record =
            CredentialRecord::from_bytes(&self.ledger.state_value(&key).unwrap().unwrap()).unwrap();
        let issuer_key = ledger::issuer_state_key(&record.issuer_key);
        let issuer_record =
            IssuerRecord::from_bytes(&self.ledger.state_value(&issuer_key).unwrap().unwrap())
                .unwrap();
        Proofs {
            anchor_leaf: self.leaves[record.log_index as usize].clone(),
            anchor_proof: self
                .ledger
                .inclusion_proof(record.log_index, self.ledger.log_size())
                .unwrap(),
            credential_proof: self.ledger.prove_state(&key).unwrap(),
            credential_record: record,
            issuer_record,
            issuer_proof: self.ledger.prove_state(&issuer_key).unwrap(),
            checkpoint: checkpoint.to_owned(),
        }
    }

    /// Every log leaf, every state write, and the proofs of every credential file.
    fn dump(&self, issued: &[issuance::Issued]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, leaf) in self.leaves.iter().enumerate() {
            // The recorded leaves are the ledger's own log.
            assert_eq!(
                self.ledger.log_leaf_hash(i as u64),
                Some(certledger_core::merkle::leaf_hash(leaf))
            );
            out.extend_from_slice(leaf);
        }
        assert_eq!(self.leaves.len() as u64, self.ledger.log_size());
        out.extend_from_slice(&self.written.borrow());
        let checkpoint = self.checkpoint();
        for one in issued {
            out.extend_from_slice(&self.proofs(&one.anchor, &checkpoint).to_bytes());
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner

/// The dump indexed by every 6-byte window, so each needle is one binary search.
struct Index<'a> {
    dump: &'a [u8],
    windows: Vec<(u64, u32)>,
}

const WINDOW: usize = 6;

fn window_key(bytes: &[u8]) -> u64 {
    bytes.iter().take(WINDOW).fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

impl<'a> Index<'a> {
    fn new(dump: &'a [u8]) -> Self {
        let mut windows: Vec<(u64, u32)> = (0..dump.len().saturating_sub(WINDOW - 1))
            .map(|i| (window_key(&dump[i..]), i as u32))
            .collect();
        windows.sort_unstable();
        Self { dump, windows }
    }

    fn contains(&self, needle: &[u8]) -> bool {
        assert!(needle.len() >= WINDOW, "needles are at least {WINDOW} bytes");
        let key = window_key(needle);
        let start = self.windows.partition_point(|(k, _)| *k < key);
        self.windows[start..]
            .iter()
            .take_while(|(k, _)| *k == key)
            .any(|(_, at)| self.dump[*at as usize..].starts_with(needle))
    }
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() })
        .collect()
}

/// The salts a careless implementation might use.
fn salts() -> Vec<String> {
    vec![
        CHAIN.to_owned(),
        COMMITMENT_TAG.to_owned(),
        "certledger".to_owned(),
        "public-security".to_owned(),
        IDENTITY_ATTESTATION.id.to_owned(),
    ]
}

/// Every digest of `secret` in the dictionary.
fn digests(secret: &str) -> Vec<Vec<u8>> {
    let mut preimages: Vec<Vec<u8>> =
        vec![secret.as_bytes().to_vec(), format!("\"{secret}\"").into_bytes()];
    for salt in salts() {
        preimages.push(format!("{salt}{secret}").into_bytes());
        preimages.push(format!("{secret}{salt}").into_bytes());
        preimages.push(format!("{salt}:{secret}").into_bytes());
    }
    let mut out = Vec::new();
    for p in &preimages {
        out.push(Sha256::digest(p).to_vec());
        out.push(Sha256::digest(Sha256::digest(p)).to_vec());
        out.push(Sha512::digest(p).to_vec());
        out.push(Sha384::digest(p).to_vec());
        out.push(Sha224::digest(p).to_vec());
        out.push(Sha512_256::digest(p).to_vec());
        if let Ok(text) = std::str::from_utf8(p) {
            out.push(issuance::commitment(text).to_vec());
        }
    }
    for salt in salts() {
        // HMAC-SHA256(key = salt, secret), as HKDF-Extract computes it.
        let (prk, _) = hkdf::Hkdf::<Sha256>::extract(Some(salt.as_bytes()), secret.as_bytes());
        out.push(prk.to_vec());
    }
    out
}

/// Every encoding of a digest the scanner looks for.
fn digest_needles(digest: &[u8]) -> Vec<Vec<u8>> {
    vec![
        digest.to_vec(),
        digest[..16].to_vec(),
        hex::encode(digest).into_bytes(),
        hex::encode_upper(digest).into_bytes(),
        STANDARD.encode(digest).into_bytes(),
        URL_SAFE_NO_PAD.encode(digest).into_bytes(),
    ]
}

/// What was found: `(person index, what)`.
fn scan(dump: &[u8], people: &[Person]) -> Vec<(usize, String)> {
    let index = Index::new(dump);
    let mut found = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let values = [
            ("name", p.name.clone()),
            ("id number", p.id_number.clone()),
            ("id number", p.id_number.to_lowercase()),
            ("region", p.region.to_owned()),
            ("birth date", p.birth_dashed()),
            ("birth date", p.birth_compact()),
        ];
        for (what, value) in &values {
            for (enc, bytes) in [
                ("UTF-8", value.as_bytes().to_vec()),
                ("UTF-16LE", utf16(value, false)),
                ("UTF-16BE", utf16(value, true)),
            ] {
                // Short values (a two-character name is 6 bytes of UTF-8) are still 6 bytes.
                if bytes.len() >= WINDOW && index.contains(&bytes) {
                    found.push((i, format!("{what} as {enc}")));
                }
            }
        }
        let mut secrets = vec![("id number", p.id_number.clone()), ("name", p.name.clone())];
        if p.id_number.ends_with('X') {
            secrets.push(("id number", p.id_number.to_lowercase()));
        }
        for (what, secret) in &secrets {
            for digest in digests(secret) {
                if digest_needles(&digest).iter().any(|n| index.contains(n)) {
                    found.push((i, format!("a digest of the {what}")));
                }
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_thousand_attestations_leave_no_claim_value_or_dictionary_hash_on_the_ledger() {
    let people = people("certledger privacy test people", PEOPLE);
    let mut world = World::new("certledger privacy test ledger");
    let issuer = world.register_police_issuer();
    let issued = world.issue_all(&issuer, &people, &|_, _, anchor| anchor.commitment);
    assert_eq!(issued.len(), PEOPLE);

    // Every anchor is the real salted commitment of the issuer-signed JWT.
    for one in &issued {
        let jwt = one.sd_jwt.split('~').next().unwrap();
        assert_eq!(one.anchor.commitment, issuance::commitment(jwt));
    }

    let dump = world.dump(&issued);
    assert!(dump.len() > 1_000_000, "the dump is suspiciously small: {} bytes", dump.len());
    let found = scan(&dump, &people);
    assert!(found.is_empty(), "the ledger dump leaks: {:?}", &found[..found.len().min(20)]);

    // The identity number is nowhere in the credential either: not in the compact SD-JWT, not
    // in its decoded JWT parts or disclosures, not as a digest. (The name and region are there,
    // salted, for the holder to disclose.)
    for (one, p) in issued.iter().zip(&people) {
        let mut credential = one.sd_jwt.as_bytes().to_vec();
        for part in one.sd_jwt.split(['~', '.']) {
            if let Ok(raw) = URL_SAFE_NO_PAD.decode(part) {
                credential.extend_from_slice(&raw);
            }
        }
        let hits = scan(&credential, std::slice::from_ref(p));
        assert!(
            hits.iter().all(|(_, what)| !what.contains("id number") && !what.contains("birth")),
            "the credential carries {hits:?}"
        );
        assert!(
            hits.iter().any(|(_, what)| what == "name as UTF-8"),
            "the scanner should see the name inside the credential's disclosure"
        );
    }
}

#[test]
fn issuers_refuse_an_identity_number_as_a_claim_value() {
    let p = &people("refuse", 1)[0];
    let mut claims = p.claims(3);
    claims["name"] = Value::String(p.id_number.clone());
    let issuer = SecretKey::from_seed(&[1; 32]);
    let holder = SecretKey::from_seed(&[2; 32]).public_key();
    let mut rng = SeededRng::from_label("refuse");
    let refused = issuance::issue(
        &issuer,
        &IDENTITY_ATTESTATION,
        &claims,
        &holder,
        CHAIN,
        GENESIS_TIME,
        &mut rng,
    );
    assert!(refused.is_err());
}

#[test]
fn control_the_scanner_catches_leaky_commitments_and_plain_values() {
    let people = people("certledger privacy control people", 40);
    let mut world = World::new("certledger privacy control ledger");
    let issuer = world.register_police_issuer();
    let leaky: &CommitFn = &|i, p, anchor| match i {
        // An unsalted hash of the identity number.
        3 => Sha256::digest(p.id_number.as_bytes()).into(),
        // A chain-id-salted SHA-512, truncated to the anchor's 32 bytes.
        11 => {
            let d = Sha512::digest(format!("{CHAIN}{}", p.id_number).as_bytes());
            d[..32].try_into().unwrap()
        }
        // An HMAC keyed with the chain id.
        17 => {
            hkdf::Hkdf::<Sha256>::extract(Some(CHAIN.as_bytes()), p.id_number.as_bytes()).0.into()
        }
        // An unsalted hash of the name.
        23 => Sha256::digest(p.name.as_bytes()).into(),
        _ => anchor.commitment,
    };
    let issued = world.issue_all(&issuer, &people, leaky);
    // A registry entry that names a person in clear text (UTF-8).
    let admin = world.admin("public-security");
    world.submit(
        &admin,
        EntryBody::RegisterVerifier(RegisterVerifier {
            verifier_id: "leaky-counter".to_owned(),
            department: "public-security".to_owned(),
            name_zh: format!("{}的窗口", people[29].name),
            name_en: "Leaky counter".to_owned(),
            verifier_key: SecretKey::from_seed(&[9; 32]).public_key(),
            purposes: vec![Purpose { id: "p".to_owned(), claims: vec!["region".to_owned()] }],
        }),
    );
    world.commit();
    let mut dump = world.dump(&issued);
    // A UTF-16 identity number and birth date, as a careless export might add.
    dump.extend_from_slice(&utf16(&people[31].id_number, false));
    dump.extend_from_slice(&utf16(&people[37].birth_dashed(), true));

    let found = scan(&dump, &people);
    let who: BTreeSet<usize> = found.iter().map(|(i, _)| *i).collect();
    let has = |i: usize, what: &str| found.iter().any(|(j, w)| *j == i && w.contains(what));
    assert!(has(3, "digest of the id number"), "{found:?}");
    assert!(has(11, "digest of the id number"), "{found:?}");
    assert!(has(17, "digest of the id number"), "{found:?}");
    assert!(has(23, "digest of the name"), "{found:?}");
    assert!(has(29, "name as UTF-8"), "{found:?}");
    assert!(has(31, "id number as UTF-16LE"), "{found:?}");
    assert!(has(37, "birth date as UTF-16BE"), "{found:?}");
    // Everything else reported is explained by a value another person shares with a leaked
    // one (a name, or the region code inside person 31's UTF-16 identity number): the scanner
    // does not simply match everything.
    let leaky = [3, 11, 17, 23, 29, 31, 37];
    for (i, what) in &found {
        let explained = leaky.contains(i)
            || (what.contains("name")
                && [&people[23].name, &people[29].name].contains(&&people[*i].name))
            || (what == "region as UTF-16LE" && people[*i].region == people[31].region);
        assert!(explained, "person {i} reported without a leak: {what}");
    }
    assert!(who.len() < people.len() / 2, "{found:?}");
}
