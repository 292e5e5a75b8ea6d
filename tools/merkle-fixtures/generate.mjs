// Merkle trees of conversion records built by OpenZeppelin's `@openzeppelin/merkle-tree`
// (`StandardMerkleTree`, the library auditors use to recompute a period's `detailRoot`), written
// as one JSON fixture for the Rust tests:
//
//   crates/core/tests/fixtures/merkle.json
//   { library, version, leafEncoding, trees: [{ name, records: [{ conversionId, occurredAt,
//     revenue, leaf, treeIndex, proof }], root, tree }] }
//
// A record is a leaf `[conversionId, occurredAt, revenue]` of encoding
// `["string", "uint64", "uint256"]`; integers are written as decimal strings (they exceed JSON's
// safe integers). `leaf` is `tree.leafHash(value)`, `treeIndex` the node the value sits at in
// `tree.dump().tree` (written in full as `tree`), `proof` is `tree.getProof(i)`, in record order.
// Trees are built with the library's defaults (`sortLeaves: true`), as the server builds them.
//
// Run once (`npm ci && npm run generate`) and commit the output; every run writes the same bytes
// (the records are fixed, nothing depends on time or randomness).

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { StandardMerkleTree } from '@openzeppelin/merkle-tree';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'crates', 'core', 'tests', 'fixtures', 'merkle.json');
const installed = (name) =>
  JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;

const ENCODING = ['string', 'uint64', 'uint256'];
const U64_MAX = (1n << 64n) - 1n;
const U256_MAX = (1n << 256n) - 1n;

// The edges first: the smallest and largest integers, a one-character id, a 64-character id,
// ids with ':' and '-' and '.' and '_'.
const EDGES = [
  ['ord-10023', 1_700_000_000n, 12_345_000_000n],
  ['shop:eu:4711', 0n, 0n],
  ['x', U64_MAX, U256_MAX],
  ['a'.repeat(32) + '0'.repeat(32), 1n, 1n],
  ['0f8fad5b-d9cb-469f-a165-70867728950e', 9_223_372_036_854_775_807n, 10n ** 77n],
  ['txn_2024.11.30:007', 4_102_444_800n, U256_MAX - 1n],
  ['ORD-9', 1_735_689_600n, 1n << 255n],
];

// More records, all distinct and reproducible: a mix of the id shapes trackers send.
function generated(i) {
  const shapes = [
    () => `ord-${100000 + i}`,
    () => `click:${(i * 2654435761) % 4294967296}`,
    () => `cv.${i.toString(16).padStart(8, '0')}`,
    () => `aff-7:sub-${i}`,
  ];
  const id = shapes[i % shapes.length]();
  const occurredAt = 1_700_000_000n + BigInt(i) * 3_607n;
  // Revenues spread over the whole uint256 range: small amounts and huge ones.
  const revenue = (BigInt(i + 1) ** BigInt(1 + (i % 40))) & U256_MAX;
  return [id, occurredAt, revenue];
}

function records(n) {
  const all = [...EDGES];
  for (let i = 0; all.length < n; i++) all.push(generated(i));
  return all.slice(0, n);
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100];

const trees = SIZES.map((n) => {
  const values = records(n);
  const tree = StandardMerkleTree.of(values, ENCODING);
  const dump = tree.dump();
  return {
    name: `size-${n}`,
    records: values.map((value, i) => {
      const [conversionId, occurredAt, revenue] = value;
      const proof = tree.getProof(i);
      if (!StandardMerkleTree.verify(tree.root, ENCODING, value, proof)) {
        throw new Error(`size ${n}: the proof of record ${i} does not verify`);
      }
      return {
        conversionId,
        occurredAt: occurredAt.toString(),
        revenue: revenue.toString(),
        leaf: tree.leafHash(value),
        treeIndex: dump.values[i].treeIndex,
        proof,
      };
    }),
    root: tree.root,
    tree: dump.tree,
  };
});

const fixture = {
  library: '@openzeppelin/merkle-tree',
  version: installed('@openzeppelin/merkle-tree'),
  leafEncoding: ENCODING,
  trees,
};
writeFileSync(out, JSON.stringify(fixture, null, 2) + '\n');
console.log(`wrote ${trees.length} trees to ${out}`);
