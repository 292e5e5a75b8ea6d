// OpenZeppelin's StandardMerkleTree (@openzeppelin/merkle-tree) over a performance period's
// records, ["string", "uint64", "uint256"] = (conversionId, occurredAt, revenue), recomputed here:
// leaf = keccak256(bytes.concat(keccak256(abi.encode(values)))); the leaves sorted by hash
// (ascending, as bytes); the tree an array of 2n − 1 nodes with the sorted leaves from the end
// (leaf i at index 2n − 2 − i) and node i = hashPair(node 2i + 1, node 2i + 2), a pair hashed in
// sorted order (keccak256 of the smaller then the larger); the root is node 0. Kept free of the
// DOM so that the browser tests can check it against OpenZeppelin's own output
// (crates/core/tests/fixtures/merkle.json).

import { concat, encodeAbiParameters, keccak256, type Hex } from 'viem';

export interface LeafRecord {
  conversionId: string;
  occurredAt: number | string | bigint;
  revenue: number | string | bigint;
}

const LEAF_TYPES = [{ type: 'string' }, { type: 'uint64' }, { type: 'uint256' }] as const;

/** A record's leaf: keccak256(bytes.concat(keccak256(abi.encode(conversionId, occurredAt, revenue)))). */
export function leafOf(r: LeafRecord): Hex {
  return keccak256(keccak256(encodeAbiParameters(LEAF_TYPES, [r.conversionId, BigInt(r.occurredAt), BigInt(r.revenue)])));
}

/** Two nodes hashed as OpenZeppelin does: the smaller first. */
export function hashPair(a: Hex, b: Hex): Hex {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** The StandardMerkleTree root of `records`; null for none (OpenZeppelin refuses an empty tree;
 *  an empty period is reported with the zero root). */
export function merkleRoot(records: LeafRecord[]): Hex | null {
  if (!records.length) return null;
  const leaves = records.map(leafOf).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0));
  const n = leaves.length;
  const tree: Hex[] = new Array(2 * n - 1);
  leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf));
  for (let i = tree.length - 1 - n; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1], tree[2 * i + 2]);
  return tree[0];
}
