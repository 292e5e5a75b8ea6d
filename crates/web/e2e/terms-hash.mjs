// The terms hash as the web app computes it (app/verify.ts `termsHash`: the `canonicalize`
// package's RFC 8785 form, then viem's keccak256 of its UTF-8 bytes), for a JSON file given as
// the argument. Prints {"canonical": …, "hash": …}. crates/core/tests/terms_fixtures.rs runs it
// and requires the same canonical form and hash as the Rust code, so the browser's check and the
// server's hash cannot drift apart.
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { keccak256, stringToBytes } from 'viem';

const file = process.argv[2];
if (!file) {
  console.error('usage: node e2e/terms-hash.mjs TERMS.json');
  process.exit(2);
}
const canonical = canonicalize(JSON.parse(readFileSync(file, 'utf8')));
if (canonical === undefined) {
  console.error('the terms document cannot be canonicalized');
  process.exit(1);
}
process.stdout.write(JSON.stringify({ canonical, hash: keccak256(stringToBytes(canonical)) }));
