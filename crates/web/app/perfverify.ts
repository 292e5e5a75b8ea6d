// "Verify" on a performance agreement's page: the agreement and its reports checked in this
// browser against a node (the wallet's, or an RPC URL typed on the page), never taken from
// Pactum's server. The API gives only the terms and the records; the node gives everything else.
//
// Trusted: the node, and the performance contract /v1/config names for the agreement's chain (no
// committed deployments file names a performance contract, as deployments/escrows.json does the
// escrow's; so the page checks that the API's view names that same contract, that the node serves
// the agreement's chain and holds code there, and that this contract itself, asked by eth_call,
// computes the agreement id from the terms shown: its EIP-712 domain names the contract).
//
// Checks, in order (each pass, fail, or error when the node or the API did not answer):
//   contract           the chain's performance contract from /v1/config = the view's; node chain; code
//   agreement-id       hashAgreement(terms the API shows), by eth_call to that contract, = the id
//   creation           the node's PerformanceAgreementCreated log of the id (its block starts the log search)
//   reports            the periods with ReportAccepted logs on the node = the periods the API says reported
//   period-P-report    ReportAccepted logs (topic1 = id, topic2 = P): versions 1..n; the latest's
//                      units, revenue, detailRoot (and the API's figures equal them)
//   period-P-root      the records the API pages out for that root, StandardMerkleTree recomputed
//                      here (app/merkle.ts) = the on-chain detailRoot
//   period-P-totals    their count = units, their revenue sum = revenue
//   period-P-state     getPeriod(id, P) on the node: units, revenue, pay, version = the latest report's
// Verdict: verified only if every check passes; any fail: not verified; else any error: undecided.

import { decodeEventLog, decodeFunctionResult, encodeFunctionData, getAddress, pad, toEventSelector, toHex, type Abi, type Hex } from 'viem';
import { abi as perfAbiJson } from '../../bindings/artifacts/PactumPerformance.json';
import { api, ApiError } from './api';
import { merkleRoot, type LeafRecord } from './merkle';
import { logsInRanges, type Rpc } from './verify';

const perfAbi = perfAbiJson as Abi;
const ZERO32: Hex = `0x${'0'.repeat(64)}`;
const eventTopic = (name: string) => toEventSelector(perfAbi.find((x) => x.type === 'event' && x.name === name) as any);
const CREATED = eventTopic('PerformanceAgreementCreated');
const REPORTED = eventTopic('ReportAccepted');
const METRIC_CODE: Record<string, number> = { conversions: 0, qualified_leads: 1, revenue: 2 };
const PAGE = 1000;

export type PerfStatus = 'pass' | 'fail' | 'error';
export interface PerfCheck {
  id: string;
  title: string;
  status: PerfStatus;
  detail: string;
}
export type PerfOutcome = 'verified' | 'not-verified' | 'undecided';
export interface PerfReport {
  outcome: PerfOutcome;
  checks: PerfCheck[];
}

/** The `PerformanceAgreement` struct of the terms as the API shows them (PerformanceTerms JSON). */
export function agreementStruct(t: any) {
  const metric = METRIC_CODE[String(t.metric)];
  if (metric === undefined) throw new Error(`unknown metric ${JSON.stringify(t.metric)}`);
  return {
    brand: getAddress(t.brand),
    partner: getAddress(t.partner),
    attester: getAddress(t.attester),
    arbiter: t.arbiter ? getAddress(t.arbiter) : getAddress(`0x${'0'.repeat(40)}`),
    token: getAddress(t.token),
    termsHash: (t.termsHash ?? ZERO32) as Hex,
    metric,
    arbiterFeeBps: Number(t.arbiterFeeBps ?? 0),
    start: Number(t.start),
    period: Number(t.period),
    periods: Number(t.periods),
    reportWindow: Number(t.reportWindow),
    lockWindow: Number(t.lockWindow),
    arbitrationWindow: Number(t.arbitrationWindow),
    deadline: Number(t.deadline),
    salt: BigInt(t.salt ?? 0),
    tiers: (t.tiers as any[]).map((x) => ({ fromUnits: BigInt(x.fromUnits), rate: BigInt(x.rate) })),
  };
}

async function call(rpc: Rpc, to: Hex, functionName: string, args: unknown[]): Promise<any> {
  const data = encodeFunctionData({ abi: perfAbi, functionName, args } as any);
  const out = await rpc('eth_call', [{ to, data }, 'latest']);
  return decodeFunctionResult({ abi: perfAbi, functionName, data: out } as any);
}

const lc = (x: unknown) => String(x).toLowerCase();
const short = (x: string) => (x.length > 14 ? `${x.slice(0, 8)}\u2026${x.slice(-6)}` : x);

/** Every record of the tree with root `root` of `period`, paged from the API (following `next`). */
async function treeRecords(id: string, period: number, root: Hex): Promise<{ records: LeafRecord[]; pages: number; leaves: number | null }> {
  const records: LeafRecord[] = [];
  let after: string | null = null;
  let pages = 0;
  let leaves: number | null = null;
  for (;;) {
    const q = new URLSearchParams({ root, limit: String(PAGE) });
    if (after !== null) q.set('after', after);
    const page = await api<any>('GET', `/v1/performance/agreements/${id}/periods/${period}/records?${q}`);
    pages += 1;
    leaves ??= typeof page.leaves === 'number' ? page.leaves : null;
    for (const r of page.records as any[]) records.push({ conversionId: String(r.conversionId), occurredAt: String(r.occurredAt), revenue: String(r.revenue) });
    if (!page.next || pages > 10_000) break;
    after = String(page.next);
  }
  return { records, pages, leaves };
}

/**
 * Verifies performance agreement `view` (the API's `GET /v1/performance/agreements/{id}`) against
 * the node behind `rpc`, trusting `trustedContract` (the chain's performance contract from
 * /v1/config) for chain `chainId`.
 */
export async function verifyPerformance(view: any, rpc: Rpc, trustedContract: Hex | null, chainId: number): Promise<PerfReport> {
  const checks: PerfCheck[] = [];
  const add = (id: string, title: string, status: PerfStatus, detail: string) => checks.push({ id, title, status, detail });
  const guard = async (id: string, title: string, f: () => Promise<[boolean, string]>) => {
    try {
      const [ok, detail] = await f();
      add(id, title, ok ? 'pass' : 'fail', detail);
      return ok;
    } catch (e) {
      add(id, title, 'error', `could not be decided: ${(e as Error).message}`);
      return false;
    }
  };
  const id = lc(view.id) as Hex;
  const contract = (trustedContract ? lc(trustedContract) : null) as Hex | null;

  // 1. The contract, and the id computed by it from the terms shown.
  await guard('contract', 'The chain’s performance contract', async () => {
    if (!contract) return [false, `/v1/config names no performance contract on chain ${chainId}`];
    const nodeChain = Number(BigInt(await rpc('eth_chainId', [])));
    const code: string = await rpc('eth_getCode', [contract, 'latest']);
    const bytes = Math.max(0, (code.length - 2) / 2);
    const problems: string[] = [];
    if (lc(view.contract) !== contract) problems.push(`the API’s view names ${view.contract}, not ${getAddress(contract)}`);
    if (nodeChain !== chainId) problems.push(`the node serves chain ${nodeChain}, the agreement is on ${chainId}`);
    if (bytes === 0) problems.push(`no code at ${getAddress(contract)} on the node`);
    return problems.length
      ? [false, problems.join('; ')]
      : [true, `${getAddress(contract)}, the performance contract /v1/config names for chain ${chainId} (no committed deployments file names one; the escrow’s are in deployments/escrows.json), the one the API’s view names; the node serves chain ${nodeChain} and holds ${bytes} bytes of code there`];
  });
  if (!contract) return finish(checks);

  await guard('agreement-id', 'The agreement id is the terms’ hash', async () => {
    let struct;
    try {
      struct = agreementStruct(view.agreement);
    } catch (e) {
      return [false, `the terms shown cannot be hashed: ${(e as Error).message}`];
    }
    let computed: Hex;
    try {
      computed = lc(await call(rpc, contract, 'hashAgreement', [struct])) as Hex;
    } catch (e) {
      return [false, `the contract refused to hash the terms shown (${(e as Error).message.split('\n')[0]})`];
    }
    return computed === id
      ? [true, `hashAgreement(terms shown) by eth_call to ${short(contract)} = ${computed}, the id`]
      : [false, `hashAgreement(terms shown) by eth_call to ${short(contract)} = ${computed}, not the id ${id}: these are not the terms signed`];
  });

  // 2. Creation, then every report on the node.
  let fromBlock: bigint | null = null;
  let latest = 0n;
  await guard('creation', 'Created on chain', async () => {
    latest = BigInt(await rpc('eth_blockNumber', []));
    const logs = await logsInRanges(rpc, contract, [CREATED, id], 0n, latest);
    if (!logs.length) return [false, `the node has no PerformanceAgreementCreated log of ${short(id)} from ${short(contract)} (blocks 0 to ${latest})`];
    fromBlock = logs[0].blockNumber;
    return [logs.length === 1, `PerformanceAgreementCreated in block ${logs[0].blockNumber}, tx ${logs[0].txHash}${logs.length > 1 ? `; ${logs.length} such logs, expected one` : ''}`];
  });
  if (fromBlock === null) return finish(checks);
  const from: bigint = fromBlock;

  const apiPeriods = (view.periods as any[]) ?? [];
  const onChainPeriods = new Set<number>();
  await guard('reports', 'Every report on chain, and only those, is shown', async () => {
    const logs = await logsInRanges(rpc, contract, [REPORTED, id], from, latest);
    for (const l of logs) onChainPeriods.add(Number(BigInt(l.topics[2])));
    const shown = new Set(apiPeriods.filter((p) => Number(p.version) > 0).map((p) => Number(p.period)));
    const missing = [...onChainPeriods].filter((p) => !shown.has(p));
    const extra = [...shown].filter((p) => !onChainPeriods.has(p));
    const list = (s: Iterable<number>) => [...s].sort((a, b) => a - b).join(', ') || 'none';
    return missing.length || extra.length
      ? [false, `${missing.length ? `reported on chain but not shown: period ${list(missing)}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `shown as reported, no report on chain: period ${list(extra)}` : ''}`]
      : [true, `${logs.length} ReportAccepted log${logs.length === 1 ? '' : 's'} from block ${from} to ${latest}; periods reported: ${list(onChainPeriods)}`];
  });

  for (const p of [...onChainPeriods].sort((a, b) => a - b)) {
    const shown = apiPeriods.find((x) => Number(x.period) === p);
    let last: any = null;
    await guard(`period-${p}-report`, `Period ${p}: its reports on chain`, async () => {
      const logs = await logsInRanges(rpc, contract, [REPORTED, id, pad(toHex(p), { size: 32 })], from, latest);
      const evs = logs.map((l) => ({ l, a: (decodeEventLog({ abi: perfAbi, topics: l.topics as [Hex, ...Hex[]], data: l.data }) as any).args }));
      if (!evs.length) return [false, 'no ReportAccepted log for this period'];
      const versions = evs.map((e) => Number(e.a.version));
      const inOrder = versions.every((v, i) => v === i + 1);
      last = evs[evs.length - 1].a;
      const at = evs[evs.length - 1].l;
      const facts = `v${last.version} (of ${versions.length}) in block ${at.blockNumber}, tx ${short(at.txHash)}: units ${last.units}, revenue ${last.revenue}, pay ${last.pay}, detailRoot ${last.detailRoot}`;
      const differ: string[] = [];
      if (!shown) differ.push('the API shows no such period');
      else {
        if (String(shown.units) !== String(last.units)) differ.push(`units ${shown.units}`);
        if (String(shown.revenue) !== String(last.revenue)) differ.push(`revenue ${shown.revenue}`);
        if (Number(shown.version) !== Number(last.version)) differ.push(`version ${shown.version}`);
        if (lc(shown.detailRoot) !== lc(last.detailRoot)) differ.push(`root ${shown.detailRoot}`);
      }
      if (!inOrder) return [false, `versions on chain ${versions.join(', ')}, not 1 to ${versions.length}; latest ${facts}`];
      return differ.length ? [false, `${facts}; but the page shows ${differ.join(', ')}`] : [true, `${facts}; the page shows the same`];
    });
    if (!last) continue;
    const root = lc(last.detailRoot) as Hex;
    const units = BigInt(last.units);
    const revenue = BigInt(last.revenue);

    // 3. The records behind the root, recomputed here.
    let records: LeafRecord[] | null = null;
    await guard(`period-${p}-root`, `Period ${p}: the records give the root on chain`, async () => {
      if (root === ZERO32) {
        records = [];
        return [units === 0n, units === 0n ? 'an empty report: the zero root, no records' : `the zero root (no records) for ${units} units`];
      }
      let got;
      try {
        got = await treeRecords(String(view.id), p, root);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return [false, `the API has no records for the root on chain ${root}: ${e.message}`];
        throw e;
      }
      records = got.records;
      const computed = merkleRoot(got.records);
      const ok = computed !== null && lc(computed) === root;
      return [ok, `${got.records.length} record${got.records.length === 1 ? '' : 's'} from the API (${got.pages} page${got.pages === 1 ? '' : 's'}${got.leaves !== null && got.leaves !== got.records.length ? `; it says the tree has ${got.leaves}` : ''}); StandardMerkleTree root computed here ${computed ?? '(none: no records)'}${ok ? ' = ' : ' ≠ '}the root on chain ${root}`];
    });
    await guard(`period-${p}-totals`, `Period ${p}: records count and revenue`, async () => {
      if (records === null) return [false, 'no records to count (see the root check)'];
      const rs = records as LeafRecord[];
      const sum = rs.reduce((s, r) => s + BigInt(r.revenue), 0n);
      const n = BigInt(rs.length);
      const ok = n === units && sum === revenue;
      return [ok, `${rs.length} records ${n === units ? '=' : '≠'} ${units} units on chain; revenue sum ${sum} ${sum === revenue ? '=' : '≠'} ${revenue} on chain`];
    });

    // 4. The contract's own state of the period.
    await guard(`period-${p}-state`, `Period ${p}: the contract’s state`, async () => {
      const s = await call(rpc, contract, 'getPeriod', [id, BigInt(p)]);
      const diff: string[] = [];
      if (BigInt(s.units) !== units) diff.push(`units ${s.units}`);
      if (BigInt(s.revenue) !== revenue) diff.push(`revenue ${s.revenue}`);
      if (BigInt(s.pay) !== BigInt(last.pay)) diff.push(`pay ${s.pay}`);
      if (Number(s.version) !== Number(last.version)) diff.push(`version ${s.version}`);
      const facts = `getPeriod by eth_call: units ${s.units}, revenue ${s.revenue}, pay ${s.pay}, version ${s.version}`;
      return diff.length ? [false, `${facts}; the latest report says otherwise (${diff.join(', ')} differ)`] : [true, `${facts}, as the latest report`];
    });
  }
  return finish(checks);
}

function finish(checks: PerfCheck[]): PerfReport {
  const outcome: PerfOutcome = checks.some((c) => c.status === 'fail') ? 'not-verified' : checks.some((c) => c.status === 'error') ? 'undecided' : 'verified';
  return { outcome, checks };
}
