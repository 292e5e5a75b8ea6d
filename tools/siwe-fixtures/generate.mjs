// Sign-In with Ethereum (EIP-4361) messages made by libraries Pactum did not write, signed as a
// wallet signs them (`personal_sign`), written as JSON fixtures for the Rust tests:
//
//   crates/core/tests/fixtures/siwe/<library>-<variant>.json
//   { library, version, variant, message, signature, address, signer, domain, uri, chainId, nonce }
//
// `message` is the exact text the library produced and the key signed; the server must verify
// those bytes, not its own re-formatting of them. Messages from the `siwe` package come from
// `new SiweMessage({...}).prepareMessage()` and are signed with ethers; messages from viem come
// from `createSiweMessage` and are signed with a viem account. The keys are anvil's dev mnemonic.
//
// Run once (`npm ci && npm run generate`) and commit the output. The `default` and `eip1271`
// variants take the library's default `Issued At` (the time of the run), so a new run changes
// those files; the others are the same on every run (ECDSA signatures are deterministic).
//
// The fixtures fit the test server of crates/api/tests/it/siwe_clients.rs: domain `pactum.test`,
// URI `https://pactum.test`, anvil's chain id 31337. Each has its own nonce, which the tests store
// as one the server issued. Expiration times, when there are any, are far in the future.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { HDNodeWallet } from 'ethers';
import { SiweMessage } from 'siwe';
import { getContractAddress } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'crates', 'core', 'tests', 'fixtures', 'siwe');
const installed = (name) =>
  JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;

const MNEMONIC = 'test test test test test test test test test test test junk';
const DOMAIN = 'pactum.test';
const URI = 'https://pactum.test';
const CHAIN_ID = 31337;
const STATEMENT = 'Sign in to Pactum.';

// Account 1 signs (as itself, and as the owner of a contract wallet).
const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const OWNER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
// Account 9 deploys the contract wallet (MockERC1271Wallet, owned by account 1) as its very first
// transaction, so the wallet's address is fixed: CREATE from account 9 with nonce 0.
const DEPLOYER = '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720';

const ethersOwner = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/1");
const viemOwner = mnemonicToAccount(MNEMONIC, { addressIndex: 1 });
const viemDeployer = mnemonicToAccount(MNEMONIC, { addressIndex: 9 });
for (const [what, got, want] of [
  ['ethers account 1', ethersOwner.address, OWNER],
  ['ethers account 1 key', ethersOwner.privateKey, OWNER_KEY],
  ['viem account 1', viemOwner.address, OWNER],
  ['viem account 9', viemDeployer.address, DEPLOYER],
]) {
  if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
}
const WALLET = getContractAddress({ from: DEPLOYER, nonce: 0n });

const RESOURCES = [
  'ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/',
  'https://pactum.test/terms.json',
];

// What each variant adds to the required fields. Times are given as a user of each library gives
// them: strings for `siwe` (any RFC 3339 form it accepts), `Date`s for viem (`toISOString`).
const VARIANTS = [
  // The library's defaults: no statement, no expiration, `Issued At` now.
  { variant: 'default', address: OWNER },
  { variant: 'statement', address: OWNER, statement: STATEMENT, issuedAt: '2026-11-29T13:30:00+01:00' },
  {
    variant: 'expiration',
    address: OWNER,
    statement: STATEMENT,
    issuedAt: '2026-11-29T12:00:00.000Z',
    expirationTime: '2099-12-31T23:59:59.999Z',
  },
  {
    variant: 'full',
    address: OWNER,
    statement: STATEMENT,
    issuedAt: '2026-11-29T12:00:00.250Z',
    expirationTime: '2098-06-30T12:00:00.000Z',
    notBefore: '2026-01-01T00:00:00.000Z',
    requestId: 'req-42',
    resources: RESOURCES,
  },
  { variant: 'scheme', address: OWNER, scheme: 'https', issuedAt: '2026-11-29T12:00:00.000Z' },
  { variant: 'eip1271', address: WALLET, statement: STATEMENT },
];

const nonceOf = (library, variant) =>
  `${library}${variant[0].toUpperCase()}${variant.slice(1)}Nonce`.replace(/[^a-zA-Z0-9]/g, '');

async function siweFixture(v) {
  const nonce = nonceOf('siwe', v.variant);
  const fields = {
    domain: DOMAIN,
    address: v.address,
    uri: URI,
    version: '1',
    chainId: CHAIN_ID,
    nonce,
  };
  for (const k of ['scheme', 'statement', 'issuedAt', 'expirationTime', 'notBefore', 'requestId', 'resources']) {
    if (v[k] !== undefined) fields[k] = v[k];
  }
  const message = new SiweMessage(fields).prepareMessage();
  const signature = await ethersOwner.signMessage(message);
  return { library: 'siwe', version: installed('siwe'), signerLibrary: `ethers ${installed('ethers')}`, nonce, message, signature };
}

async function viemFixture(v) {
  const nonce = nonceOf('viem', v.variant);
  const date = (s) => (s === undefined ? undefined : new Date(s));
  const fields = {
    domain: DOMAIN,
    address: v.address,
    uri: URI,
    version: '1',
    chainId: CHAIN_ID,
    nonce,
    scheme: v.scheme,
    statement: v.statement,
    issuedAt: date(v.issuedAt),
    expirationTime: date(v.expirationTime),
    notBefore: date(v.notBefore),
    requestId: v.requestId,
    resources: v.resources,
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  const message = createSiweMessage(fields);
  const signature = await viemOwner.signMessage({ message });
  return { library: 'viem', version: installed('viem'), signerLibrary: `viem ${installed('viem')}`, nonce, message, signature };
}

mkdirSync(out, { recursive: true });
for (const v of VARIANTS) {
  for (const make of [siweFixture, viemFixture]) {
    const f = await make(v);
    const fixture = {
      library: f.library,
      version: f.version,
      variant: v.variant,
      signedWith: f.signerLibrary,
      message: f.message,
      signature: f.signature,
      address: v.address,
      signer: OWNER,
      ...(v.address === WALLET ? { walletDeployer: DEPLOYER } : {}),
      domain: DOMAIN,
      uri: URI,
      chainId: CHAIN_ID,
      nonce: f.nonce,
    };
    const file = join(out, `${f.library}-${v.variant}.json`);
    writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
    console.log(file);
  }
}
