//! Genesis and the department set (binary layout in `specs/ledger.md`).

use std::collections::BTreeSet;

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::sig::PublicKey;

use super::*;

/// A government department: one validator node key and its admin keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    /// ASCII slug such as `public-security` (`[a-z0-9-]`, 1..=64 bytes).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The department node's consensus and checkpoint key.
    pub node_key: PublicKey,
    /// Keys that may sign the department's registry entries (1..=16, strictly ascending).
    pub admin_keys: Vec<PublicKey>,
}

impl Encode for Department {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.id)
            .str(&self.name_zh)
            .str(&self.name_en)
            .put(&self.node_key)
            .seq(&self.admin_keys);
    }
}

impl Decode for Department {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let d = Self {
            id: read_slug(r, "department id")?,
            name_zh: r.string(MAX_NAME, "department name_zh")?,
            name_en: r.string(MAX_NAME, "department name_en")?,
            node_key: PublicKey::decode(r)?,
            admin_keys: r.seq(MAX_ADMIN_KEYS, "department admin keys")?,
        };
        if d.admin_keys.is_empty() || !strictly_ascending(&d.admin_keys) {
            return Err(DecodeError::NonCanonical("department admin keys"));
        }
        Ok(d)
    }
}

/// The founding document of a ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain id (also the checkpoint origin), printable ASCII, 1..=64 bytes.
    pub chain_id: String,
    /// Unix seconds; no block may be earlier.
    pub genesis_time: u64,
    /// The founding departments, strictly ascending by id, with distinct node keys.
    pub departments: Vec<Department>,
}

impl Encode for Genesis {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.chain_id).u64(self.genesis_time).seq(&self.departments);
    }
}

impl Decode for Genesis {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: read_token(r, "chain id")?,
            genesis_time: r.u64("genesis time")?,
            departments: r.seq(MAX_DEPARTMENTS, "genesis departments")?,
        })
    }
}

/// The rules every department set (genesis, after a change, a light client's trust) obeys.
pub(crate) fn check_department_set(depts: &[Department]) -> Result<(), &'static str> {
    if depts.is_empty() {
        return Err("the validator set would be empty");
    }
    if depts.len() > MAX_DEPARTMENTS as usize {
        return Err("too many departments");
    }
    let ids: Vec<&str> = depts.iter().map(|d| d.id.as_str()).collect();
    if !strictly_ascending(&ids) {
        return Err("department ids must be distinct and ascending");
    }
    let mut keys = BTreeSet::new();
    for d in depts {
        if !keys.insert(d.node_key) {
            return Err("two departments share a node key");
        }
        check_department(d)?;
    }
    Ok(())
}

fn check_department(d: &Department) -> Result<(), &'static str> {
    if !is_slug(&d.id) {
        return Err("department id must be a slug");
    }
    if d.name_zh.len() > MAX_NAME as usize || d.name_en.len() > MAX_NAME as usize {
        return Err("department name too long");
    }
    if d.admin_keys.is_empty()
        || d.admin_keys.len() > MAX_ADMIN_KEYS as usize
        || !strictly_ascending(&d.admin_keys)
    {
        return Err("department admin keys must be 1..=16, ascending");
    }
    Ok(())
}
