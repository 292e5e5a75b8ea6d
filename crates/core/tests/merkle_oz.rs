//! Our Merkle trees against OpenZeppelin's `@openzeppelin/merkle-tree` (`StandardMerkleTree`), a
//! library Pactum did not write and the one an auditor recomputes a period's root with:
//! `tools/merkle-fixtures/generate.mjs` built trees of 1 to 100 records with it into
//! `fixtures/merkle.json`; every leaf hash, the whole node array (so every node's place), the root
//! and every record's proof built here equal the library's, byte for byte, and every proof the
//! library made verifies here.

use std::{fs, path::Path};

use alloy::primitives::{B256, U256};
use eyre::{ensure, Result, WrapErr};
use pactum_core::merkle::{self, Record, Tree, LEAF_ENCODING};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fixture {
    library: String,
    version: String,
    leaf_encoding: Vec<String>,
    trees: Vec<FixtureTree>,
}

#[derive(Debug, Deserialize)]
struct FixtureTree {
    name: String,
    records: Vec<FixtureRecord>,
    root: B256,
    tree: Vec<B256>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixtureRecord {
    conversion_id: String,
    occurred_at: String,
    revenue: String,
    leaf: B256,
    tree_index: usize,
    proof: Vec<B256>,
}

fn fixture() -> Result<Fixture> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/merkle.json");
    let text = fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

#[test]
fn roots_nodes_and_proofs_equal_openzeppelins() -> Result<()> {
    let fixture = fixture()?;
    ensure!(fixture.library == "@openzeppelin/merkle-tree" && fixture.version == "1.0.8");
    ensure!(fixture.leaf_encoding == LEAF_ENCODING, "leaf encoding {:?}", fixture.leaf_encoding);
    let mut sizes = Vec::new();
    for t in &fixture.trees {
        let records = t
            .records
            .iter()
            .map(|r| {
                Ok(Record {
                    conversion_id: r.conversion_id.clone(),
                    occurred_at: r.occurred_at.parse()?,
                    revenue: r.revenue.parse::<U256>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let tree = Tree::from_records(&records)?;
        ensure!(tree.root() == t.root, "{}: root {} != OZ {}", t.name, tree.root(), t.root);
        ensure!(tree.nodes() == t.tree.as_slice(), "{}: the node arrays differ", t.name);
        ensure!(tree.len() == records.len(), "{}: {} leaves", t.name, tree.len());
        for (r, want) in records.iter().zip(&t.records) {
            let leaf = r.leaf_hash();
            ensure!(leaf == want.leaf, "{}: leaf of {} differs", t.name, r.conversion_id);
            let index = tree.leaf_index(&leaf);
            ensure!(index == Some(want.tree_index), "{}: {} at {index:?}", t.name, r.conversion_id);
            let proof = tree.proof(want.tree_index)?;
            ensure!(proof == want.proof, "{}: proof of {} differs", t.name, r.conversion_id);
            ensure!(merkle::verify(t.root, want.leaf, &want.proof), "{}: OZ's proof", t.name);
        }
        sizes.push(records.len());
    }
    for n in [1, 2, 3, 7, 100] {
        ensure!(sizes.contains(&n), "no tree of {n} records in the fixture");
    }
    Ok(())
}

#[test]
fn fixture_covers_the_edges() -> Result<()> {
    let fixture = fixture()?;
    let all: Vec<&FixtureRecord> = fixture.trees.iter().flat_map(|t| &t.records).collect();
    let max = U256::MAX.to_string();
    ensure!(all.iter().any(|r| r.revenue == max), "a revenue of 2^256 - 1");
    ensure!(all.iter().any(|r| r.revenue == "0"), "a revenue of 0");
    ensure!(all.iter().any(|r| r.occurred_at == "0"), "occurredAt 0");
    ensure!(all.iter().any(|r| r.occurred_at == u64::MAX.to_string()), "occurredAt 2^64 - 1");
    ensure!(all.iter().any(|r| r.conversion_id.contains(':')), "an id with ':'");
    ensure!(all.iter().any(|r| r.conversion_id.contains('-')), "an id with '-'");
    ensure!(all.iter().any(|r| r.conversion_id.len() == 64), "a 64-character id");
    // The ids are ones the server accepts.
    for r in all {
        merkle::validate_conversion_id(&r.conversion_id)
            .wrap_err_with(|| format!("fixture id {:?}", r.conversion_id))?;
    }
    Ok(())
}
