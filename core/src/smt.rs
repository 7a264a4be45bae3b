//! A sparse Merkle tree over 256-bit keys: the authenticated map behind the ledger state.
//!
//! `specs/state.md` is normative. In short:
//! - keys are 32 bytes, read most significant bit first; bit `d` picks the child at depth `d`
//!   (`0` left, `1` right);
//! - `value_hash = SHA-256(value)`, `leaf = SHA-256(0x00 || key || value_hash)`,
//!   `node = SHA-256(0x01 || left || right)`, and the empty subtree is
//!   `EMPTY = SHA-256(0x02)` at every depth;
//! - the tree is *compressed*: a subtree holding exactly one leaf hashes to that leaf's hash
//!   (the leaf sits at the shallowest depth where its prefix is unique), so a path is
//!   `O(log n)` long for hashed keys, and an update touches `O(log n)` nodes;
//! - a proof lists the siblings on the path from the root to the terminal (an empty subtree or
//!   a leaf), with a 256-bit bitmap marking the non-empty ones; only those hashes are sent.
//!
//! Nodes live behind the small [`SmtStore`] trait (content-addressed by hash) so the node can
//! keep them in sled; [`MemStore`] is the in-memory `BTreeMap` implementation.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// A 32-byte SHA-256 output (also the key type).
pub type Hash = [u8; 32];

/// Greatest depth of the tree (number of key bits).
pub const MAX_DEPTH: usize = 256;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
const EMPTY_PREFIX: u8 = 0x02;

/// Why a proof was refused or the tree could not be updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmtError {
    /// The proof is inconsistent in itself (bad depth, bitmap, or terminal).
    #[error("malformed proof: {0}")]
    Malformed(&'static str),
    /// The proof does not show the claimed value (or absence) for the key.
    #[error("the proof is for another key or value: {0}")]
    WrongClaim(&'static str),
    /// The recomputed root differs from the expected root.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// The store lacks a node that the root refers to.
    #[error("store is missing a node: {0}")]
    MissingNode(&'static str),
    /// The backing store failed.
    #[error("store failure: {0}")]
    Store(&'static str),
}

/// The hash of the empty subtree, `SHA-256(0x02)`, at every depth.
pub fn empty_hash() -> Hash {
    Sha256::digest([EMPTY_PREFIX]).into()
}

/// `SHA-256(value)`.
pub fn value_hash(value: &[u8]) -> Hash {
    Sha256::digest(value).into()
}

/// `SHA-256(0x00 || key || value_hash)`.
pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(key);
    h.update(value_hash);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Bit `depth` of `key`, most significant bit first. `depth` must be below 256.
fn bit(key: &Hash, depth: usize) -> bool {
    key.get(depth / 8).is_some_and(|b| (b >> (7 - (depth % 8))) & 1 == 1)
}

/// Number of leading bits that `a` and `b` share.
fn common_prefix_len(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return i * 8 + diff.leading_zeros() as usize;
        }
    }
    MAX_DEPTH
}

/// A stored tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Node {
    /// A leaf: the full key and the hash of its value.
    Leaf {
        /// The key.
        key: Hash,
        /// `SHA-256(value)`.
        value_hash: Hash,
    },
    /// An internal node with at least two leaves below it.
    Internal {
        /// Left child hash (bit 0), possibly [`empty_hash`].
        left: Hash,
        /// Right child hash (bit 1), possibly [`empty_hash`].
        right: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value_hash } => leaf_hash(key, value_hash),
            Node::Internal { left, right } => node_hash(left, right),
        }
    }
}

impl Encode for Node {
    fn encode(&self, w: &mut Writer) {
        match self {
            Node::Leaf { key, value_hash } => w.u8(0).put(key).put(value_hash),
            Node::Internal { left, right } => w.u8(1).put(left).put(right),
        };
    }
}

impl Decode for Node {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("smt node tag")? {
            0 => Ok(Node::Leaf {
                key: r.array("smt leaf key")?,
                value_hash: r.array("smt value hash")?,
            }),
            1 => Ok(Node::Internal { left: r.array("smt left")?, right: r.array("smt right")? }),
            tag => Err(DecodeError::UnknownTag { what: "smt node", tag }),
        }
    }
}

/// Where the tree keeps its nodes (by hash) and values (by key).
///
/// Nodes are content-addressed; no two positions of a tree share a node (every leaf carries its
/// full key), so a replaced node can be deleted at once.
pub trait SmtStore {
    /// The node with this hash.
    fn node(&self, hash: &Hash) -> Result<Option<Node>, SmtError>;
    /// Stores a node under its hash.
    fn put_node(&mut self, hash: Hash, node: Node) -> Result<(), SmtError>;
    /// Deletes a node.
    fn delete_node(&mut self, hash: &Hash) -> Result<(), SmtError>;
    /// The value stored for a key.
    fn value(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError>;
    /// Stores the value of a key.
    fn put_value(&mut self, key: Hash, value: Vec<u8>) -> Result<(), SmtError>;
    /// Deletes the value of a key.
    fn delete_value(&mut self, key: &Hash) -> Result<(), SmtError>;
}

/// The in-memory store.
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    nodes: BTreeMap<Hash, Node>,
    values: BTreeMap<Hash, Vec<u8>>,
}

impl MemStore {
    /// Number of stored nodes (for tests of garbage-free updates).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

impl SmtStore for MemStore {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, SmtError> {
        Ok(self.nodes.get(hash).copied())
    }
    fn put_node(&mut self, hash: Hash, node: Node) -> Result<(), SmtError> {
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
        self.values.insert(key, value);
        Ok(())
    }
    fn delete_value(&mut self, key: &Hash) -> Result<(), SmtError> {
        self.values.remove(key);
        Ok(())
    }
}

/// A sparse Merkle tree over a store.
#[derive(Clone, Debug)]
pub struct Smt<S: SmtStore = MemStore> {
    store: S,
    root: Hash,
    empty: Hash,
    len: u64,
}

impl Default for Smt<MemStore> {
    fn default() -> Self {
        Self::new(MemStore::default())
    }
}

impl<S: SmtStore> Smt<S> {
    /// An empty tree over `store` (whose contents are ignored).
    pub fn new(store: S) -> Self {
        let empty = empty_hash();
        Self { store, root: empty, empty, len: 0 }
    }

    /// Reopens a tree whose nodes are already in `store`, at `root`, holding `len` keys.
    pub fn open(store: S, root: Hash, len: u64) -> Self {
        Self { store, root, empty: empty_hash(), len }
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Number of keys.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the tree holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, giving up the tree.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The value of `key`.
    pub fn get(&self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        self.store.value(key)
    }

    fn load(&self, hash: &Hash) -> Result<Node, SmtError> {
        self.store.node(hash)?.ok_or(SmtError::MissingNode("node referenced by the tree"))
    }

    fn put(&mut self, node: Node) -> Result<Hash, SmtError> {
        let h = node.hash();
        self.store.put_node(h, node)?;
        Ok(h)
    }

    /// Sets `key` to `value` (insert or update).
    pub fn insert(&mut self, key: Hash, value: Vec<u8>) -> Result<(), SmtError> {
        let vh = value_hash(&value);
        let existed = self.store.value(&key)?.is_some();
        let root = self.root;
        self.root = self.insert_at(root, 0, &key, &vh)?;
        self.store.put_value(key, value)?;
        if !existed {
            self.len = self.len.saturating_add(1);
        }
        Ok(())
    }

    /// Sets the value of a key that must exist; returns whether it existed (nothing changes
    /// otherwise).
    pub fn update(&mut self, key: Hash, value: Vec<u8>) -> Result<bool, SmtError> {
        if self.store.value(&key)?.is_none() {
            return Ok(false);
        }
        self.insert(key, value)?;
        Ok(true)
    }

    /// Removes `key`; returns its old value.
    pub fn remove(&mut self, key: &Hash) -> Result<Option<Vec<u8>>, SmtError> {
        let Some(old) = self.store.value(key)? else {
            return Ok(None);
        };
        let root = self.root;
        self.root = self.remove_at(root, 0, key)?;
        self.store.delete_value(key)?;
        self.len = self.len.saturating_sub(1);
        Ok(Some(old))
    }

    fn insert_at(
        &mut self,
        node: Hash,
        depth: usize,
        key: &Hash,
        vh: &Hash,
    ) -> Result<Hash, SmtError> {
        if node == self.empty {
            return self.put(Node::Leaf { key: *key, value_hash: *vh });
        }
        match self.load(&node)? {
            Node::Leaf { key: other, value_hash: other_vh } => {
                if other == *key {
                    self.store.delete_node(&node)?;
                    return self.put(Node::Leaf { key: *key, value_hash: *vh });
                }
                let new_leaf = self.put(Node::Leaf { key: *key, value_hash: *vh })?;
                let split = common_prefix_len(key, &other);
                if split < depth || split >= MAX_DEPTH {
                    return Err(SmtError::MissingNode("leaf outside its prefix"));
                }
                let old_leaf = leaf_hash(&other, &other_vh);
                let mut cur = if bit(key, split) {
                    self.put(Node::Internal { left: old_leaf, right: new_leaf })?
                } else {
                    self.put(Node::Internal { left: new_leaf, right: old_leaf })?
                };
                for d in (depth..split).rev() {
                    let empty = self.empty;
                    cur = if bit(key, d) {
                        self.put(Node::Internal { left: empty, right: cur })?
                    } else {
                        self.put(Node::Internal { left: cur, right: empty })?
                    };
                }
                Ok(cur)
            }
            Node::Internal { left, right } => {
                if depth >= MAX_DEPTH {
                    return Err(SmtError::MissingNode("internal node below the last level"));
                }
                self.store.delete_node(&node)?;
                if bit(key, depth) {
                    let right = self.insert_at(right, depth + 1, key, vh)?;
                    self.put(Node::Internal { left, right })
                } else {
                    let left = self.insert_at(left, depth + 1, key, vh)?;
                    self.put(Node::Internal { left, right })
                }
            }
        }
    }

    fn is_leaf(&self, hash: &Hash) -> Result<bool, SmtError> {
        if *hash == self.empty {
            return Ok(false);
        }
        Ok(matches!(self.load(hash)?, Node::Leaf { .. }))
    }

    fn remove_at(&mut self, node: Hash, depth: usize, key: &Hash) -> Result<Hash, SmtError> {
        if node == self.empty {
            return Ok(node);
        }
        match self.load(&node)? {
            Node::Leaf { key: other, .. } => {
                if other == *key {
                    self.store.delete_node(&node)?;
                    Ok(self.empty)
                } else {
                    Ok(node)
                }
            }
            Node::Internal { left, right } => {
                if depth >= MAX_DEPTH {
                    return Err(SmtError::MissingNode("internal node below the last level"));
                }
                let go_right = bit(key, depth);
                let (child, other) = if go_right { (right, left) } else { (left, right) };
                let new_child = self.remove_at(child, depth + 1, key)?;
                if new_child == child {
                    return Ok(node);
                }
                self.store.delete_node(&node)?;
                // Collapse: a subtree with a single leaf is that leaf.
                if new_child == self.empty && (other == self.empty || self.is_leaf(&other)?) {
                    return Ok(other);
                }
                if other == self.empty && self.is_leaf(&new_child)? {
                    return Ok(new_child);
                }
                let (l, r) = if go_right { (other, new_child) } else { (new_child, other) };
                self.put(Node::Internal { left: l, right: r })
            }
        }
    }

    /// A proof of the value (or absence) of `key` under the current root.
    pub fn prove(&self, key: &Hash) -> Result<SmtProof, SmtError> {
        let mut bitmap = [0u8; 32];
        let mut siblings = Vec::new();
        let mut node = self.root;
        let mut depth = 0usize;
        loop {
            if node == self.empty {
                return Ok(SmtProof {
                    depth: depth as u16,
                    bitmap,
                    siblings,
                    terminal: Terminal::Empty,
                });
            }
            match self.load(&node)? {
                Node::Leaf { key: k, value_hash } => {
                    return Ok(SmtProof {
                        depth: depth as u16,
                        bitmap,
                        siblings,
                        terminal: Terminal::Leaf { key: k, value_hash },
                    });
                }
                Node::Internal { left, right } => {
                    if depth >= MAX_DEPTH {
                        return Err(SmtError::MissingNode("internal node below the last level"));
                    }
                    let (next, sib) = if bit(key, depth) { (right, left) } else { (left, right) };
                    if sib != self.empty {
                        if let Some(b) = bitmap.get_mut(depth / 8) {
                            *b |= 0x80 >> (depth % 8);
                        }
                        siblings.push(sib);
                    }
                    node = next;
                    depth += 1;
                }
            }
        }
    }
}

/// What a proof's path ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Terminal {
    /// An empty subtree: the key is absent.
    Empty,
    /// A leaf: the key itself (membership) or another key with the same prefix (absence).
    Leaf {
        /// The leaf's key.
        key: Hash,
        /// The hash of its value.
        value_hash: Hash,
    },
}

/// A membership or non-membership proof.
///
/// Encoding (`specs/state.md`): `depth u16 (<= 256) || bitmap [32] || one 32-byte hash per set
/// bit, from depth 0 down || terminal` where terminal is `0x00` (empty) or `0x01 || key ||
/// value_hash`. Bits at or beyond `depth` must be zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtProof {
    depth: u16,
    bitmap: [u8; 32],
    siblings: Vec<Hash>,
    terminal: Terminal,
}

impl SmtProof {
    /// Number of levels on the path.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The non-empty sibling hashes, from the root down.
    pub fn siblings(&self) -> &[Hash] {
        &self.siblings
    }

    /// What the path ends in.
    pub fn terminal(&self) -> Terminal {
        self.terminal
    }

    /// Builds a proof from parts (for tests of tampering); [`SmtProof::verify`] checks it all.
    pub fn from_parts(
        depth: u16,
        bitmap: [u8; 32],
        siblings: Vec<Hash>,
        terminal: Terminal,
    ) -> Self {
        Self { depth, bitmap, siblings, terminal }
    }

    /// The bitmap of non-empty siblings (bit `d`, most significant first, is depth `d`).
    pub fn bitmap(&self) -> [u8; 32] {
        self.bitmap
    }

    fn bit_set(&self, d: usize) -> bool {
        bit(&self.bitmap, d)
    }

    fn check_shape(&self) -> Result<(), SmtError> {
        let depth = usize::from(self.depth);
        if depth > MAX_DEPTH {
            return Err(SmtError::Malformed("depth over 256"));
        }
        let set = self.bitmap.iter().map(|b| b.count_ones() as usize).sum::<usize>();
        if (depth..MAX_DEPTH).any(|d| self.bit_set(d)) {
            return Err(SmtError::Malformed("bitmap bit beyond the depth"));
        }
        if set != self.siblings.len() {
            return Err(SmtError::Malformed("sibling count differs from the bitmap"));
        }
        // Canonical compressed form: the deepest sibling is never empty (an empty sibling next
        // to a leaf or an empty subtree would have been collapsed).
        if depth > 0 && !self.bit_set(depth - 1) {
            return Err(SmtError::Malformed("deepest sibling is empty"));
        }
        Ok(())
    }

    /// Checks that under `root`, `key` maps to `value` (`Some`) or is absent (`None`).
    pub fn verify(&self, root: &Hash, key: &Hash, value: Option<&[u8]>) -> Result<(), SmtError> {
        self.check_shape()?;
        let depth = usize::from(self.depth);
        let mut cur = match (&self.terminal, value) {
            (Terminal::Empty, Some(_)) => return Err(SmtError::WrongClaim("key is absent")),
            (Terminal::Empty, None) => empty_hash(),
            (Terminal::Leaf { key: k, value_hash }, claimed) => {
                if common_prefix_len(k, key) < depth {
                    return Err(SmtError::Malformed("terminal leaf is off the key's path"));
                }
                match claimed {
                    Some(v) => {
                        if k != key {
                            return Err(SmtError::WrongClaim("key is absent"));
                        }
                        if *value_hash != self::value_hash(v) {
                            return Err(SmtError::WrongClaim("value differs"));
                        }
                    }
                    None => {
                        if k == key {
                            return Err(SmtError::WrongClaim("key is present"));
                        }
                    }
                }
                leaf_hash(k, value_hash)
            }
        };
        let empty = empty_hash();
        let mut sibs = self.siblings.iter().rev();
        for d in (0..depth).rev() {
            let sib = if self.bit_set(d) {
                *sibs.next().ok_or(SmtError::Malformed("too few siblings"))?
            } else {
                empty
            };
            cur = if bit(key, d) { node_hash(&sib, &cur) } else { node_hash(&cur, &sib) };
        }
        if cur == *root {
            Ok(())
        } else {
            Err(SmtError::RootMismatch)
        }
    }
}

impl Encode for SmtProof {
    fn encode(&self, w: &mut Writer) {
        w.u16(self.depth).fixed(&self.bitmap);
        for s in &self.siblings {
            w.fixed(s);
        }
        match &self.terminal {
            Terminal::Empty => {
                w.u8(0);
            }
            Terminal::Leaf { key, value_hash } => {
                w.u8(1).fixed(key).fixed(value_hash);
            }
        }
    }
}

impl Decode for SmtProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let depth = r.u16("smt proof depth")?;
        if usize::from(depth) > MAX_DEPTH {
            return Err(DecodeError::TooLong {
                what: "smt proof depth",
                len: depth.into(),
                max: 256,
            });
        }
        let bitmap: [u8; 32] = r.array("smt proof bitmap")?;
        if (usize::from(depth)..MAX_DEPTH).any(|d| bit(&bitmap, d)) {
            return Err(DecodeError::NonCanonical("smt proof bitmap"));
        }
        let n = bitmap.iter().map(|b| b.count_ones() as usize).sum::<usize>();
        let mut siblings = Vec::with_capacity(n);
        for _ in 0..n {
            siblings.push(r.array("smt proof sibling")?);
        }
        let terminal = match r.u8("smt proof terminal")? {
            0 => Terminal::Empty,
            1 => Terminal::Leaf {
                key: r.array("smt terminal key")?,
                value_hash: r.array("smt terminal value hash")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "smt proof terminal", tag }),
        };
        Ok(Self { depth, bitmap, siblings, terminal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_prefixes() {
        let mut k = [0u8; 32];
        k[0] = 0b1010_0000;
        assert!(bit(&k, 0));
        assert!(!bit(&k, 1));
        assert!(bit(&k, 2));
        assert_eq!(common_prefix_len(&k, &k), 256);
        assert_eq!(common_prefix_len(&k, &[0u8; 32]), 0);
        let mut j = k;
        j[31] ^= 1;
        assert_eq!(common_prefix_len(&k, &j), 255);
    }

    #[test]
    fn empty_tree_proves_absence() {
        let t = Smt::default();
        let p = t.prove(&[7; 32]).unwrap();
        assert_eq!(p.verify(&t.root(), &[7; 32], None), Ok(()));
        assert!(p.verify(&t.root(), &[7; 32], Some(b"x")).is_err());
    }

    #[test]
    fn removing_everything_frees_all_nodes() {
        let mut t = Smt::default();
        for i in 0..50u8 {
            t.insert(value_hash(&[i]), vec![i]).unwrap();
        }
        for i in 0..50u8 {
            t.insert(value_hash(&[i]), vec![i, i]).unwrap();
        }
        for i in 0..50u8 {
            assert_eq!(t.remove(&value_hash(&[i])).unwrap(), Some(vec![i, i]));
        }
        assert_eq!(t.root(), empty_hash());
        assert_eq!(t.store().node_count(), 0);
    }
}
