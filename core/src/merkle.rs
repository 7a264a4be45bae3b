//! The RFC 9162 Merkle log (RFC 6962 hashing): tree heads, inclusion and consistency proofs.
//!
//! Hashing (`specs/merkle.md`): a leaf is `SHA-256(0x00 || data)`, an interior node is
//! `SHA-256(0x01 || left || right)`, and the empty tree is `SHA-256("")`. A tree of `n > 1`
//! leaves splits at `k`, the largest power of two below `n`.
//!
//! Storage: a log is a set of *perfect subtree hashes*: `(level, index)` names the hash of the
//! complete subtree over leaves `[index << level, (index + 1) << level)`. Appending a leaf adds at
//! most `1 + log2(n)` of them ([`append_nodes`]), and every root, inclusion proof and consistency
//! proof for any size `<= n` is built from them ([`root_at`], [`inclusion_proof`],
//! [`consistency_proof`]) with `O(log n)` reads and at most `O(log² n)` hash computations (only
//! subtrees on the right edge of the requested tree are not stored and are recombined). Nothing
//! is ever rehashed from the leaves. The node implements [`HashStore`] over its database;
//! [`MerkleLog`] is the in-memory implementation (about `2n` stored hashes).
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) follows RFC 9162 sections
//! 2.1.3.2 and 2.1.4.2 and needs nothing but the proof.

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// A SHA-256 hash: a leaf hash, node hash or tree root.
pub type Hash = [u8; 32];

/// Longest proof path accepted (a tree of `2^64` leaves needs at most 64 hashes).
pub const MAX_PROOF_LEN: usize = 64;

/// The RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index is not below the tree size")]
    IndexOutOfRange,
    /// The sizes are impossible (second size smaller than the first).
    #[error("invalid tree sizes: {0}")]
    InvalidSizes(&'static str),
    /// The proof has the wrong number of hashes for its index and sizes.
    #[error("proof has the wrong length: {0}")]
    WrongLength(&'static str),
    /// The recomputed root does not match the expected one.
    #[error("recomputed root does not match: {0}")]
    RootMismatch(&'static str),
}

/// Why a proof or root could not be built from a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The requested size is larger than the log.
    #[error("requested tree size is larger than the log")]
    SizeBeyondLog,
    /// The leaf index is not below the requested size.
    #[error("leaf index is not below the tree size")]
    IndexOutOfRange,
    /// The first size of a consistency proof is larger than the second.
    #[error("first tree size is larger than the second")]
    InvalidSizes,
    /// The store lacks a subtree hash it should have (corrupt or truncated storage).
    #[error("the store is missing a subtree hash")]
    MissingHash,
    /// The log already holds `u64::MAX` leaves.
    #[error("the log is full")]
    Full,
}

/// Read access to a log's perfect subtree hashes.
///
/// `subtree(level, index)` is the hash of the complete subtree over leaves
/// `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes. A store of `size`
/// leaves must answer for every such subtree that lies entirely below `size`.
pub trait HashStore {
    /// Number of leaves in the log.
    fn size(&self) -> u64;
    /// The hash of a perfect subtree, or `None` if the store does not have it.
    fn subtree(&self, level: u32, index: u64) -> Option<Hash>;
}

/// One perfect subtree hash to persist after an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Height of the subtree (0 = leaf).
    pub level: u32,
    /// Position of the subtree among those of its level.
    pub index: u64,
    /// The subtree hash.
    pub hash: Hash,
}

/// The subtree hashes that appending `leaf` to `store` creates: the leaf itself (level 0) and
/// every subtree it completes, lowest first. The caller writes all of them atomically, together
/// with the new size `store.size() + 1`.
pub fn append_nodes(store: &impl HashStore, leaf: Hash) -> Result<Vec<StoredNode>, LogError> {
    let index = store.size();
    let next = index.checked_add(1).ok_or(LogError::Full)?;
    let mut out = vec![StoredNode { level: 0, index, hash: leaf }];
    let mut hash = leaf;
    let mut level = 0u32;
    // The subtree at `level` ending with the new leaf is complete while the new size is a
    // multiple of 2^(level + 1); its left sibling is already stored.
    while level < 63 && next % (1u64 << (level + 1)) == 0 {
        let right_index = index >> level;
        // `right_index` is odd here, so its left sibling is `right_index ^ 1`.
        let left = store.subtree(level, right_index ^ 1).ok_or(LogError::MissingHash)?;
        hash = node_hash(&left, &hash);
        level += 1;
        out.push(StoredNode { level, index: index >> level, hash });
    }
    Ok(out)
}

/// Largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The hash of the (possibly imperfect) subtree over `[start, start + n)`, where `start` is a
/// multiple of the largest power of two `<= n`, as it always is inside an RFC 6962 tree.
fn subtree_hash(store: &impl HashStore, start: u64, n: u64) -> Result<Hash, LogError> {
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return store.subtree(level, start >> level).ok_or(LogError::MissingHash);
    }
    // Walk down the right edge: perfect left parts are stored, the rest is recombined.
    let mut lefts = Vec::new();
    let (mut s, mut m) = (start, n);
    while !m.is_power_of_two() {
        let k = split_point(m);
        let level = k.trailing_zeros();
        lefts.push(store.subtree(level, s >> level).ok_or(LogError::MissingHash)?);
        s += k;
        m -= k;
    }
    let level = m.trailing_zeros();
    let mut hash = store.subtree(level, s >> level).ok_or(LogError::MissingHash)?;
    for left in lefts.iter().rev() {
        hash = node_hash(left, &hash);
    }
    Ok(hash)
}

/// The root of the first `size` leaves of the log.
pub fn root_at(store: &impl HashStore, size: u64) -> Result<Hash, LogError> {
    if size > store.size() {
        return Err(LogError::SizeBeyondLog);
    }
    subtree_hash(store, 0, size)
}

/// The RFC 9162 inclusion proof (`PATH`) of leaf `index` in the tree of the first `size` leaves,
/// ordered from the leaf's sibling up to the root's child.
pub fn inclusion_proof(
    store: &impl HashStore,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LogError> {
    if size > store.size() {
        return Err(LogError::SizeBeyondLog);
    }
    if index >= size {
        return Err(LogError::IndexOutOfRange);
    }
    // Top-down: at each split record the sibling subtree, then reverse.
    let mut path = Vec::new();
    let (mut start, mut n, mut m) = (0u64, size, index);
    while n > 1 {
        let k = split_point(n);
        if m < k {
            path.push(subtree_hash(store, start + k, n - k)?);
            n = k;
        } else {
            path.push(subtree_hash(store, start, k)?);
            start += k;
            m -= k;
            n -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The RFC 9162 consistency proof (`PROOF`) between the trees of the first `size1` and `size2`
/// leaves, `0 < size1 <= size2`. Empty when `size1 == size2`. There is no proof from the empty
/// tree (every tree extends it; see [`verify_consistency`]).
pub fn consistency_proof(
    store: &impl HashStore,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, LogError> {
    if size2 > store.size() {
        return Err(LogError::SizeBeyondLog);
    }
    if size1 == 0 || size1 > size2 {
        return Err(LogError::InvalidSizes);
    }
    if size1 == size2 {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start, start + n), b), unrolled top-down, then reversed.
    let mut path = Vec::new();
    let (mut start, mut n, m0) = (0u64, size2, size1);
    let mut m = m0;
    let mut whole = true;
    loop {
        if m == n {
            if !whole {
                path.push(subtree_hash(store, start, n)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            path.push(subtree_hash(store, start + k, n - k)?);
            n = k;
        } else {
            path.push(subtree_hash(store, start, k)?);
            start += k;
            m -= k;
            n -= k;
            whole = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// An in-memory append-only log: every perfect subtree hash, by level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerkleLog {
    levels: Vec<Vec<Hash>>,
}

impl HashStore for MerkleLog {
    fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    fn subtree(&self, level: u32, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.get(usize::try_from(level).ok()?)?.get(index).copied()
    }
}

impl MerkleLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (see [`leaf_hash`]) and returns its index.
    pub fn append(&mut self, leaf: Hash) -> Result<u64, LogError> {
        let index = self.size();
        for node in append_nodes(self, leaf)? {
            let level = usize::try_from(node.level).map_err(|_| LogError::Full)?;
            while self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            if let Some(l) = self.levels.get_mut(level) {
                l.push(node.hash);
            }
        }
        Ok(index)
    }

    /// Appends the leaf `data` (hashed with [`leaf_hash`]) and returns its index.
    pub fn append_data(&mut self, data: &[u8]) -> Result<u64, LogError> {
        self.append(leaf_hash(data))
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        HashStore::size(self)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.subtree(0, index)
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        // The whole log is always answerable from its own store.
        root_at(self, self.size()).unwrap_or_else(|_| empty_root())
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, LogError> {
        root_at(self, size)
    }

    /// The inclusion proof of leaf `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, LogError> {
        Ok(InclusionProof { index, size, path: inclusion_proof(self, index, size)? })
    }

    /// The consistency proof from size `size1` to size `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof, LogError> {
        Ok(ConsistencyProof { size1, size2, path: consistency_proof(self, size1, size2)? })
    }
}

/// Verifies an RFC 9162 inclusion proof of `leaf` (a leaf hash) at `index` in the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength("longer than 64 hashes"));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength("too many hashes"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength("too few hashes"));
    }
    if &r != root {
        return Err(ProofError::RootMismatch("inclusion"));
    }
    Ok(())
}

/// Verifies an RFC 9162 consistency proof that the tree of `size2` leaves with root `root2`
/// extends the tree of `size1` leaves with root `root1`.
///
/// `size1 == size2` needs an empty proof and equal roots. `size1 == 0` is refused: every tree
/// extends the empty tree, so there is nothing to prove, and a caller that asks has a bug (this
/// is also what the transparency-dev vectors require).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::InvalidSizes("size2 is smaller than size1"));
    }
    if size1 == 0 {
        return Err(ProofError::InvalidSizes("no consistency proof from the empty tree"));
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength("longer than 64 hashes"));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength("equal sizes need an empty proof"));
        }
        if root1 != root2 {
            return Err(ProofError::RootMismatch("equal sizes with different roots"));
        }
        return Ok(());
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::WrongLength("empty proof"));
    };
    // If size1 is a power of two, the old root is itself the first node of the path.
    let (start, rest) = if size1.is_power_of_two() { (root1, proof) } else { (first, rest) };
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength("too many hashes"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength("too few hashes"));
    }
    if &fr != root1 {
        return Err(ProofError::RootMismatch("old root"));
    }
    if &sr != root2 {
        return Err(ProofError::RootMismatch("new root"));
    }
    Ok(())
}

/// An inclusion proof on the wire: `u64 index || u64 size || u32 count || count × 32 bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the proven leaf.
    pub index: u64,
    /// Size of the tree the proof is for.
    pub size: u64,
    /// Sibling hashes, leaf to root.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Verifies the proof for `leaf` (a leaf hash) against `root`.
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), ProofError> {
        verify_inclusion(leaf, self.index, self.size, &self.path, root)
    }
}

/// A consistency proof on the wire: `u64 size1 || u64 size2 || u32 count || count × 32 bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub size1: u64,
    /// Size of the newer tree.
    pub size2: u64,
    /// The proof hashes.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Verifies the proof between `root1` and `root2`.
    pub fn verify(&self, root1: &Hash, root2: &Hash) -> Result<(), ProofError> {
        verify_consistency(self.size1, self.size2, root1, root2, &self.path)
    }
}

const MAX_PATH: u32 = MAX_PROOF_LEN as u32;

impl Encode for InclusionProof {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.index).u64(self.size).seq(&self.path);
    }
}

impl Decode for InclusionProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let index = r.u64("inclusion proof index")?;
        let size = r.u64("inclusion proof size")?;
        let path = r.seq(MAX_PATH, "inclusion proof path")?;
        Ok(Self { index, size, path })
    }
}

impl Encode for ConsistencyProof {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.size1).u64(self.size2).seq(&self.path);
    }
}

impl Decode for ConsistencyProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let size1 = r.u64("consistency proof size1")?;
        let size2 = r.u64("consistency proof size2")?;
        let path = r.seq(MAX_PATH, "consistency proof path")?;
        Ok(Self { size1, size2, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6962 definition, recursively from the leaves: the oracle for the stored form.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn stored_roots_match_recursive_definition() {
        let mut log = MerkleLog::new();
        let mut leaves = Vec::new();
        assert_eq!(log.root(), empty_root());
        for i in 0..70u32 {
            let h = leaf_hash(&i.to_be_bytes());
            assert_eq!(log.append(h), Ok(u64::from(i)));
            leaves.push(h);
            for size in 0..=leaves.len() {
                assert_eq!(log.root_at(size as u64), Ok(mth(&leaves[..size])));
            }
        }
        assert_eq!(log.root_at(71), Err(LogError::SizeBeyondLog));
        assert_eq!(log.inclusion_proof(70, 70).map(|_| ()), Err(LogError::IndexOutOfRange));
        assert_eq!(log.consistency_proof(5, 4).map(|_| ()), Err(LogError::InvalidSizes));
    }

    #[test]
    fn every_proof_verifies_for_small_trees() {
        let mut log = MerkleLog::new();
        for i in 0..40u32 {
            log.append_data(&i.to_be_bytes()).expect("append");
        }
        for n in 1..=40u64 {
            let root = log.root_at(n).expect("root");
            for i in 0..n {
                let p = log.inclusion_proof(i, n).expect("proof");
                let leaf = log.leaf(i).expect("leaf");
                assert_eq!(p.verify(&leaf, &root), Ok(()), "i={i} n={n}");
                assert!(p.verify(&leaf, &log.root_at(n - 1).expect("root")).is_err() || n == 1);
            }
            assert_eq!(log.consistency_proof(0, n).map(|_| ()), Err(LogError::InvalidSizes));
            for m in 1..=n {
                let p = log.consistency_proof(m, n).expect("proof");
                let r1 = log.root_at(m).expect("root");
                assert_eq!(p.verify(&r1, &root), Ok(()), "m={m} n={n}");
            }
        }
    }

    #[test]
    fn missing_store_hash_is_an_error_not_a_panic() {
        struct Holey;
        impl HashStore for Holey {
            fn size(&self) -> u64 {
                11
            }
            fn subtree(&self, _: u32, _: u64) -> Option<Hash> {
                None
            }
        }
        assert_eq!(root_at(&Holey, 10), Err(LogError::MissingHash));
        assert_eq!(inclusion_proof(&Holey, 3, 10), Err(LogError::MissingHash));
        assert_eq!(consistency_proof(&Holey, 3, 10), Err(LogError::MissingHash));
        assert_eq!(append_nodes(&Holey, [0; 32]), Err(LogError::MissingHash));
    }
}
