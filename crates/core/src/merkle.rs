//! Merkle trees of a period's conversion records: the `detailRoot` an attester signs in a
//! performance agreement's report (`PactumPerformance`, `Report.detailRoot`).
//!
//! The tree is OpenZeppelin's `StandardMerkleTree` (`@openzeppelin/merkle-tree` 1.0.8), byte for
//! byte, so that an auditor recomputes a period's root from its records with that standard tool,
//! and a partner checks a conversion's proof with it or on chain with `MerkleProof.verify`:
//!
//! - a leaf is a record `[conversionId, occurredAt, revenue]` of encoding
//!   `["string", "uint64", "uint256"]` ([`LEAF_ENCODING`]), hashed twice:
//!   `keccak256(keccak256(abi.encode(conversionId, occurredAt, revenue)))` ([`leaf_hash`]);
//! - leaves are sorted by hash, ascending (the library's default `sortLeaves: true`);
//! - the tree is the library's array: a complete binary tree with the root at 0, the children of
//!   node `i` at `2i + 1` and `2i + 2`, and the `n` leaves in the last `n` slots in REVERSE sorted
//!   order (the smallest hash is the last node);
//! - an inner node hashes its two children in ascending order ([`node_hash`], commutative), as
//!   `MerkleProof.sol` does, so a proof is the list of siblings from the leaf up, without
//!   left/right flags.
//!
//! `tools/merkle-fixtures/generate.mjs` builds trees with the library itself, and
//! `tests/merkle_oz.rs` checks roots, node arrays and proofs equal to them.
//!
//! A period without records has no tree (the library refuses zero leaves, and so does
//! [`Tree::build`]): its `detailRoot` is [`EMPTY_ROOT`], `bytes32(0)`, which proves nothing, and no
//! conversion of it has a proof. The contract accepts any `detailRoot`; a report of zero units
//! with a zero root is what an attester submits for an empty period ([`period_root`]).

use alloy::{
    primitives::{keccak256, B256, U256},
    sol_types::SolValue,
};

/// The ABI types of a leaf's values, as OpenZeppelin's library takes them
/// (`StandardMerkleTree.of(values, LEAF_ENCODING)`).
pub const LEAF_ENCODING: [&str; 3] = ["string", "uint64", "uint256"];

/// The `detailRoot` of a period without records: `bytes32(0)`, the root of no tree.
pub const EMPTY_ROOT: B256 = B256::ZERO;

/// The longest conversion id accepted, in characters.
pub const MAX_CONVERSION_ID_LEN: usize = 64;

/// One conversion as the attester reports it: a leaf's values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// The tracker's id of the conversion: pseudonymous (an order number, a UUID), never personal
    /// data ([`validate_conversion_id`]), since it is disclosed to whoever asks for its proof.
    pub conversion_id: String,
    /// When it happened, Unix seconds (the period it counts in follows from this).
    pub occurred_at: u64,
    /// The revenue it brought, in the agreement's token's base units.
    pub revenue: U256,
}

impl Record {
    /// The record's leaf hash ([`leaf_hash`]).
    pub fn leaf_hash(&self) -> B256 {
        leaf_hash(&self.conversion_id, self.occurred_at, self.revenue)
    }

    /// Checks the record's conversion id ([`validate_conversion_id`]).
    pub fn validate(&self) -> Result<(), RecordError> {
        validate_conversion_id(&self.conversion_id)
    }
}

/// Why a conversion record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The conversion id is empty.
    #[error("the conversion id is empty")]
    Empty,
    /// The conversion id is longer than [`MAX_CONVERSION_ID_LEN`] characters.
    #[error(
        "the conversion id is {len} characters long; at most {MAX_CONVERSION_ID_LEN} are accepted"
    )]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The conversion id contains `@`: it looks like an e-mail address, which is personal data.
    #[error(
        "the conversion id contains '@' and looks like an e-mail address; send a pseudonymous id \
         (an order number, a UUID) instead"
    )]
    LooksLikeEmail,
    /// The conversion id contains whitespace (a person's name, free text).
    #[error("the conversion id contains whitespace; send a pseudonymous id instead")]
    Whitespace,
    /// The conversion id contains a character outside `A-Z a-z 0-9 . _ : -`.
    #[error("the conversion id contains {0:?}; only A-Z, a-z, 0-9 and . _ : - are accepted")]
    InvalidChar(char),
    /// The conversion id is words of letters only joined by `.`, `_` or `-` (`john.smith`,
    /// `Jane_Doe`): it looks like a person's name or an e-mail's local part.
    #[error(
        "the conversion id looks like a person's name (letters-only words joined by '.', '_' or \
         '-'); send a pseudonymous id instead"
    )]
    LooksLikeName,
    /// `occurred_at` is past what the ledger stores (a signed 64-bit number of seconds).
    #[error("occurred_at {0} is out of range (at most {max})", max = i64::MAX)]
    OccurredAtOutOfRange(u64),
}

/// Checks that a conversion id is pseudonymous and fits the ledger: 1 to 64 characters of
/// `A-Z a-z 0-9 . _ : -`, not an e-mail (`@`), no whitespace, and not letters-only words joined by
/// `.`, `_` or `-` (`john.smith`, `Jane_Doe`, `mary-ann-lee`).
///
/// A conversion id is disclosed with its proof to anyone holding the period's root, so it must
/// not identify a person. The name rule is a heuristic for the common mistakes (a customer's name
/// or an e-mail's local part sent as the id); it cannot recognise every name, and lets through a
/// single word (`deadbeef` is hex) and anything with a digit or a `:` (`ord-10023`, `shop:eu`, a
/// UUID).
pub fn validate_conversion_id(id: &str) -> Result<(), RecordError> {
    if id.is_empty() {
        return Err(RecordError::Empty);
    }
    // The specific refusals first, so the error says what is wrong rather than "invalid char".
    if id.contains('@') {
        return Err(RecordError::LooksLikeEmail);
    }
    if id.chars().any(char::is_whitespace) {
        return Err(RecordError::Whitespace);
    }
    if let Some(c) =
        id.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(RecordError::InvalidChar(c));
    }
    // All ASCII from here: bytes are characters.
    if id.len() > MAX_CONVERSION_ID_LEN {
        return Err(RecordError::TooLong { len: id.len() });
    }
    // Letters and separators only, and at least two words: every word is letters only.
    let letters_and_separators =
        id.bytes().all(|b| b.is_ascii_alphabetic() || matches!(b, b'.' | b'_' | b'-'));
    if letters_and_separators && id.split(['.', '_', '-']).filter(|w| !w.is_empty()).count() >= 2 {
        return Err(RecordError::LooksLikeName);
    }
    Ok(())
}

/// A leaf: `keccak256(keccak256(abi.encode(conversionId, occurredAt, revenue)))`, as
/// `StandardMerkleTree.leafHash` computes it for [`LEAF_ENCODING`].
pub fn leaf_hash(conversion_id: &str, occurred_at: u64, revenue: U256) -> B256 {
    // `abi_encode_params`: the values as a function's arguments (`abi.encode(a, b, c)`), not as one
    // tuple (which would add a leading offset word, the string being dynamic).
    let encoded = (conversion_id, occurred_at, revenue).abi_encode_params();
    keccak256(keccak256(encoded))
}

/// An inner node: the keccak256 of its children in ascending order (`MerkleProof.sol`'s
/// commutative hash).
pub fn node_hash(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// The root a proof leads to from `leaf` (`MerkleProof.processProof`).
pub fn process_proof(leaf: B256, proof: &[B256]) -> B256 {
    proof.iter().fold(leaf, |node, &sibling| node_hash(node, sibling))
}

/// Whether `proof` proves `leaf` part of the tree of `root` (`MerkleProof.verify`).
pub fn verify(root: B256, leaf: B256, proof: &[B256]) -> bool {
    process_proof(leaf, proof) == root
}

/// The node indices a proof of node `node_index` lists, from the leaf up: each ancestor's
/// sibling. Empty for the root. With it, a store of a tree's nodes answers a proof in one lookup
/// of these indices.
pub fn proof_indices(mut node_index: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(usize::BITS as usize);
    while node_index > 0 {
        // Odd: a left child, its sibling is the next; even: a right child, the previous.
        out.push(if node_index % 2 == 1 { node_index + 1 } else { node_index - 1 });
        node_index = (node_index - 1) / 2;
    }
    out
}

/// The `detailRoot` of a period whose records have these leaves: the tree's root, or
/// [`EMPTY_ROOT`] when there are none.
pub fn period_root(leaves: Vec<B256>) -> B256 {
    Tree::build(leaves).map_or(EMPTY_ROOT, |t| t.root())
}

/// Why a tree could not be built or a proof made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A tree has at least one leaf (a period without records has [`EMPTY_ROOT`] and no tree).
    #[error("a Merkle tree needs at least one leaf")]
    Empty,
    /// The node index is not one of the tree's leaves.
    #[error("node {index} is not a leaf of this tree (its leaves are nodes {first} to {last})")]
    NotALeaf {
        /// The index asked for.
        index: usize,
        /// The first leaf's node index.
        first: usize,
        /// The last leaf's node index.
        last: usize,
    },
}

/// A built tree: OpenZeppelin's node array (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// `2n - 1` nodes: the root at 0, the leaves in the last `n`, in descending hash order.
    nodes: Vec<B256>,
}

impl Tree {
    /// Builds the tree of these leaves (in any order; they are sorted, as the library does).
    /// Refuses an empty list ([`TreeError::Empty`]).
    pub fn build(mut leaves: Vec<B256>) -> Result<Self, TreeError> {
        let n = leaves.len();
        if n == 0 {
            return Err(TreeError::Empty);
        }
        leaves.sort_unstable();
        let mut nodes = vec![B256::ZERO; 2 * n - 1];
        // The library puts sorted leaf i at node `len - 1 - i`: the leaves reversed.
        for (slot, leaf) in nodes[n - 1..].iter_mut().zip(leaves.into_iter().rev()) {
            *slot = leaf;
        }
        for i in (0..n - 1).rev() {
            nodes[i] = node_hash(nodes[2 * i + 1], nodes[2 * i + 2]);
        }
        Ok(Self { nodes })
    }

    /// Builds the tree of these records' leaves ([`Record::leaf_hash`]).
    pub fn from_records(records: &[Record]) -> Result<Self, TreeError> {
        Self::build(records.iter().map(Record::leaf_hash).collect())
    }

    /// The root: the period's `detailRoot`.
    pub fn root(&self) -> B256 {
        // `build` makes at least one node.
        self.nodes.first().copied().unwrap_or(EMPTY_ROOT)
    }

    /// How many leaves the tree has (at least one).
    pub fn len(&self) -> usize {
        self.nodes.len().div_ceil(2)
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The whole node array, as the library's `dump().tree`.
    pub fn nodes(&self) -> &[B256] {
        &self.nodes
    }

    /// Node `index`, if the tree has it.
    pub fn node(&self, index: usize) -> Option<B256> {
        self.nodes.get(index).copied()
    }

    /// The node index of the first leaf (the largest hash); the leaves are the nodes from here to
    /// the end.
    pub fn first_leaf_index(&self) -> usize {
        self.len() - 1
    }

    /// The leaves as they sit in the node array (descending hash order), the first at node
    /// [`Tree::first_leaf_index`].
    pub fn leaves(&self) -> &[B256] {
        &self.nodes[self.first_leaf_index()..]
    }

    /// The node index of `leaf`, if it is one of the tree's leaves (a binary search).
    pub fn leaf_index(&self, leaf: &B256) -> Option<usize> {
        let leaves = self.leaves();
        // Descending order: search with the comparison reversed.
        leaves.binary_search_by(|probe| leaf.cmp(probe)).ok().map(|i| i + self.first_leaf_index())
    }

    /// The proof of the leaf at node `node_index`: its ancestors' siblings, from the leaf up (the
    /// library's `getProof`).
    pub fn proof(&self, node_index: usize) -> Result<Vec<B256>, TreeError> {
        let first = self.first_leaf_index();
        if node_index < first || node_index >= self.nodes.len() {
            return Err(TreeError::NotALeaf {
                index: node_index,
                first,
                last: self.nodes.len() - 1,
            });
        }
        Ok(proof_indices(node_index).into_iter().map(|i| self.nodes[i]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> Record {
        Record {
            conversion_id: format!("ord-{i}"),
            occurred_at: 1_700_000_000 + i,
            revenue: U256::from(i) * U256::from(1_000_000u64),
        }
    }

    #[test]
    fn leaf_is_double_keccak_of_the_argument_encoding() {
        let r = Record {
            conversion_id: "ord-10023".into(),
            occurred_at: 1_700_000_000,
            revenue: U256::from(12_345_000_000u64),
        };
        // abi.encode(string, uint64, uint256): the string's offset (3 words), the two integers,
        // then the string's length and its padded bytes.
        let mut want = Vec::new();
        want.extend_from_slice(&U256::from(0x60).to_be_bytes::<32>());
        want.extend_from_slice(&U256::from(1_700_000_000u64).to_be_bytes::<32>());
        want.extend_from_slice(&U256::from(12_345_000_000u64).to_be_bytes::<32>());
        want.extend_from_slice(&U256::from(9).to_be_bytes::<32>());
        let mut s = [0u8; 32];
        s[..9].copy_from_slice(b"ord-10023");
        want.extend_from_slice(&s);
        assert_eq!(r.leaf_hash(), keccak256(keccak256(&want)));
        // The value OpenZeppelin's library computes (tests/fixtures/merkle.json, size-1).
        assert_eq!(
            r.leaf_hash().to_string(),
            "0x82d750e6c422fd6336d813d11a498aaa4e417a31b5921240152b04f2cb2c9fa1"
        );
    }

    #[test]
    fn node_hash_is_commutative_and_sorted() {
        let a = B256::repeat_byte(1);
        let b = B256::repeat_byte(2);
        assert_eq!(node_hash(a, b), node_hash(b, a));
        assert_eq!(node_hash(a, b), keccak256([a.as_slice(), b.as_slice()].concat()));
    }

    #[test]
    fn empty_is_refused_and_its_period_root_is_zero() {
        assert_eq!(Tree::build(Vec::new()), Err(TreeError::Empty));
        assert_eq!(period_root(Vec::new()), EMPTY_ROOT);
        assert_eq!(EMPTY_ROOT, B256::ZERO);
    }

    #[test]
    fn one_leaf_is_its_own_root() {
        let leaf = record(1).leaf_hash();
        let tree = Tree::build(vec![leaf]).expect("one leaf");
        assert_eq!(tree.root(), leaf);
        assert_eq!(tree.len(), 1);
        assert!(!tree.is_empty());
        assert_eq!(tree.proof(0), Ok(Vec::new()));
        assert!(verify(tree.root(), leaf, &[]));
        assert_eq!(period_root(vec![leaf]), leaf);
    }

    #[test]
    fn layout_is_reverse_sorted_leaves_after_the_inner_nodes() {
        let leaves: Vec<B256> = (0..5).map(|i| record(i).leaf_hash()).collect();
        let tree = Tree::build(leaves.clone()).expect("leaves");
        let mut sorted = leaves.clone();
        sorted.sort();
        assert_eq!(tree.nodes().len(), 9);
        for (i, leaf) in sorted.iter().enumerate() {
            assert_eq!(tree.node(8 - i), Some(*leaf));
            assert_eq!(tree.leaf_index(leaf), Some(8 - i));
        }
        for i in 0..4 {
            assert_eq!(
                tree.nodes()[i],
                node_hash(tree.nodes()[2 * i + 1], tree.nodes()[2 * i + 2])
            );
        }
        assert_eq!(tree.leaf_index(&B256::repeat_byte(7)), None);
        // The input's order does not matter.
        let mut reversed = leaves;
        reversed.reverse();
        assert_eq!(Tree::build(reversed).expect("leaves"), tree);
    }

    #[test]
    fn every_leaf_of_trees_of_1_to_33_leaves_proves() {
        for n in 1..=33u64 {
            let records: Vec<Record> = (0..n).map(record).collect();
            let tree = Tree::from_records(&records).expect("records");
            assert_eq!(tree.len(), n as usize);
            for r in &records {
                let leaf = r.leaf_hash();
                let index = tree.leaf_index(&leaf).expect("a leaf of the tree");
                let proof = tree.proof(index).expect("a leaf");
                assert_eq!(proof.len(), proof_indices(index).len());
                assert!(verify(tree.root(), leaf, &proof), "n = {n}, {}", r.conversion_id);
            }
        }
    }

    #[test]
    fn a_tampered_proof_or_leaf_fails() {
        let records: Vec<Record> = (0..10).map(record).collect();
        let tree = Tree::from_records(&records).expect("records");
        let leaf = records[3].leaf_hash();
        let index = tree.leaf_index(&leaf).expect("a leaf");
        let proof = tree.proof(index).expect("a leaf");
        assert!(verify(tree.root(), leaf, &proof));
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i].0[31] ^= 1;
            assert!(!verify(tree.root(), leaf, &bad), "sibling {i} flipped");
        }
        assert!(!verify(tree.root(), leaf, &proof[..proof.len() - 1]), "a sibling dropped");
        let mut longer = proof.clone();
        longer.push(B256::repeat_byte(9));
        assert!(!verify(tree.root(), leaf, &longer), "a sibling added");
        // Another revenue, another occurrence time: another leaf.
        let mut more = records[3].clone();
        more.revenue += U256::from(1);
        assert!(!verify(tree.root(), more.leaf_hash(), &proof));
        let mut later = records[3].clone();
        later.occurred_at += 1;
        assert!(!verify(tree.root(), later.leaf_hash(), &proof));
        // Another leaf's proof does not prove this one.
        let other = tree.leaf_index(&records[4].leaf_hash()).expect("a leaf");
        assert!(!verify(tree.root(), leaf, &tree.proof(other).expect("a leaf")));
    }

    #[test]
    fn proofs_are_only_for_leaves() {
        let tree = Tree::from_records(&(0..4).map(record).collect::<Vec<_>>()).expect("records");
        for i in [0, 1, 2, 7, 100] {
            assert_eq!(tree.proof(i), Err(TreeError::NotALeaf { index: i, first: 3, last: 6 }));
        }
        assert_eq!(proof_indices(0), Vec::<usize>::new());
        assert_eq!(proof_indices(6), vec![5, 1]);
        assert_eq!(proof_indices(3), vec![4, 2]);
    }

    #[test]
    fn pseudonymous_ids_pass() {
        for id in [
            "ord-10023",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "deadbeef",
            "DEADBEEF00",
            "shop:eu:4711",
            "john:smith",
            "txn_2024.11.30:007",
            "a",
            "7",
            "ORD-9",
            "click.123",
            &"a".repeat(64),
        ] {
            assert_eq!(validate_conversion_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn personal_or_malformed_ids_are_refused() {
        use RecordError::*;
        for (id, want) in [
            ("", Empty),
            ("john.smith@example.com", LooksLikeEmail),
            ("@", LooksLikeEmail),
            ("John Smith", Whitespace),
            ("ord\t1", Whitespace),
            ("ord/1", InvalidChar('/')),
            ("ordé1", InvalidChar('é')),
            ("ord+1", InvalidChar('+')),
            ("john.smith", LooksLikeName),
            ("Jane_Doe", LooksLikeName),
            ("mary-ann-lee", LooksLikeName),
            ("john..smith", LooksLikeName),
            ("a.b", LooksLikeName),
        ] {
            assert_eq!(validate_conversion_id(id), Err(want), "{id:?}");
        }
        assert_eq!(validate_conversion_id(&"a".repeat(65)), Err(TooLong { len: 65 }));
        let r = Record { conversion_id: "Jane_Doe".into(), occurred_at: 0, revenue: U256::ZERO };
        assert_eq!(r.validate(), Err(LooksLikeName));
    }
}
