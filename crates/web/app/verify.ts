// The audit bundle (format 2) checked in the browser, by this page's own code: the same verifier
// as `pactum verify` (crates/audit/src/verify.rs), check for check, with the same ids, statuses
// and outcome. It trusts only the escrow address the auditor gives it (prefilled from the
// committed deployments/escrows.json, never read from the bundle) and a node's answers, asked
// through an EIP-1193-style `rpc(method, params)`: the connected wallet, or an RPC URL.
//
// Checks, in the order run (see verify.rs for what each proves): format, exporter-signature,
// pinned-escrow, node-chain, as-of-block, agreement-id, creation, events-complete, event-names,
// later-events, replay, state, summary, deferred-credits, signature-brand, signature-creator, signatures-submitted,
// terms, offchain-log, offchain-log-anchored. Outcome: any fail → failed; else any error →
// unreadable; else verified.

import canonicalize from 'canonicalize';
import {
  concat,
  decodeEventLog,
  decodeFunctionData,
  decodeFunctionResult,
  encodeFunctionData,
  getAddress,
  hashMessage,
  hashTypedData,
  keccak256,
  recoverAddress,
  stringToBytes,
  toEventSelector,
  toHex,
  type Abi,
  type Hex,
} from 'viem';
import { abi as escrowAbiJson } from '../../bindings/artifacts/PactumEscrow.json';
import deploymentsJson from '../../../deployments/escrows.json';

const escrowAbi = escrowAbiJson as Abi;

export const FORMAT = 'pactum-audit-bundle/2';
const FORMAT_FAMILY = 'pactum-audit-bundle/';
const ZERO32: Hex = `0x${'0'.repeat(64)}`;

export type Status = 'pass' | 'fail' | 'skipped' | 'error';
export type Outcome = 'verified' | 'failed' | 'unreadable';

export interface Check {
  id: string;
  status: Status;
  detail: string;
}

export interface Report {
  outcome: Outcome;
  agreementId: Hex | null;
  checks: Check[];
}

/** What the verifier trusts, given by the auditor, never read from the bundle. */
export interface Trust {
  escrow: Hex;
  /** The chain the trusted deployment is on, when known (a deployments file names it). */
  chainId?: bigint | null;
  /** The exporting server's signing address, when the auditor requires its signature. */
  exporter?: Hex | null;
  /** Accept a bundle as of an earlier block than the node's latest. */
  historical?: boolean;
}

export type Rpc = (method: string, params: unknown[]) => Promise<any>;

// ------------------------------------------------------------------ deployments

export interface Deployment {
  chainId: string;
  escrow: string;
  deploymentBlock?: string;
  network?: string;
}

/** The committed deployments (deployments/escrows.json), built into the page. */
export const DEPLOYMENTS: Deployment[] = (deploymentsJson as { deployments: Deployment[] }).deployments;

/** The committed deployment on `chainId`, if any. */
export function deploymentFor(chainId: string | bigint | null | undefined): Deployment | null {
  if (chainId === null || chainId === undefined) return null;
  return DEPLOYMENTS.find((d) => d.chainId === String(chainId)) ?? null;
}

// ------------------------------------------------------------------ EIP-712

/** The EIP-712 types of an agreement (PactumEscrow's `Agreement` and `Milestone`). */
export const AGREEMENT_TYPES = {
  Agreement: [
    { name: 'brand', type: 'address' },
    { name: 'creator', type: 'address' },
    { name: 'arbiter', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'termsHash', type: 'bytes32' },
    { name: 'arbiterFeeBps', type: 'uint16' },
    { name: 'contestWindow', type: 'uint32' },
    { name: 'arbitrationWindow', type: 'uint32' },
    { name: 'revisionRounds', type: 'uint8' },
    { name: 'deadline', type: 'uint40' },
    { name: 'salt', type: 'uint256' },
    { name: 'milestones', type: 'Milestone[]' },
  ],
  Milestone: [
    { name: 'amount', type: 'uint256' },
    { name: 'deadline', type: 'uint40' },
    { name: 'reviewWindow', type: 'uint32' },
  ],
} as const;

/** The typed data of an agreement (integers as decimal strings or numbers) under an escrow's domain. */
export function agreementTypedData(agreement: any, chainId: number | bigint, escrow: string) {
  return {
    domain: { name: 'Pactum', version: '1', chainId: BigInt(chainId), verifyingContract: getAddress(escrow) },
    types: AGREEMENT_TYPES,
    primaryType: 'Agreement' as const,
    message: {
      brand: getAddress(agreement.brand),
      creator: getAddress(agreement.creator),
      arbiter: getAddress(agreement.arbiter),
      token: getAddress(agreement.token),
      termsHash: agreement.termsHash as Hex,
      arbiterFeeBps: Number(BigInt(agreement.arbiterFeeBps)),
      contestWindow: Number(BigInt(agreement.contestWindow)),
      arbitrationWindow: Number(BigInt(agreement.arbitrationWindow)),
      revisionRounds: Number(BigInt(agreement.revisionRounds)),
      deadline: Number(BigInt(agreement.deadline)),
      salt: BigInt(agreement.salt),
      milestones: (agreement.milestones as any[]).map((m) => ({
        amount: BigInt(m.amount),
        deadline: Number(BigInt(m.deadline)),
        reviewWindow: Number(BigInt(m.reviewWindow)),
      })),
    },
  };
}

/** keccak256 of the RFC 8785 canonical JSON of a terms document. */
export function termsHash(document: unknown): Hex {
  const text = canonicalize(document);
  if (text === undefined) throw new Error('the terms document cannot be canonicalized');
  return keccak256(stringToBytes(text));
}

// ------------------------------------------------------------------ strict parsing (format 2)

class FormatError extends Error {}

const lc = (s: string) => s.toLowerCase() as Hex;

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FormatError(`${at}: not an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new FormatError(`${at}: not an array`);
  return v;
}
function str(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new FormatError(`${at}: missing or not a string`);
  return v;
}
/** A canonical decimal string (digits only, no leading zero) of at most `bits` bits. */
function dec(v: unknown, at: string, bits: number): bigint {
  const s = str(v, at);
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new FormatError(`${at}: ${JSON.stringify(s)} is not a decimal integer string (digits only, no leading zero)`);
  const n = BigInt(s);
  if (n >= 1n << BigInt(bits)) throw new FormatError(`${at}: ${s} does not fit ${bits} bits`);
  return n;
}
function hexOf(v: unknown, at: string, bytes: number | null): Hex {
  const s = str(v, at);
  const body = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]*$/.test(body) || body.length % 2 !== 0 || (bytes !== null && body.length !== bytes * 2))
    throw new FormatError(`${at}: ${JSON.stringify(s)} is not ${bytes === null ? 'hex bytes' : `${bytes} hex bytes`}`);
  return lc(`0x${body}`);
}
const address = (v: unknown, at: string) => hexOf(v, at, 20);
const b256 = (v: unknown, at: string) => hexOf(v, at, 32);
const bytes = (v: unknown, at: string) => hexOf(v, at, null);
function oneOf<T extends string>(v: unknown, at: string, allowed: readonly T[]): T {
  const s = str(v, at);
  if (!(allowed as readonly string[]).includes(s)) throw new FormatError(`${at}: unknown variant ${JSON.stringify(s)}, expected one of ${allowed.join(', ')}`);
  return s as T;
}
const absent = (v: unknown) => v === undefined || v === null;

interface EventDoc {
  name: string;
  blockNumber: bigint;
  blockHash: Hex;
  txHash: Hex;
  logIndex: bigint;
  topics: Hex[];
  data: Hex;
}
interface SummaryDoc {
  status: string;
  nonce: bigint;
  fundedCount: bigint;
  funded: bigint;
  paidToCreator: bigint;
  refundedToBrand: bigint;
  arbiterFees: bigint;
  deferred: bigint;
  held: bigint;
  milestones: { status: string; revisions: bigint }[];
}
interface SignatureDoc {
  role: 'brand' | 'creator';
  signer: Hex;
  signature: Hex;
  method: 'ecdsa' | 'eip1271';
}
interface LogEntryDoc {
  seq: bigint;
  entry: string;
  prevHash: Hex;
  hash: Hex;
}
export interface Bundle {
  chainId: bigint;
  escrow: Hex;
  asOf: { number: bigint; hash: Hex };
  created: { blockNumber: bigint; blockHash: Hex; txHash: Hex };
  agreementId: Hex;
  agreement: {
    brand: Hex;
    creator: Hex;
    arbiter: Hex;
    token: Hex;
    termsHash: Hex;
    arbiterFeeBps: bigint;
    contestWindow: bigint;
    arbitrationWindow: bigint;
    revisionRounds: bigint;
    deadline: bigint;
    salt: bigint;
    milestones: { amount: bigint; deadline: bigint; reviewWindow: bigint }[];
  };
  terms: { canonical: string; hash: Hex } | null;
  signatures: SignatureDoc[];
  events: EventDoc[];
  summary: SummaryDoc;
  offchainLog: LogEntryDoc[] | null;
  exporter: { address: Hex; signature: Hex } | null;
}

/** Reads a format-2 bundle as strictly as the Rust verifier's serde types do. */
function parseBundle(raw: unknown): Bundle {
  const b = obj(raw, 'bundle');
  const asOf = obj(b.asOf, 'asOf');
  const created = obj(b.created, 'created');
  const a = obj(b.agreement, 'agreement');
  const s = obj(b.summary, 'summary');
  dec(b.exportedAt, 'exportedAt', 64);
  if (b.extensions !== undefined) obj(b.extensions, 'extensions');
  return {
    chainId: dec(b.chainId, 'chainId', 64),
    escrow: address(b.escrow, 'escrow'),
    asOf: { number: dec(asOf.number, 'asOf.number', 64), hash: b256(asOf.hash, 'asOf.hash') },
    created: {
      blockNumber: dec(created.blockNumber, 'created.blockNumber', 64),
      blockHash: b256(created.blockHash, 'created.blockHash'),
      txHash: b256(created.txHash, 'created.txHash'),
    },
    agreementId: b256(b.agreementId, 'agreementId'),
    agreement: {
      brand: address(a.brand, 'agreement.brand'),
      creator: address(a.creator, 'agreement.creator'),
      arbiter: address(a.arbiter, 'agreement.arbiter'),
      token: address(a.token, 'agreement.token'),
      termsHash: b256(a.termsHash, 'agreement.termsHash'),
      arbiterFeeBps: dec(a.arbiterFeeBps, 'agreement.arbiterFeeBps', 16),
      contestWindow: dec(a.contestWindow, 'agreement.contestWindow', 32),
      arbitrationWindow: dec(a.arbitrationWindow, 'agreement.arbitrationWindow', 32),
      revisionRounds: dec(a.revisionRounds, 'agreement.revisionRounds', 8),
      deadline: dec(a.deadline, 'agreement.deadline', 64),
      salt: dec(a.salt, 'agreement.salt', 256),
      milestones: arr(a.milestones, 'agreement.milestones').map((m, i) => {
        const o = obj(m, `agreement.milestones[${i}]`);
        return {
          amount: dec(o.amount, `agreement.milestones[${i}].amount`, 256),
          deadline: dec(o.deadline, `agreement.milestones[${i}].deadline`, 64),
          reviewWindow: dec(o.reviewWindow, `agreement.milestones[${i}].reviewWindow`, 32),
        };
      }),
    },
    terms: absent(b.terms)
      ? null
      : (() => {
          const t = obj(b.terms, 'terms');
          return { canonical: str(t.canonical, 'terms.canonical'), hash: b256(t.hash, 'terms.hash') };
        })(),
    signatures: arr(b.signatures, 'signatures').map((x, i) => {
      const o = obj(x, `signatures[${i}]`);
      return {
        role: oneOf(o.role, `signatures[${i}].role`, ['brand', 'creator'] as const),
        signer: address(o.signer, `signatures[${i}].signer`),
        signature: bytes(o.signature, `signatures[${i}].signature`),
        method: oneOf(o.method, `signatures[${i}].method`, ['ecdsa', 'eip1271'] as const),
      };
    }),
    events: arr(b.events, 'events').map((x, i) => {
      const o = obj(x, `events[${i}]`);
      return {
        name: str(o.name, `events[${i}].name`),
        blockNumber: dec(o.blockNumber, `events[${i}].blockNumber`, 64),
        blockHash: b256(o.blockHash, `events[${i}].blockHash`),
        txHash: b256(o.txHash, `events[${i}].txHash`),
        logIndex: dec(o.logIndex, `events[${i}].logIndex`, 64),
        topics: arr(o.topics, `events[${i}].topics`).map((t, j) => b256(t, `events[${i}].topics[${j}]`)),
        data: bytes(o.data, `events[${i}].data`),
      };
    }),
    summary: {
      status: str(s.status, 'summary.status'),
      nonce: dec(s.nonce, 'summary.nonce', 32),
      fundedCount: dec(s.fundedCount, 'summary.fundedCount', 8),
      funded: dec(s.funded, 'summary.funded', 256),
      paidToCreator: dec(s.paidToCreator, 'summary.paidToCreator', 256),
      refundedToBrand: dec(s.refundedToBrand, 'summary.refundedToBrand', 256),
      arbiterFees: dec(s.arbiterFees, 'summary.arbiterFees', 256),
      deferred: dec(s.deferred, 'summary.deferred', 256),
      held: dec(s.held, 'summary.held', 256),
      milestones: arr(s.milestones, 'summary.milestones').map((m, i) => {
        const o = obj(m, `summary.milestones[${i}]`);
        return { status: str(o.status, `summary.milestones[${i}].status`), revisions: dec(o.revisions, `summary.milestones[${i}].revisions`, 8) };
      }),
    },
    offchainLog: absent(b.offchainLog)
      ? null
      : arr(b.offchainLog, 'offchainLog').map((x, i) => {
          const o = obj(x, `offchainLog[${i}]`);
          return {
            seq: dec(o.seq, `offchainLog[${i}].seq`, 64),
            entry: str(o.entry, `offchainLog[${i}].entry`),
            prevHash: b256(o.prevHash, `offchainLog[${i}].prevHash`),
            hash: b256(o.hash, `offchainLog[${i}].hash`),
          };
        }),
    exporter: absent(b.exporter)
      ? null
      : (() => {
          const e = obj(b.exporter, 'exporter');
          return { address: address(e.address, 'exporter.address'), signature: bytes(e.signature, 'exporter.signature') };
        })(),
  };
}

// ------------------------------------------------------------------ signatures

const SECP256K1_HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** The account a 65-byte signature of `digest` recovers to; low-s only, as the escrow. */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<Hex> {
  const body = signature.slice(2);
  if (body.length !== 130) throw new Error(`malformed signature: ${body.length / 2} bytes, 65 expected`);
  const r = BigInt(`0x${body.slice(0, 64)}`);
  const s = BigInt(`0x${body.slice(64, 128)}`);
  const v = Number.parseInt(body.slice(128), 16);
  let yParity: number;
  if (v === 0 || v === 1) yParity = v;
  else if (v === 27 || v === 28) yParity = v - 27;
  else if (v >= 35) yParity = (v - 35) % 2;
  else throw new Error(`malformed signature: v = ${v}`);
  if (s > SECP256K1_HALF_ORDER) throw new Error('signature has a high s value (malleable); the escrow accepts low-s signatures only');
  const recovered = await recoverAddress({ hash: digest, signature: { r: toHex(r, { size: 32 }), s: toHex(s, { size: 32 }), yParity } });
  return lc(recovered);
}

/** The digest the exporter signs: keccak256 of the RFC 8785 canonical bundle without `exporter`. */
export function exporterDigest(raw: Record<string, unknown>): Hex {
  const { exporter: _omitted, ...unsigned } = raw;
  const text = canonicalize(unsigned);
  if (text === undefined) throw new Error('the bundle cannot be canonicalized');
  return keccak256(stringToBytes(text));
}

const ERC1271_ABI = [
  {
    type: 'function',
    name: 'isValidSignature',
    stateMutability: 'view',
    inputs: [
      { name: 'hash', type: 'bytes32' },
      { name: 'signature', type: 'bytes' },
    ],
    outputs: [{ name: '', type: 'bytes4' }],
  },
] as const;

async function eip1271(rpc: Rpc, wallet: Hex, digest: Hex, sig: Hex, atBlockHash: Hex): Promise<boolean> {
  try {
    const data = encodeFunctionData({ abi: ERC1271_ABI, functionName: 'isValidSignature', args: [digest, sig] });
    const out: Hex = await rpc('eth_call', [{ to: wallet, data }, { blockHash: atBlockHash }]);
    const magic = decodeFunctionResult({ abi: ERC1271_ABI, functionName: 'isValidSignature', data: out });
    return magic.toLowerCase() === '0x1626ba7e';
  } catch {
    return false;
  }
}

/** How a signature of `digest` holds for `party`: the method, or why not. */
async function partySigned(rpc: Rpc, party: Hex, digest: Hex, sig: Hex, atBlockHash: Hex): Promise<{ ok: 'ecdsa' | 'eip1271' } | { why: string }> {
  let recovered: Hex | null = null;
  let recoverError = '';
  try {
    recovered = await recoverSigner(digest, sig);
  } catch (e) {
    recoverError = (e as Error).message;
  }
  // The escrow's ECDSA check (OpenZeppelin's) takes 65 bytes with v = 27 or 28 only.
  const escrowForm = sig.length === 132 && ['1b', '1c'].includes(sig.slice(130).toLowerCase());
  if (escrowForm && recovered === party) return { ok: 'ecdsa' };
  if (await eip1271(rpc, party, digest, sig, atBlockHash)) return { ok: 'eip1271' };
  if (recovered === party) return { why: `recovers to ${getAddress(party)} but not in the escrow's form (65 bytes, v 27 or 28), and no contract wallet at ${getAddress(party)} accepts it` };
  return { why: `${recovered ? `recovers to ${getAddress(recovered)}` : recoverError}, and no contract wallet at ${getAddress(party)} accepts it` };
}

// ------------------------------------------------------------------ the escrow's events

const EVENT_NAMES = [
  'AgreementCreated',
  'AgreementRevoked',
  'MilestonesFunded',
  'DeliverableSubmitted',
  'RevisionRequested',
  'MilestoneApproved',
  'MilestoneClaimed',
  'MilestoneReclaimed',
  'DisputeOpened',
  'DisputeResolved',
  'DisputeTimedOut',
  'MilestoneSettled',
  'AgreementCompleted',
  'TerminationStarted',
  'TerminationContested',
  'AgreementTerminated',
  'SignaturesCancelled',
  'PaymentDeferred',
  'Withdrawn',
] as const;

const TOPIC_NAMES = new Map<string, string>(
  escrowAbi
    .filter((x): x is Extract<(typeof escrowAbi)[number], { type: 'event' }> => x.type === 'event' && (EVENT_NAMES as readonly string[]).includes(x.name))
    .map((x) => [toEventSelector(x), x.name]),
);

/** The escrow event whose signature hash is `topic0`. */
export function nameOfTopic(topic0: string | undefined): string | null {
  return topic0 ? (TOPIC_NAMES.get(topic0.toLowerCase()) ?? null) : null;
}

interface NodeLog {
  blockNumber: bigint;
  blockHash: Hex;
  txHash: Hex;
  logIndex: bigint;
  topics: Hex[];
  data: Hex;
}

const place = (l: { blockNumber: bigint; logIndex: bigint }) => `block ${l.blockNumber} log ${l.logIndex}`;
const decodeName = (topic0: string | undefined) => nameOfTopic(topic0) ?? 'an unknown event';

/** The largest block range asked of the node in one eth_getLogs; halved on refusal. */
const LOG_RANGE = 50_000n;
const MAX_HALVINGS = 16;

/** Every log of `escrow` whose first indexed topic is `id`, blocks from..=to, in chain order. */
export async function agreementLogs(rpc: Rpc, escrow: Hex, id: Hex, from: bigint, to: bigint): Promise<NodeLog[]> {
  return logsInRanges(rpc, escrow, [null, id], from, to);
}

/** The logs of `address` matching `topics`, blocks from..=to, in chain order; ranges bounded and halved on refusal. */
export async function logsInRanges(rpc: Rpc, address: Hex, topics: (Hex | null)[], from: bigint, to: bigint): Promise<NodeLog[]> {
  const out: NodeLog[] = [];
  let start = from;
  let span = LOG_RANGE;
  let halvings = 0;
  while (start <= to) {
    const end = to < start + span - 1n ? to : start + span - 1n;
    try {
      const logs: any[] = await rpc('eth_getLogs', [{ address, topics, fromBlock: toHex(start), toBlock: toHex(end) }]);
      for (const l of logs) {
        if (l.removed) throw new Error('the node returned removed logs (its chain is reorganising)');
        out.push({
          blockNumber: BigInt(l.blockNumber),
          blockHash: lc(l.blockHash),
          txHash: lc(l.transactionHash),
          logIndex: BigInt(l.logIndex),
          topics: (l.topics as string[]).map(lc),
          data: lc(l.data),
        });
      }
      start = end + 1n;
    } catch (e) {
      if ((e as Error).message.startsWith('the node returned removed logs')) throw e;
      if (span > 1n && halvings < MAX_HALVINGS) {
        span /= 2n;
        halvings += 1;
      } else {
        throw new Error(`eth_getLogs ${start}..=${end}: ${(e as Error).message ?? e}`);
      }
    }
  }
  return out;
}

const samePlace = (e: EventDoc, l: NodeLog) => l.blockNumber === e.blockNumber && l.blockHash === e.blockHash && l.txHash === e.txHash && l.logIndex === e.logIndex;
const sameLog = (e: EventDoc, l: NodeLog) => samePlace(e, l) && l.topics.length === e.topics.length && l.topics.every((t, i) => t === e.topics[i]) && l.data === e.data;

// ------------------------------------------------------------------ the ledger (crates/core/src/ledger.rs)

const STATUS = { active: 1, terminating: 2, completed: 3, terminated: 4, revoked: 5, closing: 6 } as const;
type AgreementStatus = keyof typeof STATUS;
const MILESTONE_STATUS = ['open', 'submitted', 'revision_requested', 'disputed', 'approved', 'claimed', 'reclaimed', 'resolved', 'timed_out', 'settled', 'cancelled'] as const;
type MilestoneStatus = (typeof MILESTONE_STATUS)[number];
const isFinal = (s: MilestoneStatus) => MILESTONE_STATUS.indexOf(s) >= MILESTONE_STATUS.indexOf('approved');
const U8 = 0xffn;
const U32 = 0xffffffffn;

class Ledger {
  status: AgreementStatus = 'active';
  fundedCount = 0n;
  nonce = 0n;
  milestones: { status: MilestoneStatus; revisions: bigint }[];
  funded = 0n;
  paidToCreator = 0n;
  refundedToBrand = 0n;
  arbiterFees = 0n;
  deferred = 0n;

  constructor(agreement: Bundle['agreement']) {
    this.milestones = agreement.milestones.map(() => ({ status: 'open' as MilestoneStatus, revisions: 0n }));
  }

  held(): bigint {
    return this.funded - this.paidToCreator - this.refundedToBrand - this.arbiterFees;
  }

  packedMilestones(): bigint {
    return this.milestones.reduce((acc, m, i) => acc | (BigInt(MILESTONE_STATUS.indexOf(m.status)) << BigInt(4 * i)), 0n);
  }

  private allFinal(): boolean {
    return this.milestones.every((m) => isFinal(m.status));
  }

  private milestone(event: string, index: bigint) {
    const m = this.milestones[Number(index)];
    if (index >= BigInt(this.milestones.length) || !m) throw new Error(`event ${event} does not fit agreement state: milestone ${index} of ${this.milestones.length}`);
    return m;
  }

  private pay(creator: bigint, brand: bigint, fee: bigint) {
    this.paidToCreator += creator;
    this.refundedToBrand += brand;
    this.arbiterFees += fee;
  }

  /** Folds one decoded event in; throws (with the Rust ledger's words) when it does not fit. */
  apply(name: string, a: Record<string, any>) {
    const bad = (reason: string) => new Error(`event ${name} does not fit agreement state: ${reason}`);
    switch (name) {
      case 'AgreementCreated':
      case 'AgreementRevoked':
        throw bad('the agreement already exists');
      case 'MilestonesFunded':
        if (this.fundedCount !== a.firstMilestone) throw bad('funding is not the next milestone');
        this.fundedCount += a.count & U8;
        if (this.fundedCount > U8) this.fundedCount = U8;
        this.funded += a.amount;
        break;
      case 'DeliverableSubmitted':
        this.milestone(name, a.milestone).status = 'submitted';
        break;
      case 'RevisionRequested': {
        const m = this.milestone(name, a.milestone);
        m.status = 'revision_requested';
        if (m.revisions < U8) m.revisions += 1n;
        break;
      }
      case 'DisputeOpened':
        this.milestone(name, a.milestone).status = 'disputed';
        break;
      case 'MilestoneApproved':
        this.milestone(name, a.milestone).status = 'approved';
        this.paidToCreator += a.amount;
        break;
      case 'MilestoneClaimed':
        this.milestone(name, a.milestone).status = 'claimed';
        this.paidToCreator += a.amount;
        break;
      case 'MilestoneReclaimed':
        this.milestone(name, a.milestone).status = 'reclaimed';
        this.refundedToBrand += a.amount;
        break;
      case 'DisputeResolved':
        this.milestone(name, a.milestone).status = 'resolved';
        this.pay(a.creatorAmount, a.brandAmount, a.arbiterFee);
        break;
      case 'DisputeTimedOut':
        this.milestone(name, a.milestone).status = 'timed_out';
        this.pay(a.creatorAmount, a.brandAmount, 0n);
        break;
      case 'MilestoneSettled':
        this.milestone(name, a.milestone).status = 'settled';
        this.pay(a.creatorAmount, a.brandAmount, 0n);
        break;
      case 'AgreementCompleted':
        if (!this.allFinal()) throw bad('a milestone is not final yet');
        this.status = this.status === 'active' ? 'completed' : 'terminated';
        return; // emitted beside the milestone event that finished it: no nonce of its own
      case 'TerminationStarted':
        this.status = 'terminating';
        break;
      case 'TerminationContested':
        break;
      case 'AgreementTerminated':
        for (const m of this.milestones) if (m.status === 'open') m.status = 'cancelled';
        this.status = this.allFinal() ? 'terminated' : 'closing';
        this.pay(a.creatorAmount, a.brandAmount, a.arbiterFee);
        break;
      case 'SignaturesCancelled': {
        const expected = (this.nonce + 1n) & U32;
        if (BigInt(a.nonce) !== expected) throw bad(`new nonce ${a.nonce} after nonce ${this.nonce}`);
        this.nonce = expected;
        return;
      }
      case 'PaymentDeferred':
        this.deferred += a.amount;
        return;
      default: // Withdrawn, EIP712DomainChanged
        return;
    }
    this.nonce = (this.nonce + 1n) & U32;
  }

  summary(): SummaryDoc {
    return {
      status: this.status,
      nonce: this.nonce,
      fundedCount: this.fundedCount,
      funded: this.funded,
      paidToCreator: this.paidToCreator,
      refundedToBrand: this.refundedToBrand,
      arbiterFees: this.arbiterFees,
      deferred: this.deferred,
      held: this.held(),
      milestones: this.milestones.map((m) => ({ status: m.status, revisions: m.revisions })),
    };
  }
}

function sameAgreement(x: any, a: Bundle['agreement']): boolean {
  return (
    lc(x.brand) === a.brand &&
    lc(x.creator) === a.creator &&
    lc(x.arbiter) === a.arbiter &&
    lc(x.token) === a.token &&
    lc(x.termsHash) === a.termsHash &&
    BigInt(x.arbiterFeeBps) === a.arbiterFeeBps &&
    BigInt(x.contestWindow) === a.contestWindow &&
    BigInt(x.arbitrationWindow) === a.arbitrationWindow &&
    BigInt(x.revisionRounds) === a.revisionRounds &&
    BigInt(x.deadline) === a.deadline &&
    BigInt(x.salt) === a.salt &&
    x.milestones.length === a.milestones.length &&
    x.milestones.every((m: any, i: number) => BigInt(m.amount) === a.milestones[i].amount && BigInt(m.deadline) === a.milestones[i].deadline && BigInt(m.reviewWindow) === a.milestones[i].reviewWindow)
  );
}

// ------------------------------------------------------------------ the report

class Checks {
  checks: Check[] = [];
  has(id: string, status: Status): boolean {
    return this.checks.some((c) => c.id === id && c.status === status);
  }
  push(id: string, status: Status, detail: string) {
    this.checks.push({ id, status, detail });
  }
  pass(id: string, detail: string) {
    this.push(id, 'pass', detail);
  }
  fail(id: string, detail: string) {
    this.push(id, 'fail', detail);
  }
  error(id: string, detail: string) {
    this.push(id, 'error', detail);
  }
  check(id: string, ok: boolean, pass: string, fail: string) {
    this.push(id, ok ? 'pass' : 'fail', ok ? pass : fail);
  }
}

function finish(r: Checks, agreementId: Hex | null): Report {
  const has = (s: Status) => r.checks.some((c) => c.status === s);
  return { outcome: has('fail') ? 'failed' : has('error') ? 'unreadable' : 'verified', agreementId, checks: r.checks };
}

const errText = (e: unknown) => (e as any)?.shortMessage ?? (e as Error)?.message ?? String(e);
const A = (x: Hex) => getAddress(x);

// ------------------------------------------------------------------ the verifier

/** Nesting serde_json (pactum verify's parser) reads: deeper documents are unreadable there. */
const MAX_DEPTH = 127;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why pactum verify's JSON parser would refuse this parsed document, if it would. */
function unreadableToRust(v: unknown, depth = 0): string | null {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? 'a string with an unpaired UTF-16 surrogate' : null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'a number out of range';
  if (typeof v !== 'object' || v === null) return null;
  if (depth + 1 > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
  for (const [k, x] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
    if (typeof k === 'string' && LONE_SURROGATE.test(k)) return 'a key with an unpaired UTF-16 surrogate';
    const why = unreadableToRust(x, depth + 1);
    if (why) return why;
  }
  return null;
}

/**
 * A bundle file's text as JSON, refusing a member named twice in one object (JSON.parse keeps the
 * last, other parsers the first: a forger could show a reader one summary and the verifier
 * another). The same rule as pactum verify's `parse_bundle_text`.
 */
export function parseBundleText(text: string): unknown {
  const value = JSON.parse(text);
  // The text is valid JSON: one pass over its tokens finds a repeated key.
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) throw new Error(`member ${JSON.stringify(key)} appears twice in one object`);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
  return value;
}

/**
 * Members this verifier does not know, outside `extensions`: allowed, never checked, and so listed
 * in the report (as pactum verify's `unknown_members`, in the same order).
 */
export function unknownMembers(raw: any): string[] {
  const out: string[] = [];
  const object = (v: any, at: string, known: string[]) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const k of Object.keys(v).sort()) if (!known.includes(k)) out.push(`${at}${k}`);
  };
  const each = (v: any, at: string, known: string[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => object(x, `${at}[${i}].`, known));
  };
  object(raw, '', ['format', 'chainId', 'escrow', 'exportedAt', 'asOf', 'created', 'agreementId', 'agreement', 'terms', 'signatures', 'events', 'summary', 'offchainLog', 'extensions', 'exporter']);
  object(raw?.asOf, 'asOf.', ['number', 'hash']);
  object(raw?.created, 'created.', ['blockNumber', 'blockHash', 'txHash']);
  object(raw?.agreement, 'agreement.', ['brand', 'creator', 'arbiter', 'token', 'termsHash', 'arbiterFeeBps', 'contestWindow', 'arbitrationWindow', 'revisionRounds', 'deadline', 'salt', 'milestones']);
  each(raw?.agreement?.milestones, 'agreement.milestones', ['amount', 'deadline', 'reviewWindow']);
  object(raw?.terms, 'terms.', ['canonical', 'hash']);
  each(raw?.signatures, 'signatures', ['role', 'signer', 'signature', 'method']);
  each(raw?.events, 'events', ['name', 'blockNumber', 'blockHash', 'txHash', 'logIndex', 'topics', 'data']);
  object(raw?.summary, 'summary.', ['status', 'nonce', 'fundedCount', 'funded', 'paidToCreator', 'refundedToBrand', 'arbiterFees', 'deferred', 'held', 'milestones']);
  each(raw?.summary?.milestones, 'summary.milestones', ['status', 'revisions']);
  each(raw?.offchainLog, 'offchainLog', ['seq', 'entry', 'prevHash', 'hash']);
  object(raw?.exporter, 'exporter.', ['address', 'signature']);
  return out;
}

/** The `format` check alone: the bundle, or why it cannot be read (needs no trust and no node). */
export function readBundle(raw: unknown): { bundle: Bundle } | { error: string } {
  const refused = unreadableToRust(raw);
  if (refused) return { error: `not JSON pactum verify reads: ${refused}` };
  const format = typeof (raw as any)?.format === 'string' ? ((raw as any).format as string) : '';
  if (format !== FORMAT) return { error: format.startsWith(FORMAT_FAMILY) ? `format ${JSON.stringify(format)}: this verifier reads ${FORMAT}` : `not an audit bundle (format ${JSON.stringify(format)})` };
  try {
    return { bundle: parseBundle(raw) };
  } catch (e) {
    return { error: `unreadable ${FORMAT}: ${(e as Error).message}` };
  }
}

/** Checks a bundle (the parsed JSON exactly as received) against a node. */
export async function verifyBundle(raw: unknown, rpc: Rpc, trust: Trust): Promise<Report> {
  const r = new Checks();
  const read = readBundle(raw);
  if ('error' in read) {
    r.error('format', read.error);
    return finish(r, null);
  }
  const b = read.bundle;
  const unknown = unknownMembers(raw);
  r.pass('format', unknown.length ? `${FORMAT}; members this verifier does not know, NOT checked: ${unknown.join(', ')}` : FORMAT);
  const escrow = lc(trust.escrow);
  const trustedExporter = trust.exporter ? lc(trust.exporter) : null;
  await exporter(r, raw as Record<string, unknown>, b, trustedExporter);

  r.check('pinned-escrow', b.escrow === escrow, `the trusted escrow ${A(escrow)}`, `the bundle names escrow ${A(b.escrow)}, the trusted one is ${A(escrow)}`);
  let nodeChain: bigint;
  try {
    nodeChain = BigInt(await rpc('eth_chainId', []));
  } catch (e) {
    r.error('node-chain', `the node did not answer: ${errText(e)}`);
    return finish(r, b.agreementId);
  }
  const chainOk = nodeChain === b.chainId && (trust.chainId === null || trust.chainId === undefined || trust.chainId === nodeChain);
  r.check('node-chain', chainOk, `chain ${nodeChain}`, `node serves chain ${nodeChain}, the bundle says ${b.chainId}${trust.chainId !== null && trust.chainId !== undefined ? `, the trusted deployment is on ${trust.chainId}` : ''}`);
  if (!chainOk) return finish(r, b.agreementId);

  // Everything below asks the node about the trusted escrow, never the bundle's.
  try {
    const block = await rpc('eth_getBlockByNumber', [toHex(b.asOf.number), false]);
    if (!block) r.fail('as-of-block', `block ${b.asOf.number} is not on the node's chain (beyond its head)`);
    else r.check('as-of-block', lc(block.hash) === b.asOf.hash, `block ${b.asOf.number} ${b.asOf.hash}`, `block ${b.asOf.number} is ${lc(block.hash)} on the node, the bundle says ${b.asOf.hash}`);
  } catch (e) {
    r.error('as-of-block', `node error: ${errText(e)}`);
  }

  const U40 = 1n << 40n;
  if (b.agreement.deadline >= U40 || b.agreement.milestones.some((m) => m.deadline >= U40)) {
    r.fail('agreement-id', `${b.agreement.deadline >= U40 ? 'deadline' : 'milestone deadline'} does not fit the escrow's uint40`);
    return finish(r, b.agreementId);
  }
  const id = lc(hashTypedData(agreementTypedData(b.agreement, b.chainId, escrow)));
  r.check('agreement-id', id === b.agreementId, `EIP-712 digest ${id}`, `the agreement's EIP-712 digest is ${id}, the bundle says ${b.agreementId}`);

  let logs: NodeLog[];
  try {
    logs = await agreementLogs(rpc, escrow, b.agreementId, b.created.blockNumber, b.asOf.number);
  } catch (e) {
    r.error('events-complete', errText(e));
    return finish(r, b.agreementId);
  }
  creation(r, b, logs);
  completeness(r, b.events, logs);
  names(r, b.events);
  await laterEvents(r, rpc, escrow, b, !!trust.historical);
  await replay(r, rpc, escrow, b, logs);
  await deferredCredits(r, rpc, escrow, b, logs);
  const submitted = await submittedSignatures(rpc, escrow, b);
  await signatures(r, rpc, b, submitted);
  terms(r, b);
  await offchainLog(r, rpc, b, submitted);
  return finish(r, b.agreementId);
}

async function exporter(r: Checks, raw: Record<string, unknown>, b: Bundle, trusted: Hex | null) {
  const sig = b.exporter;
  if (!sig) {
    if (trusted) r.fail('exporter-signature', `unsigned; ${A(trusted)} must sign it`);
    else r.push('exporter-signature', 'skipped', 'the bundle is not signed');
    return;
  }
  let a: Hex;
  try {
    a = await recoverSigner(hashMessage({ raw: exporterDigest(raw) }), sig.signature);
  } catch (e) {
    r.fail('exporter-signature', `unreadable signature: ${(e as Error).message}`);
    return;
  }
  if (a === sig.address && (!trusted || trusted === a)) r.pass('exporter-signature', `signed by ${A(a)}`);
  else if (a === sig.address) r.fail('exporter-signature', `signed by ${A(a)}, not by the trusted exporter ${A(trusted ?? a)}`);
  else r.fail('exporter-signature', `the signature recovers to ${A(a)}, not the stated ${A(sig.address)}: the document changed after signing, or the signature is forged`);
}

function creation(r: Checks, b: Bundle, logs: NodeLog[]) {
  const first = logs[0];
  if (!first) {
    r.fail('creation', `the escrow logged nothing for ${b.agreementId} from block ${b.created.blockNumber} to ${b.asOf.number}`);
    return;
  }
  let created: any = null;
  try {
    const ev = decodeEventLog({ abi: escrowAbi, topics: first.topics as [Hex, ...Hex[]], data: first.data });
    if (ev.eventName === 'AgreementCreated') created = (ev.args as any).agreement;
  } catch {
    created = null;
  }
  if (!created) {
    r.fail('creation', `the first log from block ${b.created.blockNumber} is not AgreementCreated (${place(first)})`);
    return;
  }
  const atStated = first.txHash === b.created.txHash && first.blockHash === b.created.blockHash && first.blockNumber === b.created.blockNumber;
  r.check(
    'creation',
    atStated && sameAgreement(created, b.agreement),
    `created in tx ${b.created.txHash} at block ${b.created.blockNumber}`,
    atStated ? 'AgreementCreated carries another agreement than the bundle’s' : `AgreementCreated is in tx ${first.txHash} (${place(first)}), not where the bundle says`,
  );
}

function completeness(r: Checks, events: EventDoc[], logs: NodeLog[]) {
  if (events.length === logs.length && events.every((e, i) => sameLog(e, logs[i]))) {
    r.pass('events-complete', `all ${logs.length} events, in chain order`);
    return;
  }
  const why: string[] = [];
  for (const l of logs) {
    const n = events.filter((e) => sameLog(e, l)).length;
    if (n === 0) why.push(`omitted: ${decodeName(l.topics[0])} at ${place(l)}`);
    else if (n > 1) why.push(`listed ${n} times: ${decodeName(l.topics[0])} at ${place(l)}`);
  }
  for (const e of events) {
    if (!logs.some((l) => sameLog(e, l))) {
      const altered = logs.some((l) => samePlace(e, l));
      why.push(`${altered ? 'altered (topics or data differ from the node’s)' : 'not the escrow’s log for this agreement'}: ${e.name} at ${place(e)}`);
    }
  }
  r.fail('events-complete', `the node has ${logs.length} events, the bundle ${events.length}: ${why.length ? why.join('; ') : 'the same events, in another order'}`);
}

function names(r: Checks, events: EventDoc[]) {
  const wrong = events.flatMap((e) => {
    const real = nameOfTopic(e.topics[0] ?? ZERO32);
    return real === e.name ? [] : [`${place(e)} is labelled ${e.name} but is ${real ?? 'no escrow event'}`];
  });
  r.check('event-names', wrong.length === 0, 'every label is the name its topic 0 decodes to', wrong.join('; '));
}

async function laterEvents(r: Checks, rpc: Rpc, escrow: Hex, b: Bundle, historical: boolean) {
  let head: bigint;
  try {
    head = BigInt(await rpc('eth_blockNumber', []));
  } catch (e) {
    r.error('later-events', `node error: ${errText(e)}`);
    return;
  }
  if (head <= b.asOf.number) {
    r.pass('later-events', `the bundle is as of the node's head ${head}`);
    return;
  }
  let later: NodeLog[];
  try {
    later = await agreementLogs(rpc, escrow, b.agreementId, b.asOf.number + 1n, head);
  } catch (e) {
    r.error('later-events', errText(e));
    return;
  }
  if (!later.length) {
    r.pass('later-events', `no event of the agreement in blocks ${b.asOf.number + 1n}..=${head}`);
    return;
  }
  const detail = `${later.length} event(s) after the as-of block ${b.asOf.number} up to head ${head}: ${later.map((l) => `${decodeName(l.topics[0])} at ${place(l)}`).join(', ')}`;
  if (historical) r.push('later-events', 'skipped', `historical bundle accepted; ${detail}`);
  else r.fail('later-events', `the bundle leaves out ${detail}`);
}

async function replay(r: Checks, rpc: Rpc, escrow: Hex, b: Bundle, logs: NodeLog[]) {
  const ledger = new Ledger(b.agreement);
  for (const l of logs.slice(1)) {
    let ev: { eventName: string; args: any };
    try {
      ev = decodeEventLog({ abi: escrowAbi, topics: l.topics as [Hex, ...Hex[]], data: l.data }) as any;
    } catch (e) {
      r.fail('replay', `the log at ${place(l)} does not decode: ${errText(e)}`);
      return;
    }
    try {
      ledger.apply(ev.eventName, ev.args ?? {});
    } catch (e) {
      r.fail('replay', `${ev.eventName} at ${place(l)}: ${(e as Error).message}`);
      return;
    }
  }
  r.pass('replay', `${logs.length} events fold through the ledger`);

  try {
    const out: Hex = await rpc('eth_call', [{ to: escrow, data: encodeFunctionData({ abi: escrowAbi, functionName: 'getState', args: [b.agreementId] }) }, { blockHash: b.asOf.hash }]);
    const s = decodeFunctionResult({ abi: escrowAbi, functionName: 'getState', data: out }) as any;
    const ours = [BigInt(STATUS[ledger.status]), ledger.nonce, ledger.fundedCount, ledger.packedMilestones()];
    const theirs = [BigInt(s.status), BigInt(s.nonce), BigInt(s.fundedCount), BigInt(s.milestones)];
    r.check(
      'state',
      ours.every((x, i) => x === theirs[i]),
      `${ledger.status} at nonce ${ledger.nonce}, ${ledger.fundedCount} funded`,
      `the replay gives (${ours.join(', ')}), the escrow's getState (${theirs.join(', ')}) (status, nonce, funded, milestones)`,
    );
  } catch (e) {
    r.error('state', `getState at the as-of block: ${errText(e)}`);
  }

  const ours = ledger.summary();
  const theirs = b.summary;
  const diff: string[] = [];
  for (const k of Object.keys(ours) as (keyof SummaryDoc)[]) {
    const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    if (show(ours[k]) !== show(theirs[k])) diff.push(`${k}: the chain says ${show(ours[k])}, the bundle ${show(theirs[k])}`);
  }
  if (!diff.length)
    r.pass('summary', `${ours.status}: funded ${ours.funded}, paid to creator ${ours.paidToCreator}, refunded ${ours.refundedToBrand}, fees ${ours.arbiterFees}, deferred ${ours.deferred}, held ${ours.held}`);
  else r.fail('summary', diff.join('; '));
}

/**
 * Payouts the escrow could not push became credits of their recipients, withdrawn per account and
 * token rather than per agreement: each must still be credited or have left through `Withdrawn`.
 */
async function deferredCredits(r: Checks, rpc: Rpc, escrow: Hex, b: Bundle, logs: NodeLog[]) {
  const deferred = new Map<string, { token: Hex; account: Hex; amount: bigint; first: bigint }>();
  for (const l of logs) {
    if (nameOfTopic(l.topics[0]) !== 'PaymentDeferred') continue;
    const ev = decodeEventLog({ abi: escrowAbi, topics: l.topics as [Hex, ...Hex[]], data: l.data }) as any;
    const token = lc(ev.args.token);
    const account = lc(ev.args.account);
    const key = `${token}${account}`;
    const e = deferred.get(key) ?? { token, account, amount: 0n, first: l.blockNumber };
    e.amount += BigInt(ev.args.amount);
    if (l.blockNumber < e.first) e.first = l.blockNumber;
    deferred.set(key, e);
  }
  if (!deferred.size) return r.pass('deferred-credits', 'no payout of this agreement was deferred');
  const withdrawnTopic = [...TOPIC_NAMES].find(([, n]) => n === 'Withdrawn')?.[0] as Hex;
  const pad = (a: Hex) => `0x${a.slice(2).padStart(64, '0')}` as Hex;
  const details: string[] = [];
  let ok = true;
  for (const key of [...deferred.keys()].sort()) {
    const { token, account, amount, first } = deferred.get(key)!;
    let credit: bigint;
    let withdrawn = 0n;
    try {
      const out: Hex = await rpc('eth_call', [{ to: escrow, data: encodeFunctionData({ abi: escrowAbi, functionName: 'claimable', args: [token, account] }) }, { blockHash: b.asOf.hash }]);
      credit = BigInt(decodeFunctionResult({ abi: escrowAbi, functionName: 'claimable', data: out }) as any);
    } catch (e) {
      return r.error('deferred-credits', `claimable at the as-of block: ${errText(e)}`);
    }
    try {
      for (const w of await logsInRanges(rpc, escrow, [withdrawnTopic, pad(token), pad(account)], first, b.asOf.number)) {
        const ev = decodeEventLog({ abi: escrowAbi, topics: w.topics as [Hex, ...Hex[]], data: w.data }) as any;
        withdrawn += BigInt(ev.args.amount);
      }
    } catch (e) {
      return r.error('deferred-credits', errText(e));
    }
    if (credit + withdrawn < amount) ok = false;
    details.push(`${amount} of token ${A(token)} credited to ${A(account)}: withdrawn ${withdrawn} since block ${first}, credit now ${credit}`);
  }
  const detail = details.join('; ');
  r.check('deferred-credits', ok, detail, `a deferred payout is neither credited nor withdrawn: ${detail}`);
}

type Submitted = { found: { brand: Hex; creator: Hex } } | { unknown: string } | { nodeError: string };

function decodeCreate(input: Hex): { agreement: any; brand: Hex; creator: Hex } | null {
  try {
    const call = decodeFunctionData({ abi: escrowAbi, data: input });
    if (call.functionName !== 'create' && call.functionName !== 'createAndFund' && call.functionName !== 'createAndFundWithPermit') return null;
    const [agreement, brand, creator] = call.args as any[];
    return { agreement, brand: lc(brand), creator: lc(creator) };
  } catch {
    return null;
  }
}

/** The frames of a callTracer trace that took effect: a reverted frame (with an `error`) is left out with its subcalls, and so is any frame but a CALL (as verify.rs). */
function frames(frame: any, out: { to: Hex | null; input: Hex }[]) {
  if (frame?.error !== undefined && frame?.error !== null) return;
  const kind = typeof frame?.type === 'string' ? frame.type : 'CALL';
  if (kind.toUpperCase() === 'CALL' && typeof frame?.input === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(frame.input)) out.push({ to: typeof frame.to === 'string' ? lc(frame.to) : null, input: lc(frame.input) });
  for (const c of Array.isArray(frame?.calls) ? frame.calls : []) frames(c, out);
}

async function submittedSignatures(rpc: Rpc, escrow: Hex, b: Bundle): Promise<Submitted> {
  const matches = (a: any) => {
    try {
      return lc(hashTypedData(agreementTypedData(a, b.chainId, escrow))) === b.agreementId;
    } catch {
      return false;
    }
  };
  let tx: any;
  try {
    tx = await rpc('eth_getTransactionByHash', [b.created.txHash]);
  } catch (e) {
    return { nodeError: errText(e) };
  }
  if (!tx) return { unknown: `tx ${b.created.txHash} is not on the node` };
  if (typeof tx.to === 'string' && lc(tx.to) === escrow) {
    const c = decodeCreate(lc(tx.input ?? tx.data ?? '0x'));
    if (c && matches(c.agreement)) return { found: { brand: c.brand, creator: c.creator } };
  }
  // Created through another contract (a wallet, a batcher): find the call in the trace.
  let trace: any;
  try {
    trace = await rpc('debug_traceTransaction', [b.created.txHash, { tracer: 'callTracer' }]);
  } catch (e) {
    return { unknown: `the creation tx calls the escrow through another contract and the node cannot trace it (${errText(e)})` };
  }
  const calls: { to: Hex | null; input: Hex }[] = [];
  frames(trace, calls);
  for (const { to, input } of calls) {
    if (to !== escrow) continue;
    const c = decodeCreate(input);
    if (c && matches(c.agreement)) return { found: { brand: c.brand, creator: c.creator } };
  }
  return { unknown: 'no call creating this agreement in the creation tx’s trace' };
}

async function signatures(r: Checks, rpc: Rpc, b: Bundle, submitted: Submitted) {
  for (const role of ['brand', 'creator'] as const) {
    const id = `signature-${role}`;
    const party = b.agreement[role];
    const found = b.signatures.filter((s) => s.role === role);
    if (found.length !== 1) {
      r.fail(id, `${found.length} ${role} signatures in the bundle (one expected)`);
      continue;
    }
    const s = found[0];
    if (s.signer !== party) {
      r.fail(id, `signed by ${A(s.signer)}, the agreement's ${role} is ${A(party)}`);
      continue;
    }
    const got = await partySigned(rpc, party, b.agreementId, s.signature, b.created.blockHash);
    if ('why' in got) r.fail(id, got.why);
    else if (got.ok !== s.method) r.fail(id, `labelled ${s.method} but verifies as ${got.ok}`);
    else r.pass(id, got.ok === 'ecdsa' ? `ECDSA by ${A(party)}` : `${A(party)}'s contract wallet accepts it (EIP-1271, at the creation block)`);
  }
  if ('found' in submitted) {
    const sig = (role: string) => b.signatures.find((s) => s.role === role)?.signature;
    const { brand, creator } = submitted.found;
    r.check('signatures-submitted', sig('brand') === brand && sig('creator') === creator, 'the creation transaction submitted exactly these signatures', `the creation transaction submitted brand ${brand} and creator ${creator}`);
  } else if ('unknown' in submitted) r.push('signatures-submitted', 'skipped', submitted.unknown);
  else r.error('signatures-submitted', `node error: ${submitted.nodeError}`);
}

function terms(r: Checks, b: Bundle) {
  const t = b.terms;
  if (!t) {
    r.push('terms', 'skipped', 'absent: the terms text was not drafted on the exporting server; only its hash is on chain');
    return;
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalize(JSON.parse(t.canonical));
  } catch (e) {
    r.fail('terms', `the terms text is not JSON: ${(e as Error).message}`);
    return;
  }
  if (canonical !== t.canonical) {
    r.fail('terms', 'the terms text is not in RFC 8785 canonical form');
    return;
  }
  const hash = keccak256(stringToBytes(t.canonical));
  r.check('terms', hash === t.hash && hash === b.agreement.termsHash, `keccak256 of the canonical text is the signed termsHash ${hash}`, `the text hashes to ${hash}; the bundle says ${t.hash}, the agreement signed ${b.agreement.termsHash}`);
}

/** The signature a `draft_signed` entry records: (actor, digest, signature), or null. */
function entrySignature(e: LogEntryDoc): { actor: Hex; digest: Hex; signature: Hex } | null {
  let v: any;
  try {
    v = JSON.parse(e.entry);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (canonicalize(v) !== e.entry) throw new Error('not in RFC 8785 canonical form');
  if (v?.kind !== 'draft_signed') return null;
  try {
    const d = obj(v.details, 'details');
    return { actor: address(v.actor, 'actor'), digest: b256(d.digest, 'details.digest'), signature: bytes(d.signature, 'details.signature') };
  } catch (err) {
    throw new Error(`a draft_signed entry without actor, digest or signature: ${(err as Error).message}`);
  }
}

async function offchainLog(r: Checks, rpc: Rpc, b: Bundle, submitted: Submitted) {
  const log = b.offchainLog;
  if (!log) {
    r.push('offchain-log', 'skipped', 'absent: the agreement was not drafted on the exporting server');
    r.push('offchain-log-anchored', 'skipped', 'absent');
    return;
  }
  let prev: Hex = ZERO32;
  const bad: string[] = [];
  const signed: { actor: Hex; digest: Hex; signature: Hex }[] = [];
  for (const [i, e] of log.entries()) {
    const h = keccak256(concat([prev, toHex(stringToBytes(e.entry))]));
    if (e.prevHash !== prev || e.hash !== h || e.seq !== BigInt(i + 1)) bad.push(`entry ${e.seq} breaks the chain (expected prev ${prev}, hash ${h})`);
    prev = e.hash;
    let s: ReturnType<typeof entrySignature>;
    try {
      s = entrySignature(e);
    } catch (err) {
      bad.push(`entry ${e.seq}: ${(err as Error).message}`);
      continue;
    }
    if (s) {
      // Given before the agreement was created: a contract wallet is asked where the escrow asked it.
      const got = await partySigned(rpc, s.actor, s.digest, s.signature, b.created.blockHash);
      if ('why' in got) bad.push(`entry ${e.seq}: the signature it records ${got.why}`);
      signed.push(s);
    }
  }
  // The hash chain has no key: only the parties' own signatures in it prove themselves; the rest
  // is the exporter's word, vouched for only when the exporter's signature held.
  const intact = `${log.length} canonical entries, an unbroken hash chain to ${prev}; every signature recorded verifies`;
  if (bad.length) r.fail('offchain-log', bad.join('; '));
  else if (r.has('exporter-signature', 'pass')) r.pass('offchain-log', `${intact}; attributed by the exporter's signature`);
  else
    r.push(
      'offchain-log',
      'skipped',
      `${intact}, but no exporter signs it: anyone can rewrite its entries and recompute the chain, so only the parties' signatures in it are proven (offchain-log-anchored)`,
    );
  const recorded = (party: Hex, sig: Hex) => signed.some((s) => s.actor === party && s.digest === b.agreementId && s.signature === sig);
  if ('found' in submitted)
    r.check(
      'offchain-log-anchored',
      recorded(b.agreement.brand, submitted.found.brand) && recorded(b.agreement.creator, submitted.found.creator),
      'the log records both parties signing this agreement with the bytes submitted on chain',
      'the log does not record both parties signing this agreement with the bytes submitted on chain',
    );
  else if ('unknown' in submitted) r.push('offchain-log-anchored', 'skipped', submitted.unknown);
  else r.error('offchain-log-anchored', `node error: ${submitted.nodeError}`);
}
