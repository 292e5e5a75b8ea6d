// The audit bundle checked in the browser, by this page's own code, not taken from the server:
// the agreement id is the EIP-712 digest of the agreement as signed; each party's signature
// recovers to that party; the terms document's RFC 8785 canonical form hashes (keccak256) to the
// termsHash the agreement (and so the escrow) holds; the off-chain log is an unbroken hash chain;
// and, when a wallet is connected to the bundle's chain, every event is on chain where the bundle
// says it is.

import canonicalize from 'canonicalize';
import {
  concat,
  getAddress,
  hashTypedData,
  isAddressEqual,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
  toHex,
  type Hex,
} from 'viem';

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

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

/** The typed data of an agreement (as the API serializes it), built here from the struct. */
export function agreementTypedData(agreement: any, chainId: number, escrow: string) {
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

type Rpc = (method: string, params: unknown[]) => Promise<any>;

export async function verifyBundle(b: any, rpc: Rpc | null): Promise<Check[]> {
  const out: Check[] = [];
  const add = (what: string, ok: boolean, detail: string) => out.push({ what, ok, detail });
  add('format', b?.format === 'pactum-audit-bundle/1', `format ${JSON.stringify(b?.format)}`);
  if (!b?.agreement) {
    add('agreement present', false, 'the bundle holds no agreement');
    return out;
  }
  const a = b.agreement;
  let id: Hex | null = null;
  try {
    id = hashTypedData(agreementTypedData(a, Number(b.chainId), b.escrow));
    add('agreement id = EIP-712 digest of the agreement (computed here)', id === b.agreementId?.toLowerCase(), `computed ${id}, bundle says ${b.agreementId}`);
  } catch (e) {
    add('agreement id = EIP-712 digest of the agreement (computed here)', false, String(e));
  }

  if (!b.terms) {
    add('terms document', false, 'not in the bundle');
  } else {
    try {
      const h = termsHash(b.terms.document);
      add('terms document hashes (RFC 8785 + keccak256, computed here) to the on-chain termsHash', h === String(a.termsHash).toLowerCase(), `computed ${h}, agreement's termsHash ${a.termsHash}`);
      add('terms hash stated in the bundle matches', h === String(b.terms.hash).toLowerCase(), `bundle states ${b.terms.hash}`);
    } catch (e) {
      add('terms document canonicalizes (RFC 8785)', false, String(e));
    }
  }

  const typed = agreementTypedData(a, Number(b.chainId), b.escrow);
  for (const role of ['brand', 'creator'] as const) {
    const party = a[role] as string;
    const what = `${role} signature recovers to the ${role} ${party}`;
    const s = (b.signatures ?? []).find((x: any) => x.role === role);
    if (!s) {
      add(what, false, 'missing');
      continue;
    }
    if (s.method === 'eip1271') {
      add(what, false, 'a contract-wallet (EIP-1271) signature cannot be checked by recovery; run `pactum verify` against a node');
      continue;
    }
    try {
      const signer = await recoverTypedDataAddress({ ...typed, signature: s.signature as Hex });
      add(what, isAddressEqual(signer, party as Hex), `recovers to ${signer}`);
    } catch (e) {
      add(what, false, `does not recover: ${String(e)}`);
    }
  }

  let prev: Hex = `0x${'0'.repeat(64)}`;
  let chainOk = true;
  (b.offchainLog ?? []).forEach((e: any, i: number) => {
    const h = keccak256(concat([prev, toHex(stringToBytes(e.entry))]));
    if (e.prevHash?.toLowerCase() !== prev || e.hash?.toLowerCase() !== h || e.seq !== i + 1) {
      chainOk = false;
      add(`off-chain log entry ${e.seq}`, false, `expected previous ${prev} and hash ${h}`);
    }
    prev = e.hash?.toLowerCase() ?? prev;
  });
  if (chainOk) add('off-chain log is an unbroken hash chain (computed here)', true, `${(b.offchainLog ?? []).length} entries`);

  const first = (b.events ?? [])[0];
  add('first event creates this agreement', first?.event === 'AgreementCreated' && first?.topics?.[1]?.toLowerCase() === String(b.agreementId).toLowerCase(), 'AgreementCreated with the agreement id as its first indexed topic');

  if (rpc) {
    let chain: number | null = null;
    try {
      chain = Number(BigInt(await rpc('eth_chainId', [])));
    } catch {
      chain = null;
    }
    if (chain !== Number(b.chainId)) {
      add('events on chain', false, `the wallet is not on the bundle's chain ${b.chainId}; connect it to check the events`);
    } else {
      for (const e of b.events ?? []) {
        const what = `event ${e.event} at block ${e.blockNumber}, log ${e.logIndex}, is on chain`;
        try {
          const r = await rpc('eth_getTransactionReceipt', [e.txHash]);
          const log = r?.logs?.find((l: any) => Number(BigInt(l.logIndex)) === Number(e.logIndex));
          const ok =
            !!log &&
            log.address.toLowerCase() === String(b.escrow).toLowerCase() &&
            log.blockHash.toLowerCase() === String(e.blockHash).toLowerCase() &&
            Number(BigInt(log.blockNumber)) === Number(e.blockNumber) &&
            JSON.stringify(log.topics.map((t: string) => t.toLowerCase())) === JSON.stringify(e.topics.map((t: string) => t.toLowerCase())) &&
            log.data.toLowerCase() === String(e.data).toLowerCase();
          add(what, ok, ok ? `in transaction ${e.txHash}` : `transaction ${e.txHash} has no such log from the escrow`);
        } catch (err) {
          add(what, false, `node error: ${String(err)}`);
        }
      }
    }
  } else {
    add('events on chain', false, 'no wallet connected: the events were not checked against a node');
  }
  return out;
}
