// Performance-based pay (`PactumPerformance`): a brand pays a partner per conversion, qualified
// lead or share of revenue, period by period, from a budget it escrows; an attester (a tracking
// service, or the brand) reports each period with the Merkle root of its conversion records; a
// report's pay stays locked for a while (correctable by the attester, disputable by the brand) and
// is then released to the partner.
//
// Pactum keeps no draft of a performance agreement. The brand fills the form, the API returns the
// typed data (with a random salt), the brand signs it and gets a link carrying the terms and its
// signature in the fragment (never sent to a server); the partner opens it, the page asks the API
// for the typed data of exactly those terms and checks that the brand's signature recovers to the
// brand for that agreement id (a link edited on the way is refused before anything is signed),
// the partner signs and gets the same kind of link back, and the brand, opening it, funds the
// budget (approve, then createAndFund).
//
// On the agreement page every figure is the API's (folded from the contract's events); the proof
// that a conversion was counted is checked here, in the browser: the leaf recomputed from the
// record (OpenZeppelin's StandardMerkleTree: keccak256(keccak256(abi.encode(string, uint64,
// uint256)))) and hashed up with the proof, pairs sorted, must give the root the period's report
// put on chain.

import { concat, encodeAbiParameters, formatUnits, getAddress, isAddress, keccak256, recoverAddress, type Hex } from 'viem';
import { api, ApiError, chainOf, getConfig, multiChain, networkName, session, type ChainInfo, type Config, type TokenInfo } from './api';
import { field, fieldError, h, setStatus } from './dom';
import { beside, type Feedback } from './feedback';
import { amount, duration, parseAmount, short, tokenOf, when, zoneName } from './format';
import { verifyPerformance, type PerfReport } from './perfverify';
import type { Rpc } from './verify';
import { ensureChain, indexed, provider, sendAll, signTypedData, SwitchDeclined, walletRequest, WalletRejected, WrongNetwork, type PreparedTx } from './wallet';

/** What main.ts lends the performance screens. */
export interface PerfCtx {
  screen(title: string, ...content: (Node | null)[]): void;
  link(href: string, text: string, attrs?: Record<string, string>): HTMLElement;
  navigate(path: string): void;
  render(): Promise<void>;
  /** Whether the wallet is on chain `chain` (asking it to switch once if not). */
  walletOn(chain: number): Promise<boolean>;
  /** The chain's time (the latest block's, when `onChain`), never before this computer's clock. */
  chainNow(onChain: boolean): Promise<number>;
}

/** Routes `/performance…`; false for any other path. */
export async function performanceRoute(path: string, ctx: PerfCtx): Promise<boolean> {
  let m: RegExpMatchArray | null;
  if (path === '/performance') await listPage(ctx);
  else if (path === '/performance/new') await draftForm(ctx);
  else if (path === '/performance/sign') await offerPage(ctx);
  else if ((m = path.match(/^\/performance\/((?:\d{1,20}:)?0x[0-9a-fA-F]{64})$/))) await agreementPage(ctx, m[1]);
  else return false;
  return true;
}

// ---------------------------------------------------------------- words

const METRICS: [string, string, string][] = [
  ['conversions', 'Conversions', 'conversion'],
  ['qualified_leads', 'Qualified leads', 'qualified lead'],
  ['revenue', 'Share of revenue', ''],
];

const PERIOD_WORDS: Record<string, string> = {
  unreported: 'not reported',
  locked: 'reported, locked',
  disputed: 'disputed',
  paid: 'paid',
  resolved: 'resolved by the arbiter',
  timed_out: 'split after the arbiter\u2019s timeout',
};

function metricNoun(metric: string): string {
  return METRICS.find(([m]) => m === metric)?.[2] || 'unit';
}

/** The rate in words: each tier from its first unit of a period. */
function tierWords(t: any, tk: TokenInfo): string {
  const tiers = (t.tiers as any[]).map((x, i) => {
    const from = Number(x.fromUnits);
    const rate = t.metric === 'revenue' ? `${(Number(x.rate) / 100).toFixed(2).replace(/\.00$/, '')}% of revenue` : `${amount(x.rate, tk)} per ${metricNoun(t.metric)}`;
    return i === 0 ? `${rate}` : `${rate} from the ${ordinal(from + 1)} of a period`;
  });
  return tiers.join('; ');
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${s}`;
}

function hasArbiter(a: any): boolean {
  try {
    return !!a.arbiter && BigInt(a.arbiter) !== 0n;
  } catch {
    return false;
  }
}

/** The terms in plain words (what both sign). */
function termsCard(cfg: Config, t: any, tk: TokenInfo, id: string | null): HTMLElement {
  const chain = Number(t.chainId ?? cfg.chainId);
  const end = Number(t.start) + Number(t.period) * Number(t.periods);
  return h('section', { class: 'card', 'aria-labelledby': 'pterms-h' },
    h('h2', { id: 'pterms-h' }, 'The terms'),
    h('dl', { class: 'facts' },
      id ? [h('dt', {}, 'Agreement id'), h('dd', {}, h('code', { class: 'wrap' }, id))] : null,
      multiChain(cfg) ? [h('dt', {}, 'Network'), h('dd', { 'data-testid': 'network' }, networkName(cfg, chain))] : null,
      h('dt', {}, 'Brand (pays)'), h('dd', {}, h('code', { class: 'wrap' }, t.brand)),
      h('dt', {}, 'Partner (is paid)'), h('dd', {}, h('code', { class: 'wrap' }, t.partner)),
      h('dt', {}, 'Attester (reports)'), h('dd', {}, h('code', { class: 'wrap' }, t.attester)),
      h('dt', {}, 'Arbiter'), h('dd', {}, hasArbiter(t) ? [h('code', { class: 'wrap' }, t.arbiter), ` (fee ${Number(t.arbiterFeeBps) / 100}% of a disputed period\u2019s pay)`] : 'none: reports cannot be disputed'),
      h('dt', {}, 'Paid for'), h('dd', { 'data-testid': 'rate' }, tierWords(t, tk)),
      h('dt', {}, 'Token'), h('dd', {}, tk.symbol ?? tk.address),
      h('dt', {}, 'Periods'), h('dd', {}, `${t.periods} of ${duration(t.period)}, from ${when(t.start)} to ${when(end)}`),
      h('dt', {}, 'Report window'), h('dd', {}, `${duration(t.reportWindow)} after each period\u2019s end`),
      h('dt', {}, 'Lock'), h('dd', {}, `${duration(t.lockWindow)} after a report: the attester may lower it, the brand may dispute it; then it is paid`),
      hasArbiter(t) ? [h('dt', {}, 'Arbiter\u2019s window'), h('dd', {}, duration(t.arbitrationWindow))] : null,
      h('dt', {}, 'Sign and fund by'), h('dd', {}, when(t.deadline))));
}

/** A scrolling table with a caption, as the app's other tables. */
function table(caption: string, head: string[], rows: HTMLElement[], testid?: string): HTMLElement {
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': `${caption} (table)` },
    h('table', { 'data-testid': testid }, h('caption', {}, caption), h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows)));
}

/** Chains whose deployment has a performance contract. */
function perfChains(cfg: Config): (ChainInfo & { performance?: string | null })[] {
  return (cfg.chains as (ChainInfo & { performance?: string | null })[]).filter((c) => !!c.performance);
}

function erc20(tokens: TokenInfo[]): TokenInfo[] {
  return tokens.filter((t) => BigInt(t.address) !== 0n);
}

/** An action's failure, shown beside its control: rejected, wrong network, refused by the API, or
 *  an error (sendAll has already shown its own states). */
function failed(fb: Feedback, e: unknown, what = 'Nothing was signed or sent.') {
  if (e instanceof WalletRejected) fb.done('rejected', e instanceof SwitchDeclined ? e.message : `Rejected in your wallet. ${what}`);
  else if (e instanceof WrongNetwork && fb.box.dataset.state !== 'wrong-network') fb.done('wrong-network', h('strong', {}, 'Wrong network. '), `${e.message} ${what}`);
  else if (e instanceof ApiError) fb.done('refused', h('span', { role: 'alert' }, `Refused before anything was sent: ${e.message}`));
  else if (!['rejected', 'reverted', 'error', 'wrong-network'].includes(fb.box.dataset.state ?? '')) fb.done('error', (e as Error).message);
  else fb.done();
}

// ---------------------------------------------------------------- list

async function listPage(ctx: PerfCtx) {
  const s = session();
  if (!s) return ctx.screen('Sign in');
  const cfg = await getConfig();
  const chains = perfChains(cfg);
  const open = openById(ctx);
  if (s.role === 'auditor') {
    ctx.screen('Performance agreements', h('p', {}, 'As an auditor you can read any performance agreement by its id, with its periods, reports and the proof of any conversion counted.'), open);
    return;
  }
  const roles = ['brand', 'partner', 'attester'] as const;
  const lists = await Promise.all(chains.flatMap((c) => roles.map(async (role) => ({ role, chain: c.chainId, rows: await api<any[]>('GET', `/v1/performance/agreements?role=${role}${multiChain(cfg) ? `&chain=${c.chainId}` : ''}`) }))));
  const net = multiChain(cfg) ? ['Network'] : [];
  const rows = lists.flatMap(({ role, chain, rows }) =>
    rows.map((r) => {
      const tk = tokenOf(chainOf(cfg, chain)?.tokens ?? [], r.token);
      return h('tr', { 'data-role': role },
        h('td', {}, ctx.link(`/performance/${r.id}`, short(r.id))),
        multiChain(cfg) ? h('td', {}, String(chain)) : null,
        h('td', {}, role),
        h('td', {}, h('code', { title: r.brand }, short(r.brand))),
        h('td', {}, h('code', { title: r.partner }, short(r.partner))),
        h('td', {}, h('code', { title: r.attester }, short(r.attester))),
        h('td', {}, tk.symbol ?? short(r.token)),
        h('td', {}, String(r.createdBlock)));
    }),
  );
  ctx.screen('Performance agreements',
    h('p', { class: 'lede' }, 'Pay a partner per conversion, qualified lead or share of revenue, period by period, from a budget held by the performance contract. A named attester reports each period; its pay stays locked for a while, then goes to the partner.'),
    chains.length ? h('p', {}, ctx.link('/performance/new', 'Draft a performance agreement', { class: 'button' })) : h('p', { class: 'muted' }, 'This deployment has no performance contract.'),
    h('section', { 'aria-labelledby': 'plist-h' }, h('h2', { id: 'plist-h' }, 'Yours'),
      rows.length ? table('Performance agreements you are named in', ['Agreement', ...net, 'You are', 'Brand', 'Partner', 'Attester', 'Token', 'Created in block'], rows, 'performance-list') : h('p', { class: 'muted', 'data-testid': 'performance-list-empty' }, 'None yet. A proposal the brand signed reaches its partner as a link: open it to sign.')),
    open);
}

/** Opens an agreement by its id (auditors, arbiters: the list names brand, partner, attester only). */
function openById(ctx: PerfCtx): HTMLElement {
  const input = h('input', { name: 'perfId', autocomplete: 'off', spellcheck: 'false', placeholder: '0x…' }) as HTMLInputElement;
  const go = h('button', { type: 'submit' }, 'Open');
  const form = h('form', { class: 'card', 'aria-labelledby': 'open-h' }, h('h2', { id: 'open-h' }, 'Open by id'), field('Agreement id', input, 'An arbiter or auditor opens an agreement here.'), h('div', { class: 'actions' }, go));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim();
    if (!/^(\d{1,20}:)?0x[0-9a-fA-F]{64}$/.test(v)) {
      fieldError(input, 'An agreement id is 0x and 64 hex digits.');
      input.focus();
      return;
    }
    ctx.navigate(`/performance/${v}`);
  });
  return form;
}

// ---------------------------------------------------------------- draft form

function localInput(unix: number): string {
  const d = new Date(unix * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function draftForm(ctx: PerfCtx) {
  const s = session();
  if (!s) return ctx.screen('Sign in');
  const cfg = await getConfig();
  const chains = perfChains(cfg);
  if (!chains.length) return ctx.screen('New performance agreement', h('p', {}, 'This deployment has no performance contract.'));
  // Start and deadline default from the chain's time (read through the wallet's node when it is
  // on the chain): the contract measures them by it, not by this computer's clock.
  const now = await ctx.chainNow(await ctx.walletOn(chains[0].chainId));
  const num = (name: string, value: string, min: string, step = '0.01') => h('input', { name, type: 'number', min, step, required: true, value }) as HTMLInputElement;
  const addr = (name: string, value = '') => h('input', { name, required: true, autocomplete: 'off', spellcheck: 'false', placeholder: '0x…', value }) as HTMLInputElement;
  const partner = addr('partner');
  const attester = addr('attester', s.address);
  const arbiter = h('input', { name: 'arbiter', autocomplete: 'off', spellcheck: 'false', placeholder: '0x… (optional)' }) as HTMLInputElement;
  const fee = num('fee', '0', '0');
  const many = chains.length > 1;
  const network = h('select', { name: 'network' }, chains.map((c) => h('option', { value: c.chainId }, networkName(cfg, c.chainId)))) as HTMLSelectElement;
  const chosen = () => Number(network.value || chains[0].chainId);
  const token = h('select', { name: 'token' }) as HTMLSelectElement;
  const fillTokens = () => token.replaceChildren(...erc20(chainOf(cfg, chosen())?.tokens ?? []).map((t) => h('option', { value: t.address }, `${t.symbol ?? 'token'} (${short(t.address)})`)));
  fillTokens();
  network.addEventListener('change', fillTokens);
  const tk = () => tokenOf(chainOf(cfg, chosen())?.tokens ?? [], token.value);
  const metric = h('select', { name: 'metric' }, METRICS.map(([v, label]) => h('option', { value: v }, label))) as HTMLSelectElement;
  const start = h('input', { name: 'start', type: 'datetime-local', required: true, value: localInput(now + 60) }) as HTMLInputElement;
  const periodDays = num('periodDays', '7', '0.05');
  const periods = num('periods', '4', '1', '1');
  const reportDays = num('reportDays', '2', '0.05');
  const lockDays = num('lockDays', '3', '0.05');
  const arbitrationDays = num('arbitrationDays', '7', '0.05');
  const deadlineDays = num('deadlineDays', '3', '0.05');
  const budget = h('input', { name: 'budget', inputmode: 'decimal', required: true, value: '' }) as HTMLInputElement;

  const tierList = h('ol', { class: 'milestones' });
  const rateLabel = () => (metric.value === 'revenue' ? 'Share of revenue (%)' : `Pay per ${metricNoun(metric.value)} (token units)`);
  const addTier = (from = '0', rate = '') => {
    const li = h('li', { class: 'card milestone' });
    const group = h('div', { role: 'group', class: 'milestone-group' });
    const fromIn = h('input', { name: 'fromUnits', type: 'number', min: '0', step: '1', required: true, value: from, readonly: tierList.children.length === 0 }) as HTMLInputElement;
    const rateIn = h('input', { name: 'rate', inputmode: 'decimal', required: true, value: rate }) as HTMLInputElement;
    const remove = h('button', { type: 'button', class: 'link' }, 'Remove this tier');
    remove.addEventListener('click', () => {
      if (tierList.children.length > 1) li.remove();
      renumber();
    });
    group.append(h('h2', { class: 'milestone-title' }, 'Tier'),
      field('From how many units in a period', fromIn, 'The first tier starts at 0; a tier from 3 pays from the 4th unit of each period.'),
      h('div', { class: 'field' }, h('label', { class: 'rate-label' }, rateLabel()), rateIn));
    if (tierList.children.length) group.append(remove);
    li.append(group);
    tierList.append(li);
    renumber();
  };
  const renumber = () =>
    Array.from(tierList.children).forEach((el, i) => {
      const title = el.querySelector('.milestone-title') as HTMLElement;
      title.textContent = `Tier ${i + 1}`;
      title.id = `tier-title-${i}`;
      (el.querySelector('.milestone-group') as HTMLElement).setAttribute('aria-labelledby', title.id);
      const rateIn = el.querySelector('[name="rate"]') as HTMLInputElement;
      rateIn.id = `tier-rate-${i}`;
      const label = el.querySelector('.rate-label') as HTMLLabelElement;
      label.htmlFor = rateIn.id;
      label.textContent = rateLabel();
    });
  addTier();
  metric.addEventListener('change', renumber);
  const more = h('button', { type: 'button' }, 'Add a tier');
  more.addEventListener('click', () => addTier(String(Number((tierList.lastElementChild?.querySelector('[name="fromUnits"]') as HTMLInputElement | null)?.value ?? 0) + 10)));

  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign and get the partner\u2019s link');
  const form = h('form', {},
    h('fieldset', {}, h('legend', {}, 'Who'),
      field('Partner\u2019s address', partner, 'The wallet the partner signs with and is paid to.'),
      field('Attester\u2019s address', attester, 'Signs each period\u2019s report: a tracking service you both accept, or you (the brand). Never the partner.'),
      field('Arbiter\u2019s address (optional)', arbiter, 'Rules on a disputed report. Without one, reports cannot be disputed.'),
      field('Arbiter\u2019s fee (% of a disputed period\u2019s pay)', fee, 'At most 20%.')),
    h('fieldset', {}, h('legend', {}, 'What is paid for'),
      many ? field('Network', network) : null,
      field('Token', token),
      field('Metric', metric),
      tierList, more),
    h('fieldset', {}, h('legend', {}, 'When'),
      field(`Period 0 starts (your time zone, ${zoneName()})`, start),
      field('Period length (days)', periodDays),
      field('Number of periods', periods),
      field('Report window after each period (days)', reportDays, 'The attester reports within it.'),
      field('Lock after a report (days)', lockDays, 'The attester may lower a report, the brand may dispute it; then it is paid.'),
      field('Arbiter\u2019s window (days)', arbitrationDays),
      field('The partner signs and you fund within (days)', deadlineDays)),
    h('fieldset', {}, h('legend', {}, 'Budget'),
      field('Budget to escrow at funding (token units)', budget, 'You can top it up later. A period\u2019s pay is capped by what is left.')),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fb = beside('perf-draft', submit);
    const invalid: HTMLElement[] = [];
    const need = (el: HTMLInputElement, ok: boolean, msg: string) => {
      fieldError(el, ok ? null : msg);
      if (!ok) invalid.push(el);
    };
    const t = tk();
    need(partner, isAddress(partner.value.trim(), { strict: false }), 'This is not an address: 0x and 40 hex digits.');
    need(attester, isAddress(attester.value.trim(), { strict: false }), 'This is not an address: 0x and 40 hex digits.');
    need(arbiter, !arbiter.value.trim() || isAddress(arbiter.value.trim(), { strict: false }), 'This is not an address: 0x and 40 hex digits, or leave it empty.');
    const tiers = Array.from(tierList.children).map((li) => {
      const fromIn = li.querySelector('[name="fromUnits"]') as HTMLInputElement;
      const rateIn = li.querySelector('[name="rate"]') as HTMLInputElement;
      let rate = '0';
      if (metric.value === 'revenue') {
        const pct = Number(rateIn.value.trim());
        need(rateIn, rateIn.value.trim() !== '' && pct > 0 && pct <= 100, 'A share of revenue is a percentage above 0, at most 100.');
        rate = String(Math.round(pct * 100));
      } else {
        const r = parseAmount(rateIn.value, t.decimals, t.symbol);
        need(rateIn, !('error' in r), 'error' in r ? r.error : '');
        if (!('error' in r)) rate = r.value.toString();
      }
      return { fromUnits: Number(fromIn.value), rate };
    });
    const b = parseAmount(budget.value, t.decimals, t.symbol);
    need(budget, !('error' in b), 'error' in b ? b.error : '');
    const startAt = Math.floor(new Date(start.value).getTime() / 1000);
    need(start, Number.isFinite(startAt), 'Give the time period 0 starts.');
    if (invalid.length) {
      fb.done('error', `${invalid.length} field${invalid.length === 1 ? '' : 's'} to correct: see the message${invalid.length === 1 ? '' : 's'} under ${invalid.length === 1 ? 'it' : 'them'}.`);
      invalid[0].focus();
      return;
    }
    const secs = (el: HTMLInputElement) => Math.round(Number(el.value) * 86400);
    const terms = {
      chainId: chosen(),
      brand: s.address,
      partner: getAddress(partner.value.trim()),
      attester: getAddress(attester.value.trim()),
      arbiter: arbiter.value.trim() ? getAddress(arbiter.value.trim()) : null,
      token: token.value,
      metric: metric.value,
      arbiterFeeBps: arbiter.value.trim() ? Math.round(Number(fee.value) * 100) : 0,
      start: startAt,
      period: secs(periodDays),
      periods: Number(periods.value),
      reportWindow: secs(reportDays),
      lockWindow: secs(lockDays),
      arbitrationWindow: secs(arbitrationDays),
      deadline: now + secs(deadlineDays),
      tiers,
    };
    try {
      setStatus(fb.box, 'checking', 'Checking the terms\u2026');
      const toSign = await api<any>('POST', '/v1/performance/agreements/typed-data', terms);
      setStatus(fb.box, 'waiting', 'Waiting for your wallet: check the agreement it shows, then sign.');
      const brandSignature = await signTypedData(s.address, toSign.typedData, (from, to) => setStatus(fb.box, 'waiting', `Waiting for your wallet to switch from network ${from} to network ${to}, then to sign.`));
      const offer: Offer = { agreement: toSign.agreement, brandSignature, budget: (b as { value: bigint }).value.toString() };
      ctx.navigate(`/performance/sign${offerFragment(offer)}`);
    } catch (err) {
      failed(fb, err, 'Nothing was signed.');
    }
  });
  ctx.screen('New performance agreement', form);
}

// ---------------------------------------------------------------- the link both sign

/** What a proposal link carries in its fragment (never sent to a server). */
interface Offer {
  agreement: any;
  brandSignature?: Hex;
  partnerSignature?: Hex;
  /** The budget the brand means to escrow, in the token's smallest unit (a suggestion). */
  budget?: string;
}

function offerFragment(o: Offer): string {
  const b64 = btoa(unescape(encodeURIComponent(JSON.stringify(o)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `#offer=${b64}`;
}

function readOffer(hash: string): Offer | null {
  const m = hash.match(/^#offer=([A-Za-z0-9_-]+)$/);
  if (!m) return null;
  try {
    const o = JSON.parse(decodeURIComponent(escape(atob(m[1].replace(/-/g, '+').replace(/_/g, '/')))));
    if (typeof o !== 'object' || !o || typeof o.agreement !== 'object') return null;
    for (const k of ['brandSignature', 'partnerSignature'])
      if (o[k] !== undefined && !/^0x[0-9a-fA-F]{130}$/.test(String(o[k]))) return null;
    if (o.budget !== undefined && !/^\d{1,78}$/.test(String(o.budget))) return null;
    return o as Offer;
  } catch {
    return null;
  }
}

/** Whether `signature` is `signer`'s signature of `digest` (a key's; contract wallets are checked
 *  by the contract at creation, not here). */
async function signedBy(digest: Hex, signature: Hex | undefined, signer: string): Promise<boolean> {
  if (!signature) return false;
  try {
    return (await recoverAddress({ hash: digest, signature })).toLowerCase() === signer.toLowerCase();
  } catch {
    return false;
  }
}

function shareCard(title: string, url: string, hint: string): HTMLElement {
  const share = h('input', { readonly: true, value: url, 'data-testid': 'offer-link' }) as HTMLInputElement;
  const copy = h('button', { type: 'button' }, 'Copy link');
  copy.addEventListener('click', async () => {
    share.select();
    try {
      await navigator.clipboard.writeText(url);
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Select and copy the link';
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'offer-share-h' }, h('h2', { id: 'offer-share-h' }, title), field('Link', share, hint), h('div', { class: 'actions' }, copy));
}

async function offerPage(ctx: PerfCtx) {
  const s = session();
  if (!s) return ctx.screen('Sign in');
  const offer = readOffer(location.hash);
  if (!offer) {
    ctx.screen('Performance agreement proposal', h('p', { class: 'error', role: 'alert', 'data-testid': 'offer-invalid' }, 'This link carries no readable proposal: ask the brand for the link again.'));
    return;
  }
  const cfg = await getConfig();
  const me = s.address.toLowerCase();
  const t = offer.agreement;
  const role = me === String(t.brand).toLowerCase() ? 'brand' : me === String(t.partner).toLowerCase() ? 'partner' : null;
  if (!role) {
    ctx.screen('Performance agreement proposal', h('p', {}, `This proposal is between ${t.brand} (brand) and ${t.partner} (partner); you are signed in as ${s.address}. Sign in with one of them to read and sign it.`));
    return;
  }
  // The typed data of exactly these terms, from the API: the agreement id is its digest, and both
  // signatures must recover to their signer for it. A link edited on the way fails here.
  let toSign: any;
  try {
    toSign = await api<any>('POST', '/v1/performance/agreements/typed-data', t);
  } catch (e) {
    ctx.screen('Performance agreement proposal', h('p', { class: 'error', role: 'alert', 'data-testid': 'offer-invalid' }, `These terms cannot be signed: ${(e as Error).message}`));
    return;
  }
  const id = toSign.agreementId as Hex;
  const brandOk = await signedBy(id, offer.brandSignature, t.brand);
  const partnerOk = await signedBy(id, offer.partnerSignature, t.partner);
  const tk = tokenOf(chainOf(cfg, t.chainId)?.tokens ?? [], t.token);
  const parts: HTMLElement[] = [];
  if (offer.brandSignature && !brandOk) {
    ctx.screen('Performance agreement proposal', h('p', { class: 'error', role: 'alert', 'data-testid': 'offer-invalid' }, 'The brand\u2019s signature in this link is not the brand\u2019s signature of these terms: the link was changed after the brand signed. Nothing here can be signed; ask the brand for its link again.'));
    return;
  }
  if (offer.partnerSignature && !partnerOk) {
    ctx.screen('Performance agreement proposal', h('p', { class: 'error', role: 'alert', 'data-testid': 'offer-invalid' }, 'The partner\u2019s signature in this link is not the partner\u2019s signature of these terms: the link was changed after the partner signed. Ask the partner for its link again.'));
    return;
  }
  const signedWords = brandOk && partnerOk ? 'Signed by the brand and the partner: the brand funds it next.' : brandOk ? 'Signed by the brand; the partner signs next.' : partnerOk ? 'Signed by the partner; the brand signs next.' : 'Signed by nobody yet.';
  parts.push(h('p', { class: 'lede', id: 'offer-lede' }, h('span', { 'data-testid': 'offer-status' }, signedWords), ' Each signature is checked here against the terms below.'));
  parts.push(termsCard(cfg, t, tk, id));
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'offer-sign-h' },
    h('h2', { id: 'offer-sign-h' }, 'What the wallets sign'),
    h('p', {}, 'This EIP-712 message; its digest is the agreement id. The performance contract creates the agreement only with both signatures of exactly this.'),
    h('details', {}, h('summary', {}, 'The exact typed data (eth_signTypedData_v4)'), h('pre', { tabindex: '0' }, JSON.stringify(toSign.typedData, null, 2)))));

  const mineSigned = role === 'brand' ? brandOk : partnerOk;
  if (!mineSigned) {
    const sign = h('button', { type: 'button', class: 'primary' }, 'Sign these terms with my wallet');
    sign.addEventListener('click', async () => {
      const fb = beside('offer-sign', sign);
      setStatus(fb.box, 'waiting', 'Waiting for your wallet: check the agreement it shows, then sign.');
      try {
        const sig = await signTypedData(s.address, toSign.typedData, (from, to) => setStatus(fb.box, 'waiting', `Waiting for your wallet to switch from network ${from} to network ${to}, then to sign.`));
        const next: Offer = { ...offer, agreement: toSign.agreement, ...(role === 'brand' ? { brandSignature: sig } : { partnerSignature: sig }) };
        history.replaceState(null, '', `/performance/sign${offerFragment(next)}`);
        setStatus(fb.box, 'confirmed', 'Signed. Send the link below to the other party.');
        await fb.redrawn(ctx.render, () => document.getElementById('offer-lede'));
      } catch (e) {
        failed(fb, e, 'Nothing was signed.');
      }
    });
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'offer-act-h' }, h('h2', { id: 'offer-act-h' }, 'Sign'), h('p', {}, `You are the ${role}. Signing costs nothing; the agreement exists only once the brand funds it.`), h('div', { class: 'actions' }, sign)));
  } else if (!(brandOk && partnerOk)) {
    parts.push(shareCard(role === 'brand' ? 'Send this link to the partner' : 'Send this link back to the brand', location.href,
      role === 'brand' ? 'The partner opens it, signs in, reads these terms and signs; it carries your signature, checked on their page.' : 'The brand opens it and funds the budget; it carries both signatures.'));
  } else if (role === 'brand') {
    parts.push(fundCard(ctx, t, offer, tk));
  } else {
    parts.push(shareCard('Send this link back to the brand', location.href, 'Both have signed: the brand opens it and funds the budget, which creates the agreement.'));
  }
  ctx.screen('Performance agreement proposal', ...parts);
}

/** Both signed: the brand escrows the budget (approve if needed, then createAndFund). */
function fundCard(ctx: PerfCtx, t: any, offer: Offer, tk: TokenInfo): HTMLElement {
  const budget = h('input', { name: 'budget', inputmode: 'decimal', value: offer.budget && tk.decimals !== null ? formatUnits(BigInt(offer.budget), tk.decimals) : '' }) as HTMLInputElement;
  const fund = h('button', { type: 'button', class: 'primary' }, 'Approve, then fund (two transactions)');
  fund.addEventListener('click', async () => {
    const r = parseAmount(budget.value, tk.decimals, tk.symbol);
    if ('error' in r) {
      fieldError(budget, r.error);
      budget.focus();
      return;
    }
    fieldError(budget, null);
    const fb = beside('offer-fund', fund);
    try {
      setStatus(fb.box, 'checking', 'Preparing the transactions (the contract checks them first)\u2026');
      const prepared = await api<{ agreementId: string; transactions: PreparedTx[] }>('POST', '/v1/performance/agreements/transactions', { agreement: t, brandSignature: offer.brandSignature, partnerSignature: offer.partnerSignature, budget: r.value.toString() });
      const { block, chainId } = await sendAll(fb.box, prepared.transactions);
      setStatus(fb.box, 'pending', `Funded in block ${block}. Waiting for Pactum to see it\u2026`);
      await indexed(block, chainId);
      ctx.navigate(`/performance/${prepared.agreementId}`);
    } catch (e) {
      failed(fb, e);
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'offer-fund-h' }, h('h2', { id: 'offer-fund-h' }, 'Fund it'),
    h('p', {}, `Both signatures check out. Funding creates the agreement on chain and escrows the budget: an approve transaction letting the contract take the ${tk.symbol ?? 'token'} (skipped if already allowed), then createAndFund.`),
    field('Budget (token units)', budget, 'What the contract holds for the partner\u2019s pay; top it up later.'),
    h('div', { class: 'actions' }, fund));
}

// ---------------------------------------------------------------- agreement page

/** An inline SVG chart of units and pay per period; the periods table below carries the figures. */
function chart(periods: any[], tk: TokenInfo): HTMLElement {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const W = 40 + periods.length * 56;
  const H = 160;
  const maxUnits = periods.reduce((m, p) => Math.max(m, Number(p.units)), 0) || 1;
  const maxPay = periods.reduce((m, p) => (BigInt(p.pay) > m ? BigInt(p.pay) : m), 0n) || 1n;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': 'pchart-title', class: 'chart' });
  svg.append(el('title', { id: 'pchart-title' }, `Units (dark) and pay (light) per period; the largest period has ${maxUnits} units and ${amount(maxPay, tk)}. The periods table gives every figure.`));
  svg.append(el('line', { x1: 30, y1: H - 24, x2: W - 4, y2: H - 24, stroke: '#475569' }));
  periods.forEach((p, i) => {
    const x = 36 + i * 56;
    const uh = Math.round((Number(p.units) / maxUnits) * (H - 40));
    const ph = Number((BigInt(p.pay) * BigInt(H - 40)) / maxPay);
    svg.append(el('rect', { x, y: H - 24 - uh, width: 20, height: uh, fill: '#1d4ed8' }));
    svg.append(el('rect', { x: x + 22, y: H - 24 - ph, width: 20, height: ph, fill: '#93c5fd', stroke: '#1d4ed8' }));
    svg.append(el('text', { x: x + 21, y: H - 8, 'text-anchor': 'middle', 'font-size': 12, fill: '#1f2937' }, String(p.period)));
  });
  return h('figure', { class: 'chart-box', 'data-testid': 'period-chart' }, svg,
    h('figcaption', { class: 'muted' }, 'Per period: units as last reported (dark bar) and the pay they hold or were paid (light bar).'));
}

/** How many periods the contract takes first reports of: all, or after a termination those that
 *  started before it (the contract's `_reportable`); and until when the last of them can be. */
function reportable(v: any): { count: number; until: number } {
  const t = v.agreement;
  let count = Number(t.periods);
  if (v.terminatedBy) {
    const at = Number(v.terminatedAt);
    const start = Number(t.start);
    if (at <= start) return { count: 0, until: 0 };
    count = Math.min(count, Math.ceil((at - start) / Number(t.period)));
  }
  return { count, until: Number(t.start) + Number(t.period) * count + Number(t.reportWindow) };
}

/** When a period's first report can be sent: at its end, or at a termination that cut it short. */
function reportOpens(v: any, p: any): number {
  return v.terminatedBy ? Math.min(Number(p.endsAt), Number(v.terminatedAt)) : Number(p.endsAt);
}

function periodState(p: any, now: number, v: any): string {
  if (p.status === 'unreported') {
    if (Number(p.period) >= reportable(v).count) return `not reportable: it starts after the ${v.terminatedBy} ended the agreement for cause`;
    if (v.status !== 'active') return 'no report: the agreement was closed';
    if (now < reportOpens(v, p)) return now < Number(p.startsAt) ? 'not started' : 'running';
    return now < Number(p.reportDue) ? `report due by ${when(p.reportDue)}` : 'no report came in time';
  }
  if (p.status === 'locked') return now < Number(p.lockedUntil) ? `locked until ${when(p.lockedUntil)}` : `lock ended ${when(p.lockedUntil)}: to release`;
  return PERIOD_WORDS[p.status] ?? p.status;
}

/** The proof that a conversion was counted, checked here: the leaf from the record, hashed up the
 *  proof (pairs sorted) to the root, compared with the root the period's report put on chain. */
export function verifyProof(pr: { conversionId: string; occurredAt: number | string; revenue: string; leaf: string; proof: string[]; root: string }): { leafOk: boolean; rootOk: boolean; computed: Hex } {
  const inner = keccak256(encodeAbiParameters([{ type: 'string' }, { type: 'uint64' }, { type: 'uint256' }], [pr.conversionId, BigInt(pr.occurredAt), BigInt(pr.revenue)]));
  const leaf = keccak256(inner);
  let node: Hex = leaf;
  for (const sib of pr.proof as Hex[]) node = BigInt(node) < BigInt(sib) ? keccak256(concat([node, sib])) : keccak256(concat([sib, node]));
  return { leafOk: leaf.toLowerCase() === pr.leaf.toLowerCase(), rootOk: node.toLowerCase() === pr.root.toLowerCase(), computed: node };
}

/** CSV of conversionId,occurredAt,revenue (a header line is skipped; occurredAt in Unix seconds
 *  or an ISO 8601 time; revenue in token units, empty for none) as the API's records, or the
 *  first line's mistake. */
export function parseRecords(text: string, tk: TokenInfo): { records: { conversionId: string; occurredAt: number; revenue: string }[] } | { error: string } {
  const records: { conversionId: string; occurredAt: number; revenue: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const cols = line.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    if (i === 0 && /conversion/i.test(cols[0])) continue;
    if (cols.length < 2 || cols.length > 3) return { error: `Line ${i + 1}: expected conversionId,occurredAt,revenue.` };
    const [id, at, rev = ''] = cols;
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id)) return { error: `Line ${i + 1}: the conversion id ${JSON.stringify(id)} is not 1 to 64 of A\u2013Z, a\u2013z, 0\u20139, . _ : - (pseudonymous ids only, never an e-mail or a name).` };
    const secs = /^\d+$/.test(at) ? Number(at) : Math.floor(new Date(at).getTime() / 1000);
    if (!Number.isFinite(secs) || secs <= 0) return { error: `Line ${i + 1}: ${JSON.stringify(at)} is not a time (Unix seconds or ISO 8601).` };
    let revenue = '0';
    if (rev && !/^0+(\.0*)?$/.test(rev)) {
      const r = parseAmount(rev, tk.decimals, tk.symbol, 'en');
      if ('error' in r) return { error: `Line ${i + 1}: revenue: ${r.error}` };
      revenue = r.value.toString();
    }
    records.push({ conversionId: id, occurredAt: secs, revenue });
  }
  if (!records.length) return { error: 'No records: one line per conversion, conversionId,occurredAt,revenue.' };
  return { records };
}

async function agreementPage(ctx: PerfCtx, id: string) {
  const s = session();
  if (!s) return ctx.screen('Sign in');
  const [cfg, v, kpis] = await Promise.all([getConfig(), api<any>('GET', `/v1/performance/agreements/${id}`), api<any>('GET', `/v1/performance/agreements/${id}/kpis`)]);
  const t = v.agreement;
  const chain = Number(v.chainId);
  const tk = tokenOf(chainOf(cfg, chain)?.tokens ?? [], t.token);
  const me = s.address.toLowerCase();
  const roles: string[] = [];
  if (me === String(t.brand).toLowerCase()) roles.push('brand');
  if (me === String(t.partner).toLowerCase()) roles.push('partner');
  if (me === String(t.attester).toLowerCase()) roles.push('attester');
  if (hasArbiter(t) && me === String(t.arbiter).toLowerCase()) roles.push('arbiter');
  const named = roles.length > 0;
  const onChain = named ? await ctx.walletOn(chain) : false;
  const now = await ctx.chainNow(onChain);
  const periods = v.periods as any[];
  const total = kpis.total;
  const parts: HTMLElement[] = [];

  parts.push(h('section', { class: 'card', 'aria-labelledby': 'psum-h' },
    h('h2', { id: 'psum-h' }, 'Money'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', { 'data-testid': 'perf-status' }, v.terminatedBy ? `${v.status} (ended for cause by the ${v.terminatedBy}, ${when(v.terminatedAt)})` : v.status),
      h('dt', {}, 'You are'), h('dd', { 'data-testid': 'perf-role' }, named ? roles.join(' and ') : 'an auditor'),
      h('dt', {}, 'Escrowed in all'), h('dd', { 'data-testid': 'perf-funded' }, amount(v.funded, tk)),
      h('dt', {}, 'Budget left'), h('dd', { 'data-testid': 'perf-budget' }, amount(v.budget, tk)),
      h('dt', {}, 'Locked or disputed pay'), h('dd', { 'data-testid': 'perf-reserved' }, amount(v.reserved, tk)),
      h('dt', {}, 'Paid to the partner'), h('dd', { 'data-testid': 'perf-partner-paid' }, amount(v.partnerPaid, tk)),
      h('dt', {}, 'Paid to the arbiter'), h('dd', { 'data-testid': 'perf-arbiter-paid' }, amount(v.arbiterPaid, tk)),
      h('dt', {}, 'Returned to the brand'), h('dd', { 'data-testid': 'perf-returned' }, amount(v.brandReturned, tk)),
      h('dt', {}, 'Ends'), h('dd', {}, when(v.endsAt)))));

  const net = (a: bigint, b: bigint) => (a > b ? a - b : 0n);
  const rows = periods.map((p) => h('tr', { 'data-period': p.period },
    h('th', { scope: 'row' }, String(p.period)),
    h('td', {}, `${when(p.startsAt)} \u2013 ${when(p.endsAt)}`),
    h('td', { 'data-testid': `period-${p.period}-state` }, periodState(p, now, v)),
    h('td', { 'data-testid': `period-${p.period}-units` }, p.version ? String(p.units) : '\u2014'),
    h('td', { 'data-testid': `period-${p.period}-reversed` }, p.version ? String(net(BigInt(p.firstUnits), BigInt(p.units))) : '\u2014'),
    h('td', {}, p.version ? amount(p.revenue, tk) : '\u2014'),
    h('td', { 'data-testid': `period-${p.period}-pay` }, p.version ? amount(p.pay, tk) : '\u2014'),
    h('td', { 'data-testid': `period-${p.period}-paid` }, amount(p.partnerPaid, tk)),
    h('td', {}, p.version ? `v${p.version}` : '\u2014')));
  parts.push(h('section', { 'aria-labelledby': 'periods-h' }, h('h2', { id: 'periods-h' }, 'Periods'),
    chart(periods, tk),
    table('Each period: its report, its pay and what reached the partner', ['#', 'Period', 'State', 'Units', 'Reversed', 'Revenue', 'Pay', 'Paid to partner', 'Report'], rows, 'periods')));

  const ratio = (x: string | null | undefined, suffix = '') => (x === null || x === undefined ? '\u2014' : `${x}${suffix}`);
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'kpi-h' }, h('h2', { id: 'kpi-h' }, 'Totals and KPIs'),
    h('dl', { class: 'facts', 'data-testid': 'kpis' },
      h('dt', {}, 'Periods reported'), h('dd', {}, String(total.periodsReported)),
      h('dt', {}, 'Units (first reported)'), h('dd', { 'data-testid': 'kpi-units' }, `${total.units} (${total.firstUnits})`),
      h('dt', {}, 'Revenue attested'), h('dd', {}, amount(total.revenue, tk)),
      h('dt', {}, 'Pay reported'), h('dd', {}, amount(total.pay, tk)),
      h('dt', {}, 'Pay still locked or disputed'), h('dd', {}, amount(total.pending, tk)),
      h('dt', {}, 'Cost per unit'), h('dd', {}, total.costPerUnit ? amount(BigInt(total.costPerUnit.split('.')[0]), tk) : '\u2014'),
      h('dt', {}, 'Revenue per unit of pay'), h('dd', {}, ratio(total.revenuePerPay)),
      h('dt', {}, 'Reversal rate'), h('dd', {}, total.reversalRate ? `${(Number(total.reversalRate) * 100).toFixed(1)}%` : '\u2014'),
      h('dt', {}, 'Mean time from a period\u2019s end to payout'), h('dd', {}, total.meanSecondsToPayout != null ? duration(total.meanSecondsToPayout) : '\u2014')),
    h('div', { class: 'actions' }, csvButton(id))));

  parts.push(termsCard(cfg, t, tk, v.id));
  if (named) parts.push(actionsCard(ctx, id, v, roles, now, tk));
  else parts.push(h('section', { class: 'card', 'aria-labelledby': 'pact-h' }, h('h2', { id: 'pact-h' }, 'What you can do'), h('p', {}, 'You read this agreement as an auditor: only those it names act on it. You can check that a conversion was counted, below.')));
  parts.push(proofCard(id, periods, tk));
  parts.push(verifyCard(cfg, v));
  ctx.screen(`Performance agreement ${short(v.id)}`, ...parts);
}

/** Downloads the KPIs as CSV (the API's `format=csv`, asked with the session's bearer header). */
function csvButton(id: string): HTMLElement {
  const b = h('button', { type: 'button', 'data-testid': 'kpi-csv' }, 'Download the KPIs (CSV)');
  b.addEventListener('click', async () => {
    const fb = beside('perf-csv', b);
    try {
      const res = await fetch(`/v1/performance/agreements/${id}/kpis?format=csv`, { headers: { authorization: `Bearer ${session()?.token ?? ''}` } });
      if (!res.ok) throw new Error(`the KPIs could not be read (HTTP ${res.status})`);
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: `performance-kpis-${id.slice(-12)}.csv` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      fb.done('confirmed', 'Downloaded.');
    } catch (e) {
      fb.done('error', (e as Error).message);
    }
  });
  return b;
}

/** Runs one action: the API's transactions (simulated there first), sent by the wallet, then the
 *  page redrawn once the indexer has them, the outcome beside the control. */
async function act(ctx: PerfCtx, fb: Feedback, id: string, body: object, done: string) {
  try {
    setStatus(fb.box, 'checking', 'Checking it with the performance contract\u2026');
    const prepared = await api<{ transactions: PreparedTx[] }>('POST', `/v1/performance/agreements/${id}/transactions`, body);
    const { block, chainId } = await sendAll(fb.box, prepared.transactions);
    setStatus(fb.box, 'pending', `Confirmed in block ${block}. Waiting for Pactum to see it\u2026`);
    await indexed(block, chainId);
    setStatus(fb.box, 'confirmed', `${done} (block ${block}).`);
    await fb.redrawn(ctx.render, () => document.getElementById('pact-h'));
  } catch (e) {
    failed(fb, e);
  }
}

function actionsCard(ctx: PerfCtx, id: string, v: any, roles: string[], now: number, tk: TokenInfo): HTMLElement {
  const t = v.agreement;
  const periods = v.periods as any[];
  const live = v.status === 'active';
  const blocks: HTMLElement[] = [];
  const notes: string[] = [];
  const button = (text: string, cls = '') => h('button', { type: 'button', class: cls }, text) as HTMLButtonElement;
  const { count, until } = reportable(v);

  // Ended (or revoked): the contract takes nothing more, and Pactum no records for it.
  if (v.status === 'ended' || v.status === 'revoked')
    return h('section', { 'aria-labelledby': 'pact-h' }, h('h2', { id: 'pact-h' }, 'What you can do'),
      h('p', { 'data-testid': 'perf-over' }, v.status === 'ended'
        ? 'Nothing: this agreement has ended. Every period is settled and the unreserved budget went back to the brand; the contract takes no more reports, disputes, payouts or top-ups.'
        : 'Nothing: this agreement was revoked before it was funded.'));
  if (v.terminatedBy && count < periods.length) {
    const cut = periods.slice(count).map((p) => p.period);
    notes.push(`${cut.length === 1 ? `Period ${cut[0]} starts` : `Periods ${cut.slice(0, -1).join(', ')} and ${cut[cut.length - 1]} start`} after the ${v.terminatedBy} ended the agreement for cause (${when(v.terminatedAt)}): never reported, never paid.`);
  }

  if (roles.includes('attester')) {
    // Records: a CSV pasted or read from a file.
    const csv = h('textarea', { name: 'records', rows: 5, spellcheck: 'false', placeholder: 'conversionId,occurredAt,revenue' }) as HTMLTextAreaElement;
    const file = h('input', { type: 'file', name: 'recordsFile', accept: '.csv,text/csv,text/plain' }) as HTMLInputElement;
    file.addEventListener('change', async () => {
      const f = file.files?.[0];
      if (f) csv.value = await f.text();
    });
    const upload = button('Upload the records', 'primary');
    upload.addEventListener('click', async () => {
      const parsed = parseRecords(csv.value, tk);
      if ('error' in parsed) {
        fieldError(csv, parsed.error);
        csv.focus();
        return;
      }
      fieldError(csv, null);
      const fb = beside('perf-upload', upload);
      try {
        setStatus(fb.box, 'checking', `Uploading ${parsed.records.length} records\u2026`);
        const out = await api<{ inserted: number; unchanged: number }>('POST', `/v1/performance/agreements/${id}/records`, { records: parsed.records });
        fb.done('confirmed', `Stored: ${out.inserted} new, ${out.unchanged} already there.`);
      } catch (e) {
        failed(fb, e);
      }
    });
    const ids = h('textarea', { name: 'reversals', rows: 2, spellcheck: 'false' }) as HTMLTextAreaElement;
    const reverse = button('Reverse these conversions');
    reverse.addEventListener('click', async () => {
      const list = ids.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
      if (!list.length) {
        fieldError(ids, 'Give at least one conversion id.');
        ids.focus();
        return;
      }
      fieldError(ids, null);
      const fb = beside('perf-reverse', reverse);
      try {
        setStatus(fb.box, 'checking', 'Reversing\u2026');
        const out = await api<{ reversed: number; alreadyReversed: number; unknown: string[] }>('POST', `/v1/performance/agreements/${id}/records/reversals`, { conversionIds: list });
        fb.done('confirmed', `Reversed ${out.reversed}${out.alreadyReversed ? `, ${out.alreadyReversed} already were` : ''}${out.unknown.length ? `; no record for ${out.unknown.join(', ')}` : ''}. A locked period\u2019s report is lowered by submitting its correction below.`);
      } catch (e) {
        failed(fb, e);
      }
    });
    blocks.push(h('section', { class: 'card', 'aria-labelledby': 'rec-h' }, h('h3', { id: 'rec-h' }, 'Conversion records'),
      h('p', {}, 'One line per conversion: conversionId,occurredAt,revenue. The id is your tracker\u2019s pseudonymous id (no e-mails or names); the time in Unix seconds or ISO 8601; the revenue in token units (empty for none). Re-sending a record is harmless; a record never changes: reverse it and send a new id.'),
      field('Records (CSV)', csv), field('Or read a CSV file', file), h('div', { class: 'actions' }, upload),
      field('Conversion ids to reverse (returns, fraud), separated by commas or lines', ids), h('div', { class: 'actions' }, reverse)));

    // Reports: a period over and not reported, or a locked one to correct.
    const toReport = periods.filter((p) => (p.status === 'unreported' && live && Number(p.period) < count && now >= reportOpens(v, p) && now < Number(p.reportDue)) || (p.status === 'locked' && now < Number(p.lockedUntil)));
    if (toReport.length) {
      const pick = h('select', { name: 'reportPeriod' }, toReport.map((p) => h('option', { value: p.period }, p.status === 'locked' ? `Period ${p.period}: correct report v${p.version}` : `Period ${p.period}: first report`))) as HTMLSelectElement;
      const rep = button('Build, sign and submit the report', 'primary');
      rep.addEventListener('click', async () => {
        const fb = beside('perf-report', rep);
        const period = Number(pick.value);
        try {
          setStatus(fb.box, 'checking', `Building period ${period}\u2019s report from its records\u2026`);
          const r = await api<any>('POST', `/v1/performance/agreements/${id}/periods/${period}/report`);
          setStatus(fb.box, 'waiting', `Waiting for your wallet: sign report v${r.version} of period ${period}: ${r.units} units, ${amount(r.revenue, tk)} revenue, pay ${amount(r.pay, tk)}, records root ${r.detailRoot}.`);
          const signature = await signTypedData(session()!.address, r.typedData);
          await act(ctx, fb, id, { action: 'submit-report', period, version: r.version, units: r.units, revenue: r.revenue, detailRoot: r.detailRoot, signature }, `Period ${period} reported: ${r.units} units, pay ${amount(r.pay, tk)}, locked for ${duration(t.lockWindow)}`);
        } catch (e) {
          failed(fb, e);
        }
      });
      blocks.push(h('section', { class: 'card', 'aria-labelledby': 'rep-h' }, h('h3', { id: 'rep-h' }, 'Report a period'),
        h('p', {}, 'Pactum builds the Merkle tree of the period\u2019s records not reversed; you sign the report with its root; the contract locks its pay.'),
        field('Period', pick), h('div', { class: 'actions' }, rep)));
    } else notes.push('No period to report now: a period is reported after its end, within its report window, and corrected only while locked.');
  }

  // Brand: dispute a locked period (with an arbiter), top up, end for cause.
  if (roles.includes('brand')) {
    const disputable = periods.filter((p) => p.status === 'locked' && now < Number(p.lockedUntil));
    if (disputable.length && hasArbiter(t)) {
      const pick = h('select', { name: 'disputePeriod' }, disputable.map((p) => h('option', { value: p.period }, `Period ${p.period} (${amount(p.pay, tk)}, locked until ${when(p.lockedUntil)})`))) as HTMLSelectElement;
      const reason = h('input', { name: 'disputeReason', required: true }) as HTMLInputElement;
      const go = button('Dispute this period', 'danger');
      go.addEventListener('click', () => {
        if (!reason.value.trim()) {
          fieldError(reason, 'Say why (its hash goes on chain).');
          reason.focus();
          return;
        }
        fieldError(reason, null);
        void act(ctx, beside('perf-dispute', go), id, { action: 'dispute', period: Number(pick.value), reason: reason.value.trim() }, `Period ${pick.value} disputed: the arbiter rules within ${duration(t.arbitrationWindow)}`);
      });
      blocks.push(h('section', { class: 'card', 'aria-labelledby': 'disp-h' }, h('h3', { id: 'disp-h' }, 'Dispute a report'), field('Period', pick), field('Why', reason), h('div', { class: 'actions' }, go)));
    } else if (!hasArbiter(t)) notes.push('No dispute: the agreement names no arbiter.');
    if (live && !v.terminatedBy) {
      const more = h('input', { name: 'topUp', inputmode: 'decimal' }) as HTMLInputElement;
      const go = button('Add to the budget');
      go.addEventListener('click', () => {
        const r = parseAmount(more.value, tk.decimals, tk.symbol);
        if ('error' in r) {
          fieldError(more, r.error);
          more.focus();
          return;
        }
        fieldError(more, null);
        void act(ctx, beside('perf-fund', go), id, { action: 'fund', amount: r.value.toString() }, `${amount(r.value, tk)} added to the budget`);
      });
      blocks.push(h('section', { class: 'card', 'aria-labelledby': 'topup-h' }, h('h3', { id: 'topup-h' }, 'Top up the budget'), field('Amount (token units)', more), h('div', { class: 'actions' }, go)));
    }
  }
  if (roles.includes('partner') && !roles.includes('brand') && periods.some((p) => p.status === 'locked' && now < Number(p.lockedUntil)))
    notes.push('No dispute: only the brand may dispute a report, while it is locked; undisputed, its pay is yours once the lock ends.');
  if ((roles.includes('brand') || roles.includes('partner')) && live && !v.terminatedBy) {
    const reason = h('input', { name: 'terminateReason', required: true }) as HTMLInputElement;
    const go = button('End the agreement for cause', 'danger');
    go.addEventListener('click', () => {
      if (!reason.value.trim()) {
        fieldError(reason, 'Say why (its hash goes on chain).');
        reason.focus();
        return;
      }
      fieldError(reason, null);
      void act(ctx, beside('perf-terminate', go), id, { action: 'terminate', reason: reason.value.trim() }, 'Ended for cause: conversions before now still count and are reported');
    });
    blocks.push(h('section', { class: 'card', 'aria-labelledby': 'term-h' }, h('h3', { id: 'term-h' }, 'End it for cause'),
      h('p', {}, 'No period starts after this; conversions before it are still reported and paid.'), field('Why', reason), h('div', { class: 'actions' }, go)));
  }

  // Arbiter: rule on a disputed period within its window.
  const windowEnd = (p: any) => Number(p.disputedAt) + Number(t.arbitrationWindow);
  if (roles.includes('arbiter')) {
    const open = periods.filter((p) => p.status === 'disputed' && now < windowEnd(p));
    if (open.length) {
      const pick = h('select', { name: 'resolvePeriod' }, open.map((p) => h('option', { value: p.period }, `Period ${p.period} (${amount(p.pay, tk)}, rule by ${when(windowEnd(p))})`))) as HTMLSelectElement;
      const share = h('input', { name: 'partnerShare', type: 'number', min: '0', max: '100', step: '0.01', value: '50' }) as HTMLInputElement;
      const go = button('Rule', 'primary');
      go.addEventListener('click', () => {
        const pct = Number(share.value);
        if (!(share.value !== '' && pct >= 0 && pct <= 100)) {
          fieldError(share, 'A share from 0 to 100%.');
          share.focus();
          return;
        }
        fieldError(share, null);
        void act(ctx, beside('perf-resolve', go), id, { action: 'resolve', period: Number(pick.value), partnerBps: Math.round(pct * 100) }, `Period ${pick.value} resolved: ${pct}% to the partner after your fee`);
      });
      blocks.push(h('section', { class: 'card', 'aria-labelledby': 'res-h' }, h('h3', { id: 'res-h' }, 'Rule on a dispute'), field('Period', pick), field('Partner\u2019s share after your fee (%)', share), h('div', { class: 'actions' }, go)));
    } else notes.push('No dispute waits for your ruling.');
  }

  // Anyone named: release a period whose lock ended; split a dispute the arbiter let time out; close.
  const releasable = periods.filter((p) => p.status === 'locked' && now >= Number(p.lockedUntil));
  const timedOut = periods.filter((p) => p.status === 'disputed' && now >= windowEnd(p));
  const rows: HTMLElement[] = [];
  for (const p of releasable) {
    const go = button(`Release period ${p.period} (${amount(p.pay, tk)})`, 'primary');
    go.addEventListener('click', () => void act(ctx, beside('perf-release', go), id, { action: 'release', period: p.period }, `Period ${p.period} released: ${amount(p.pay, tk)} to the partner`));
    rows.push(go);
  }
  for (const p of timedOut) {
    const go = button(`Split period ${p.period} after the arbiter\u2019s timeout`);
    go.addEventListener('click', () => void act(ctx, beside('perf-timeout', go), id, { action: 'resolve-timeout', period: p.period }, `Period ${p.period} split: half to the partner`));
    rows.push(go);
  }
  // Close: once every period the contract takes reports of is reported, or the last one's report
  // window closed (the contract's `close`, `Performance_ReportsStillDue` otherwise).
  const due = periods.slice(0, count).filter((p) => p.status === 'unreported');
  if (live && (!due.length || now >= until)) {
    const go = button('Close: return the unreserved budget to the brand');
    go.addEventListener('click', () => void act(ctx, beside('perf-close', go), id, { action: 'close' }, 'Closed: the unreserved budget went back to the brand'));
    rows.push(go);
  } else if (live) notes.push(`No close yet: ${due.length === 1 ? `period ${due[0].period} may still be reported` : `periods ${due.map((p) => p.period).join(', ')} may still be reported`}, until ${when(until)}; then anyone named may close it, returning the unreserved budget to the brand.`);
  if (rows.length) blocks.push(h('section', { class: 'card', 'aria-labelledby': 'rel-h' }, h('h3', { id: 'rel-h' }, 'Pay out'), h('p', {}, 'Anyone the agreement names may send these.'), h('div', { class: 'actions' }, rows)));
  else notes.push(periods.some((p) => p.status === 'locked') ? `Nothing to release yet: ${periods.filter((p) => p.status === 'locked').map((p) => `period ${p.period} is locked until ${when(p.lockedUntil)}`).join('; ')}.` : 'Nothing to release: no report is locked.');

  return h('section', { 'aria-labelledby': 'pact-h' }, h('h2', { id: 'pact-h' }, 'What you can do'),
    blocks,
    notes.length ? h('section', { class: 'card', 'aria-labelledby': 'pnot-h', 'data-testid': 'not-offered' }, h('h3', { id: 'pnot-h' }, 'Not offered now, and why'), h('ul', {}, notes.map((n) => h('li', {}, n)))) : null);
}

/** Looks up a conversion's proof and checks it in the browser. */
function proofCard(id: string, periods: any[], tk: TokenInfo): HTMLElement {
  const reported = periods.filter((p) => Number(p.version) > 0);
  if (!reported.length)
    return h('section', { class: 'card', 'aria-labelledby': 'proof-h' }, h('h2', { id: 'proof-h' }, 'Check a conversion'), h('p', { class: 'muted' }, 'No period is reported yet: a conversion can be checked once its period\u2019s report is on chain.'));
  const pick = h('select', { name: 'proofPeriod' }, reported.map((p) => h('option', { value: p.period }, `Period ${p.period} (report v${p.version})`))) as HTMLSelectElement;
  const conv = h('input', { name: 'conversionId', autocomplete: 'off', spellcheck: 'false' }) as HTMLInputElement;
  const go = h('button', { type: 'submit' }, 'Check it');
  const out = h('div', { 'data-testid': 'proof-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'proof-h' }, h('h2', { id: 'proof-h' }, 'Check a conversion'),
    h('p', {}, 'Pactum gives the Merkle proof; this page recomputes the record\u2019s leaf and hashes it up to the root, and compares that root with the one the period\u2019s report put on chain. Nothing of it is taken on trust.'),
    field('Period', pick), field('Conversion id', conv), h('div', { class: 'actions' }, go), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = conv.value.trim();
    if (!c) {
      fieldError(conv, 'Give a conversion id.');
      conv.focus();
      return;
    }
    fieldError(conv, null);
    const period = Number(pick.value);
    const p = periods.find((x) => x.period === period);
    out.removeAttribute('data-verified');
    out.replaceChildren(h('p', { class: 'muted' }, 'Fetching the proof\u2026'));
    try {
      const pr = await api<any>('GET', `/v1/performance/agreements/${id}/periods/${period}/proof?conversionId=${encodeURIComponent(c)}`);
      const r = verifyProof(pr);
      const rootMatches = String(p?.detailRoot ?? '').toLowerCase() === String(pr.root).toLowerCase();
      const ok = r.leafOk && r.rootOk && rootMatches && pr.onChain === true;
      out.dataset.verified = String(ok);
      out.dataset.onchain = String(pr.onChain === true && rootMatches);
      out.replaceChildren(
        h('p', { class: ok ? 'ok' : 'error', role: ok ? null : 'alert' }, h('strong', {}, ok ? 'Counted. ' : 'Not proven. '),
          ok ? `Conversion ${pr.conversionId} (${when(pr.occurredAt)}, revenue ${amount(pr.revenue, tk)}) is in period ${period}\u2019s report v${pr.version}: the proof, checked in this browser, leads to the root on chain.` : 'The proof does not lead to the root the period\u2019s report put on chain.'),
        h('ul', { class: 'checks' },
          h('li', { 'data-status': r.leafOk ? 'pass' : 'fail' }, r.leafOk ? 'The leaf is this record\u2019s (recomputed here).' : 'The leaf is not this record\u2019s.'),
          h('li', { 'data-status': r.rootOk ? 'pass' : 'fail' }, `The proof (${pr.proof.length} hashes) leads to `, h('code', { class: 'wrap' }, r.computed), r.rootOk ? '' : ', not the root given'),
          h('li', { 'data-status': rootMatches && pr.onChain ? 'pass' : 'fail' }, rootMatches && pr.onChain ? 'That is the root on chain (the latest report\u2019s).' : 'That is not the root the latest report put on chain.')),
        pr.reversedAt ? h('p', {}, `It was reversed on ${when(pr.reversedAt)}, after this tree was built: a correction leaves it out.`) : '');
    } catch (err) {
      out.dataset.verified = 'false';
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, err instanceof ApiError && err.status === 404 ? `No such conversion in period ${period}\u2019s report: ${err.message}.` : (err as Error).message));
    }
  });
  return form;
}

/** A JSON-RPC node reached over HTTP(S) by URL. */
function httpRpc(url: string): Rpc {
  let next = 0;
  return async (method, params) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++next, method, params }) });
    if (!res.ok) throw new Error(`the node answered HTTP ${res.status}`);
    const body = await res.json();
    if (body.error) throw new Error(body.error.message ?? JSON.stringify(body.error));
    return body.result;
  };
}

/** "Verify": the agreement id, its reports, their records and the contract's state checked here
 *  against a node (app/perfverify.ts), the API trusted for nothing but the terms and the records. */
function verifyCard(cfg: Config, v: any): HTMLElement {
  const chain = Number(v.chainId);
  const trusted = (perfChains(cfg).find((c) => c.chainId === chain)?.performance ?? null) as Hex | null;
  const node = h('input', { name: 'perf-rpc-url', type: 'url', spellcheck: 'false', autocomplete: 'off', placeholder: 'https://\u2026 (empty: your wallet\u2019s node)' }) as HTMLInputElement;
  const go = h('button', { type: 'button', class: 'primary' }, 'Verify against the chain');
  const out = h('div', { 'data-testid': 'perf-verify-result', 'aria-live': 'polite' });
  go.addEventListener('click', async () => {
    delete out.dataset.outcome;
    out.replaceChildren(h('p', { class: 'muted' }, 'Checking against the node\u2026'));
    let rpc: Rpc;
    if (node.value.trim()) rpc = httpRpc(node.value.trim());
    else if (provider()) {
      // The wallet's node must be the agreement's chain: the wallet is asked to switch first; if
      // it will not, the check goes on and the contract check says which chain answered.
      try {
        await ensureChain(chain, 'this agreement is on network');
      } catch {
        /* reported by the contract check */
      }
      rpc = (method, params) => walletRequest(method, params);
    } else {
      out.dataset.outcome = 'undecided';
      out.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'perf-verify-verdict' }, 'No node to ask: connect a wallet, or give a JSON-RPC URL of a node of the agreement\u2019s chain.'));
      return;
    }
    try {
      // The view read again now: what is checked is what the API says at this moment.
      const fresh = await api<any>('GET', `/v1/performance/agreements/${v.id}`);
      renderPerfReport(out, await verifyPerformance(fresh, rpc, trusted, chain));
    } catch (e) {
      out.dataset.outcome = 'undecided';
      out.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'perf-verify-verdict' }, `The check stopped: ${(e as Error).message}`));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'pverify-h' }, h('h2', { id: 'pverify-h' }, 'Verify'),
    h('p', {}, 'Checks this agreement against the chain, in this browser: the contract computes the agreement id from the terms shown; every report is read from the node\u2019s logs; each period\u2019s records, as Pactum gives them, must rebuild the Merkle root on chain (recomputed here) and add up to its units and revenue; the contract\u2019s own state of each period must be its latest report. Pactum\u2019s server is trusted for nothing but the terms and the records, and those are what is checked.'),
    field('Node to check against (JSON-RPC URL)', node, 'Any node of the agreement\u2019s chain. Empty: your wallet\u2019s node.'),
    h('div', { class: 'actions' }, go), out);
}

function renderPerfReport(target: HTMLElement, r: PerfReport) {
  const failed = r.checks.filter((c) => c.status === 'fail').map((c) => c.title);
  const errors = r.checks.filter((c) => c.status === 'error').map((c) => c.title);
  target.dataset.outcome = r.outcome;
  const verdict =
    r.outcome === 'verified'
      ? `Verified: all ${r.checks.length} checks passed, computed in this browser against the node.`
      : r.outcome === 'not-verified'
        ? `NOT verified: ${failed.length} of ${r.checks.length} checks failed: ${failed.join('; ')}.`
        : `Not decided: ${errors.join('; ')} could not be checked (the node or Pactum did not answer).`;
  const label = { pass: 'pass', fail: 'FAIL', error: 'ERROR' } as const;
  target.replaceChildren(
    h('p', { class: r.outcome === 'verified' ? 'ok' : 'error', role: 'alert', 'data-testid': 'perf-verify-verdict' }, verdict),
    h('ul', { class: 'checks' }, r.checks.map((c) => h('li', { 'data-check': c.id, 'data-status': c.status }, h('strong', {}, `${label[c.status]} `), c.title, h('br', {}), h('small', { class: 'wrap' }, c.detail)))));
}
