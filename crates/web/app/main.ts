// Pactum's web app: routes, the sign-in gate, and each screen (dashboard, draft form, the deal in
// plain language with what the wallet will sign, funding, deliverables and settlement actions,
// the auditor's search, timeline and in-browser bundle check).

import './style.css';
import { decodeFunctionResult, encodeFunctionData, formatUnits, getAddress, isAddress, keccak256, stringToBytes, zeroAddress } from 'viem';
import { api, ApiError, chainOf, getConfig, multiChain, networkName, session, setSession, tokensOf, type Config, type TokenInfo } from './api';
import { field, fieldError, h, setStatus, uid } from './dom';
import { arbiterPanel, arbiterSteps, timeoutExits } from './arbiter';
import { beside, carryOver, type Feedback } from './feedback';
import { settlementCards } from './settle';
import { performanceRoute, type PerfCtx } from './performance';
import { auditSignedOut, invitation, landing, notAddressedToYou, renderNav } from './landing';
import { aiWords, amount, DEFAULT_DISCLOSURE_LABELS, disclosureWords, duration, ownerWords, parseAmount, plural, short, tokenOf, when, zoneName } from './format';
import { closePanel, onNotification, renderBell, startLive, stopLive } from './live';
import { deploymentFor, parseBundleText, readBundle, verifyBundle, type Report, type Rpc } from './verify';
import {
  chainId as walletChain,
  ensureChain,
  indexed,
  sendAll,
  signIn,
  signTypedData,
  SwitchDeclined,
  switchNetwork,
  walletRequest,
  WalletRejected,
  WrongNetwork,
  provider,
  type PreparedTx,
  type Sent,
} from './wallet';

const main = document.getElementById('main') as HTMLElement;
const walletBox = document.getElementById('wallet') as HTMLElement;

// ---------------------------------------------------------------- routing

function navigate(path: string) {
  history.pushState(null, '', path);
  closePanel();
  void render();
}

document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a[data-link]') as HTMLAnchorElement | null;
  if (a && !e.metaKey && !e.ctrlKey && !e.shiftKey && a.origin === location.origin) {
    e.preventDefault();
    navigate(a.pathname + a.search);
  }
});
window.addEventListener('popstate', () => void render());
// A performance proposal's link carries its terms and signatures in the fragment: opening another
// one on the same page changes only the fragment.
window.addEventListener('hashchange', () => {
  if (location.pathname === '/performance/sign') void render();
});

// The wallet changed network or account: the header is redrawn; the screen is left alone so an
// operation under way keeps its status. Each request checks the network and the account first.
provider()?.on?.('chainChanged', () => renderWallet());
provider()?.on?.('accountsChanged', () => renderWallet());

function link(href: string, text: string, attrs: Record<string, string> = {}) {
  return h('a', { href, 'data-link': true, ...attrs }, text);
}

/** Set while a live update redraws the screen in place: no "Loading…", no focus jump. */
let soft = false;

/** Renders run one at a time: a live redraw and an action's own redraw never interleave (each
 *  would otherwise draw in the other's mode, and an outcome shown beside its control be lost). */
let rendering: Promise<void> = Promise.resolve();
function render(live = false): Promise<void> {
  const next = rendering.then(() => drawScreen(live));
  rendering = next.catch(() => undefined);
  return next;
}

async function drawScreen(live: boolean) {
  renderWallet();
  const path = location.pathname;
  soft = live;
  if (!live) main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let m: RegExpMatchArray | null;
  try {
    if (!session() && (await signedOutScreen(path))) return;
    if (path === '/' || path === '') await dashboard();
    else if (path === '/drafts/new') await draftForm(null);
    else if ((m = path.match(/^\/drafts\/([\w-]+)\/edit$/))) await draftForm(m[1]);
    else if ((m = path.match(/^\/drafts\/([\w-]+)$/))) await draftPage(m[1]);
    else if ((m = path.match(/^\/agreements\/(0x[0-9a-fA-F]{64})$/))) await agreementPage(m[1]);
    else if (path === '/audit') await auditPage();
    else if (path.startsWith('/performance') && (await performanceRoute(path, perfCtx))) return;
    else screen('Not found', h('p', {}, 'There is no page here. ', link('/', 'Go to the dashboard.')));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setSession(null);
      renderWallet();
      if (!(await signedOutScreen(path))) screen('Sign in', signInPanel());
    } else if (e instanceof ApiError && e.status === 404 && session() && (m = path.match(/^\/drafts\/([\w-]+)$/))) {
      screen('Not your draft', ...(await notAddressedToYou(m[1], session()!.address)));
    } else if (!live) {
      screen('Something went wrong', h('p', { class: 'error', role: 'alert' }, (e as Error).message));
    }
  } finally {
    soft = false;
  }
}

function screen(title: string, ...content: (Node | null)[]) {
  // A live update whose reads came back while the reader started something (a field focused or
  // marked invalid, a wallet request under way) is dropped and tried again later: drawing it would
  // take that away.
  if (soft && !idle()) {
    refreshSoon(1500);
    return;
  }
  document.title = `${title} · Pactum`;
  if (soft) {
    // A live update: the same screen with new state; keep the reader's place and focus.
    const active = document.activeElement as HTMLElement | null;
    const inMain = active && active !== main && main.contains(active);
    const key = inMain ? { id: active.id, tag: active.tagName, text: active.textContent } : null;
    const y = window.scrollY;
    // What a wallet request or transaction ended with (confirmed, refused, reverted…) stays shown,
    // beside the same control (app/feedback.ts).
    const restoreFeedback = carryOver(main);
    main.replaceChildren(h('h1', {}, title), ...content.filter((c): c is Node => c !== null));
    restoreFeedback();
    window.scrollTo(0, y);
    if (key) {
      const again = (key.id && document.getElementById(key.id)) || [...main.querySelectorAll<HTMLElement>(key.tag)].find((e) => e.textContent === key.text);
      again?.focus({ preventScroll: true });
    }
    return;
  }
  main.replaceChildren(h('h1', {}, title), ...content.filter((c): c is Node => c !== null));
  main.focus({ preventScroll: true });
}

/** What the performance screens (app/performance.ts) borrow from this module. */
const perfCtx: PerfCtx = {
  screen: (title, ...content) => (requireSession() ? screen(title, ...content) : undefined),
  link,
  navigate,
  render: () => render(),
  walletOn: (chain) => walletOn(chain),
  chainNow: (onChain) => chainNow(onChain),
};

// ---------------------------------------------------------------- live updates

/** States of a wallet request or transaction under way: a redraw now would lose them. */
const BUSY = ['waiting', 'checking', 'pending'];
let refreshTimer: ReturnType<typeof setTimeout> | null = null;

/** Nothing a redraw would lose: no wallet request or transaction under way, no field with focus
 *  (input typed but not sent), no field showing its error. */
function idle(): boolean {
  const busy = [...main.querySelectorAll<HTMLElement>('[data-status]')].some((el) => BUSY.includes(el.dataset.state ?? ''));
  const typing = document.activeElement instanceof HTMLInputElement || document.activeElement instanceof HTMLTextAreaElement;
  const invalid = main.querySelector('[aria-invalid="true"]') !== null;
  return !busy && !typing && !invalid;
}

/** Redraws the screen in place soon (once for a burst of events), when nothing is under way. */
function refreshSoon(delay = 300) {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (idle()) void render(true);
    else refreshSoon(1500);
  }, delay);
}

onNotification((n) => {
  const path = location.pathname;
  const shown = path.match(/^\/agreements\/(0x[0-9a-fA-F]{64})$/)?.[1]?.toLowerCase();
  if (path === '/' || (shown && n.agreement_id && shown === n.agreement_id.toLowerCase())) refreshSoon();
});

// ---------------------------------------------------------------- sign-in

function renderWallet() {
  const s = session();
  if (s) startLive();
  else stopLive();
  renderBell();
  renderNav(!!s);
  if (s) {
    walletBox.replaceChildren(
      h('span', { 'data-testid': 'signed-in-as' }, `${s.role === 'auditor' ? 'Auditor' : 'Signed in'}: `, h('code', { title: s.address }, short(s.address))),
      h('button', { type: 'button', class: 'link', onclick: async () => {
        try {
          await api('POST', '/v1/auth/logout');
        } catch {
          /* the session is gone either way */
        }
        setSession(null);
        void render();
      } }, 'Sign out'),
    );
  } else {
    walletBox.replaceChildren(h('span', { class: 'muted' }, 'Not signed in'));
  }
}

/** The sign-in panel: connect, switch network if needed, sign the SIWE message. */
function signInPanel(): HTMLElement {
  const actions = h('div', { class: 'actions' });
  const go = h('button', { type: 'button', class: 'primary' }, 'Connect wallet and sign in');
  // Beside the button (app/feedback.ts); the network switch offered in it reports in the same place.
  const attempt = async (fb: Feedback) => {
    setStatus(fb.box, 'waiting', 'Waiting for your wallet: approve the connection, then sign the sign-in message.');
    try {
      await signIn();
      setStatus(fb.box, 'confirmed', 'Signed in.');
      await render();
    } catch (e) {
      if (e instanceof WrongNetwork) {
        const sw = h('button', { type: 'button', class: 'primary' }, `Switch to network ${e.wanted}`);
        sw.addEventListener('click', async () => {
          setStatus(fb.box, 'waiting', 'Waiting for your wallet to switch networks.');
          try {
            await switchNetwork();
            await attempt(fb);
          } catch (err) {
            fb.done(err instanceof WalletRejected ? 'rejected' : 'error', (err as Error).message);
          }
        });
        setStatus(fb.box, 'wrong-network', h('strong', {}, 'Wrong network. '), e.message, ' ', sw);
        sw.focus();
      } else if (e instanceof WalletRejected) {
        fb.done('rejected', 'Rejected in your wallet. You are not signed in.');
      } else {
        fb.done('error', (e as Error).message);
      }
    }
  };
  go.addEventListener('click', () => attempt(beside('signin', go)));
  actions.append(go);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'signin-h' },
    h('h2', { id: 'signin-h' }, 'Sign in with your wallet'),
    h('p', {}, 'Your wallet signs a short sign-in message (no transaction, no fee). Pactum never holds your keys: it prepares what your wallet signs or sends, and your wallet shows it to you first.'),
    actions,
  );
}

/** The pages a signed-out visitor gets (app/landing.ts): what Pactum is at `/`, a draft's
 *  invitation, the audit page's bundle check; false for the others (they ask to sign in). */
async function signedOutScreen(path: string): Promise<boolean> {
  let m: RegExpMatchArray | null;
  if (path === '/' || path === '') screen('Pactum: brand\u2013creator agreements paid from escrow', ...landing(signInPanel()));
  else if (path === '/audit') screen('Audit', ...auditSignedOut(signInPanel(), bundleChecker().el));
  else if ((m = path.match(/^\/drafts\/([\w-]+)$/))) {
    const inv = await invitation(m[1], signInPanel());
    screen(inv.title, ...inv.content);
  } else return false;
  return true;
}

function requireSession(): boolean {
  if (session()) return true;
  screen('Sign in', signInPanel());
  return false;
}

// ---------------------------------------------------------------- dashboard

const MS_STATUS_WORDS: Record<string, string> = {
  open: 'waiting for the deliverable',
  submitted: 'delivered, in review',
  revision_requested: 'revision requested',
  disputed: 'in dispute',
  approved: 'approved and paid',
  claimed: 'paid (claimed after the brand\u2019s silence)',
  reclaimed: 'returned to the brand (deadline missed)',
  resolved: 'resolved by the arbiter',
  timed_out: 'split after the arbiter\u2019s timeout',
  settled: 'settled by both',
  cancelled: 'cancelled by the termination (never delivered)',
};

/** Statuses in which milestones still move (the escrow's "live"). */
const LIVE = ['active', 'terminating', 'closing'];

/** Milestones delivered before a termination: they keep their own exits, whatever it decides. */
function deliveredPending(milestones: any[]): any[] {
  return milestones.filter((m) => ['submitted', 'revision_requested', 'disputed'].includes(m.status));
}

/** What a termination (under way or decided) means for the work already delivered. */
function terminationNote(a: any, milestones: any[], role: string): string | null {
  if (a.status !== 'terminating' && a.status !== 'closing') return null;
  const delivered = deliveredPending(milestones);
  const decided = a.status === 'closing' ? 'The termination has taken only the unearned escrow (milestones never delivered).' : 'A termination takes only the unearned escrow: the funded milestones never delivered.';
  if (!delivered.length) return decided;
  const names = delivered.map((m) => `milestone ${m.index + 1} (${MS_STATUS_WORDS[m.status] ?? m.status})`).join(', ');
  if (role === 'creator') return `${decided} Your delivered work stays yours to claim: ${names} keep${delivered.length === 1 ? 's' : ''} its own review, revision and dispute rules, and the termination cannot take it.`;
  if (role === 'brand') return `${decided} Work the creator delivered before it, ${names}, still runs to its own end: review it as usual, or the creator may claim it after your silence.`;
  return `${decided} Delivered work, ${names}, runs to its own end.`;
}

/**
 * What the viewer must do next on an agreement, and by when. `termination` is the read's
 * termination under way (who started it, contested or not, its deadlines), null otherwise.
 */
function nextSteps(a: any, milestones: any[], me: string, termination: any): string[] {
  const role = me.toLowerCase() === String(a.brand).toLowerCase() ? 'brand' : me.toLowerCase() === String(a.creator).toLowerCase() ? 'creator' : 'other';
  if (hasArbiter(a) && me.toLowerCase() === String(a.arbiter).toLowerCase()) return arbiterSteps(a, milestones, termination);
  if (a.status === 'closing') {
    const delivered = deliveredPending(milestones);
    return [`Termination decided; ${delivered.length ? `delivered work still runs: ${delivered.map((m) => `milestone ${m.index + 1} (${MS_STATUS_WORDS[m.status] ?? m.status})`).join(', ')}.` : 'nothing left to do.'}`];
  }
  if (a.status === 'terminating') {
    if (termination?.contested) return ['Termination contested: the arbiter decides how the unearned escrow (funded milestones never delivered) is split.'];
    const until = termination?.contestDeadline != null ? when(termination.contestDeadline) : 'the end of the contest window';
    if (role === 'other') return [`Termination under way: it may be contested until ${until}.`];
    return termination?.startedBy === role
      ? [`Termination under way: the other party may contest it until ${until}; after that, finalize it.`]
      : [`Termination under way: contest it before ${until} if you disagree; otherwise the funded milestones never delivered go back to the brand (delivered ones keep their own rules).`];
  }
  if (a.status !== 'active') return [`Nothing to do: the agreement is ${a.status}.`];
  for (const m of milestones) {
    const review = Number(m.since) + Number(m.reviewWindow);
    if (m.status === 'open' || m.status === 'revision_requested') {
      return [role === 'creator' ? `Deliver milestone ${m.index + 1} by ${when(m.deadline)}.` : `Milestone ${m.index + 1}: the creator delivers by ${when(m.deadline)}.`];
    }
    if (m.status === 'submitted') {
      return [role === 'brand' ? `Review milestone ${m.index + 1} by ${when(review)}; after that the creator may claim it.` : `Milestone ${m.index + 1} is in review until ${when(review)}; if the brand stays silent, claim it then.`];
    }
    if (m.status === 'disputed') return [`Milestone ${m.index + 1} is with the arbiter.`];
  }
  return ['Nothing to do right now.'];
}

/** What the escrow still holds of an agreement: funded, less paid, refunded and arbiter fees. */
function held(a: any): bigint {
  return BigInt(a.funded) - BigInt(a.paidToCreator) - BigInt(a.refundedToBrand) - BigInt(a.arbiterFees);
}

/** A link only for http(s) addresses; anything else (javascript:, data:…) is shown as text. */
function safeLink(uri: string): HTMLElement {
  try {
    const u = new URL(uri);
    if (u.protocol === 'https:' || u.protocol === 'http:') return h('a', { href: u.href, rel: 'noopener noreferrer', target: '_blank', class: 'wrap' }, uri);
  } catch {
    /* not a URL: text */
  }
  return h('code', { class: 'wrap' }, uri);
}

/** Every agreement `party` is party or arbiter to on chain `chain` (every served chain has its
 *  own list; null: the only one, asked as before), with what its dashboard row draws: one request
 *  per page of 200 (the list's largest), so one request for anyone with 200 or fewer. */
async function myAgreements(party: string, chain: number | null): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: any[]; next?: string | null } = await api('GET', `/v1/agreements?party=${party}&include=milestones&limit=200${chain === null ? '' : `&chain=${chain}`}${cursor ? `&cursor=${cursor}` : ''}`);
    rows.push(...page.items.map((a) => ({ ...a, chainId: a.chainId ?? chain })));
    cursor = page.next ?? null;
  } while (cursor);
  return rows;
}

/** The caller's drafts on chain `chain` (null: the only one, asked as before). */
async function myDrafts(chain: number | null): Promise<any[]> {
  const r = await api<{ items: any[] }>('GET', `/v1/drafts${chain === null ? '' : `?chain=${chain}`}`);
  return r.items.map((d) => ({ ...d, chainId: d.chainId ?? chain }));
}

/** A table cell naming a row's network, when the deployment serves more than one chain. */
function networkCell(cfg: Config, chainId: unknown): HTMLElement | null {
  return multiChain(cfg) ? h('td', { 'data-testid': 'network' }, String(chainId ?? cfg.chainId)) : null;
}

async function dashboard() {
  if (!requireSession()) return;
  const s = session()!;
  if (s.role === 'auditor') {
    screen('Dashboard', h('p', {}, 'You are signed in as an auditor: you can read every agreement and check its audit bundle. ', link('/audit', 'Search agreements.')));
    return;
  }
  // One list read per chain for all its rows: each carries its milestones and the termination
  // under way (include=milestones), so no row needs a request of its own.
  const cfg = await getConfig();
  const many = multiChain(cfg);
  const chains = many ? cfg.chains.map((c) => c.chainId) : [null];
  const [draftLists, agreementLists] = await Promise.all([Promise.all(chains.map((c) => myDrafts(c))), Promise.all(chains.map((c) => myAgreements(s.address, c)))]);
  const drafts = draftLists.flat();
  const agreements = agreementLists.flat();
  const me = s.address.toLowerCase();
  const pending = drafts.filter((d) => d.status !== 'created');
  const draftRows = pending.map((d) => {
    const v = d.version;
    const mine = me === String(d.brand).toLowerCase() ? 'brand' : 'creator';
    const signed = v.signatures.map((x: any) => x.role);
    const token = tokenOf(tokensOf(cfg, d.chainId), v.agreement.token);
    const total = (v.agreement.milestones as any[]).reduce((t, m) => t + BigInt(m.amount), 0n);
    let next: string;
    if (d.status === 'ready') next = mine === 'brand' ? `Fund it before ${when(v.agreement.deadline)}.` : `The brand funds it before ${when(v.agreement.deadline)}.`;
    else if (!signed.includes(mine)) next = `Read and sign version ${v.number} before ${when(v.agreement.deadline)}.`;
    else next = `Waiting for the ${mine === 'brand' ? 'creator' : 'brand'}\u2019s signature (until ${when(v.agreement.deadline)}).`;
    return h('tr', {},
      h('td', {}, link(`/drafts/${d.id}`, d.id)),
      networkCell(cfg, d.chainId),
      h('td', {}, mine),
      h('td', {}, amount(total, token)),
      h('td', {}, d.status === 'ready' ? 'signed by both' : 'awaiting signatures'),
      h('td', {}, next));
  });
  const groups = new Map<string, HTMLElement[]>();
  // Per token (on its chain: the same address on two chains is two tokens): what the agreements
  // add up to, what is paid and what the escrow still holds.
  const totals = new Map<string, { chainId: number; token: string; total: bigint; held: bigint; paid: bigint; count: number }>();
  for (const a of agreements) {
    const chain = Number(a.chainId ?? cfg.chainId);
    const token = tokenOf(tokensOf(cfg, chain), a.token);
    const mine = me === String(a.brand).toLowerCase() ? 'brand' : me === String(a.creator).toLowerCase() ? 'creator' : 'arbiter';
    const row = h('tr', {},
      h('td', {}, link(`/agreements/${a.id}`, short(a.id))),
      networkCell(cfg, chain),
      h('td', {}, mine),
      h('td', {}, amount(a.totalAmount, token)),
      h('td', { 'data-testid': 'held' }, `${amount(held(a), token)} held`),
      h('td', {}, `${amount(a.paidToCreator, token)} paid`),
      h('td', {}, nextSteps(a, a.milestones, me, a.termination).join(' ')));
    groups.set(a.status, [...(groups.get(a.status) ?? []), row]);
    const key = `${chain}:${String(a.token).toLowerCase()}`;
    const t = totals.get(key) ?? { chainId: chain, token: String(a.token).toLowerCase(), total: 0n, held: 0n, paid: 0n, count: 0 };
    totals.set(key, { ...t, total: t.total + BigInt(a.totalAmount), held: t.held + held(a), paid: t.paid + BigInt(a.paidToCreator), count: t.count + 1 });
  }
  const net = many ? ['Network'] : [];
  const table = (caption: string, head: string[], rows: HTMLElement[]) =>
    h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': `${caption} (table)` }, h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows)));
  const sections: HTMLElement[] = [];
  sections.push(h('section', { 'aria-labelledby': 'drafts-h' }, h('h2', { id: 'drafts-h' }, 'Drafts'),
    draftRows.length ? table('Drafts not yet on chain', ['Draft', ...net, 'You are', 'Total', 'State', 'Next, and by when'], draftRows) : h('p', { class: 'muted' }, 'No open drafts. ', link('/drafts/new', 'Draft an agreement.'))));
  const order = ['active', 'terminating', 'closing', 'completed', 'terminated', 'revoked'];
  sections.push(h('section', { 'aria-labelledby': 'agreements-h' }, h('h2', { id: 'agreements-h' }, 'Agreements'),
    groups.size ? order.filter((st) => groups.has(st)).map((st) => table(`${st[0].toUpperCase()}${st.slice(1)}`, ['Agreement', ...net, 'You are', 'Total', 'Held in escrow', 'Paid', 'Next, and by when'], groups.get(st)!)) : h('p', { class: 'muted' }, 'No agreements on chain yet.')));
  if (totals.size)
    sections.push(h('section', { 'aria-labelledby': 'totals-h' }, h('h2', { id: 'totals-h' }, 'Totals'),
      h('p', { class: 'muted' }, 'Held in escrow: funded, less what was paid to the creator, returned to the brand and paid to the arbiter.'),
      table('Totals by token, over all your agreements', ['Token', ...net, 'Agreements', 'Total', 'Held in escrow', 'Paid to the creator'],
        [...totals.values()].map((t) => {
          const tk = tokenOf(tokensOf(cfg, t.chainId), t.token);
          return h('tr', { 'data-token': t.token, 'data-chain': t.chainId }, h('td', {}, tk.symbol ?? short(t.token)), networkCell(cfg, t.chainId), h('td', {}, t.count), h('td', {}, amount(t.total, tk)), h('td', { 'data-testid': 'held-total' }, amount(t.held, tk)), h('td', {}, amount(t.paid, tk)));
        }))));
  screen('Dashboard', ...sections);
}

// ---------------------------------------------------------------- draft form

const RULES: [string, string, string][] = [
  ['US', 'FTC', '#ad, #sponsored'],
  ['UK', 'ASA', '#ad'],
  ['AU', 'ACCC', '#ad'],
];
const PLATFORMS = ['instagram', 'youtube', 'tiktok', 'x', 'linkedin', 'twitch', 'podcast', 'blog'];

function localInput(unix: number): string {
  const d = new Date(unix * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function draftForm(editId: string | null) {
  if (!requireSession()) return;
  const cfg = await getConfig();
  let existing: any = null;
  if (editId) existing = await api<any>('GET', `/v1/drafts/${editId}`);
  const v = existing?.version;
  const ag = v?.agreement;
  const terms = v?.terms;
  const now = Math.floor(Date.now() / 1000);

  const creator = h('input', { name: 'creator', required: true, autocomplete: 'off', spellcheck: 'false', value: existing?.creator ?? '', readonly: !!existing, placeholder: '0x…' }) as HTMLInputElement;
  // The network: chosen for a new draft when more than one chain is served (its tokens are the
  // ones offered), kept by a new version (shown, not changeable).
  const many = multiChain(cfg);
  const network = existing
    ? (h('input', { name: 'network', readonly: true, value: networkName(cfg, existing.chainId ?? cfg.chainId) }) as HTMLInputElement)
    : (h('select', { name: 'network' }, cfg.chains.map((c) => h('option', { value: c.chainId }, networkName(cfg, c.chainId)))) as HTMLSelectElement);
  const chosenChain = () => (existing ? Number(existing.chainId ?? cfg.chainId) : Number((network as HTMLSelectElement).value));
  const tokens = () => tokensOf(cfg, chosenChain());
  const token = h('select', { name: 'token' }) as HTMLSelectElement;
  // The tokens of the network chosen; the same symbol stays chosen when the network changes.
  const fillTokens = (keep: string | null) => {
    const list = tokens();
    token.replaceChildren(...list.map((t) => h('option', { value: t.address }, `${t.symbol ?? short(t.address)}${t.address === zeroAddress ? '' : ` (${short(t.address)})`}`)));
    const kept = keep === null ? -1 : list.findIndex((t) => (t.symbol ?? t.address) === keep);
    token.selectedIndex = kept >= 0 ? kept : list.length > 1 ? 1 : 0;
  };
  fillTokens(null);
  if (ag) {
    const i = tokens().findIndex((t) => t.address.toLowerCase() === String(ag.token).toLowerCase());
    if (i >= 0) token.selectedIndex = i;
  }
  const arbiter = h('input', { name: 'arbiter', autocomplete: 'off', spellcheck: 'false', value: ag && ag.arbiter !== zeroAddress ? ag.arbiter : '', placeholder: '0x… (optional)' }) as HTMLInputElement;
  const fee = h('input', { name: 'arbiterFee', type: 'number', min: '0', max: '100', step: '0.01', value: ag ? Number(BigInt(ag.arbiterFeeBps)) / 100 : 2 }) as HTMLInputElement;
  const contest = h('input', { name: 'contestDays', type: 'number', min: '0.01', step: '0.01', required: true, value: ag ? Number(BigInt(ag.contestWindow)) / 86400 : 1 }) as HTMLInputElement;
  const arbitration = h('input', { name: 'arbitrationDays', type: 'number', min: '0', step: '0.01', value: ag ? Number(BigInt(ag.arbitrationWindow)) / 86400 : 7 }) as HTMLInputElement;
  const rounds = h('input', { name: 'revisionRounds', type: 'number', min: '0', max: '10', step: '1', required: true, value: ag ? Number(BigInt(ag.revisionRounds)) : 2 }) as HTMLInputElement;

  const msList = h('ol', { class: 'milestones' });
  const addMilestone = (m?: any, d?: any) => {
    const tk = tokenOf(tokens(), token.value);
    const li = h('li', { class: 'card milestone' });
    // The group (named "Milestone N") sits inside the list item: a list item keeps its listitem role.
    const group = h('div', { role: 'group', class: 'milestone-group' });
    const amountIn = h('input', { name: 'amount', inputmode: 'decimal', required: true, value: m ? (tk.decimals !== null ? formatUnits(BigInt(m.amount), tk.decimals) : String(BigInt(m.amount))) : '' }) as HTMLInputElement;
    const deadline = h('input', { name: 'deadline', type: 'datetime-local', required: true, value: localInput(m ? Number(BigInt(m.deadline)) : now + 14 * 86400 * (msList.children.length + 1)) }) as HTMLInputElement;
    const review = h('input', { name: 'reviewDays', type: 'number', min: '0.01', step: '0.01', required: true, value: m ? Number(BigInt(m.reviewWindow)) / 86400 : 3 }) as HTMLInputElement;
    const platform = h('select', { name: 'platform' }, PLATFORMS.map((p) => h('option', { value: p, selected: d?.platform === p }, p))) as HTMLSelectElement;
    const format = h('input', { name: 'format', required: true, value: d?.format ?? 'post' }) as HTMLInputElement;
    const description = h('input', { name: 'description', required: true, value: d?.description ?? '' }) as HTMLInputElement;
    const remove = h('button', { type: 'button', class: 'link' }, 'Remove this milestone');
    remove.addEventListener('click', () => {
      if (msList.children.length > 1) li.remove();
      renumber();
    });
    group.append(
      h('h2', { class: 'milestone-title' }, 'Milestone'),
      field('Amount (in token units)', amountIn, 'For example 150, 12.5 or 1,000'),
      field(`Delivery deadline (your time zone, ${zoneName()})`, deadline),
      field('Brand\u2019s review window (days)', review, 'If the brand says nothing this long after a delivery, the creator may claim the payment.'),
      field('Platform', platform),
      field('Format', format, 'reel, video, post, story…'),
      field('What the creator delivers', description),
      remove,
    );
    li.append(group);
    msList.append(li);
    renumber();
  };
  // Each milestone's group is named "Milestone N", so its repeated field labels stay clear to
  // screen readers.
  const renumber = () =>
    Array.from(msList.children).forEach((el, i) => {
      const title = el.querySelector('.milestone-title') as HTMLElement;
      title.textContent = `Milestone ${i + 1}`;
      title.id = `milestone-title-${i}`;
      (el.querySelector('.milestone-group') as HTMLElement).setAttribute('aria-labelledby', title.id);
    });
  const deliverables: any[] = terms?.deliverables ?? [];
  if (ag) (ag.milestones as any[]).forEach((m, i) => addMilestone(m, deliverables.find((d) => d.milestone === i)));
  else addMilestone();
  const more = h('button', { type: 'button' }, 'Add a milestone');
  more.addEventListener('click', () => addMilestone());

  const scope = h('input', { name: 'scope', required: true, value: terms?.usage_rights?.scope ?? 'organic social' }) as HTMLInputElement;
  const usageDays = h('input', { name: 'usageDays', type: 'number', min: '0', step: '1', required: true, value: terms?.usage_rights?.duration_days ?? 90 }) as HTMLInputElement;
  const territories = h('input', { name: 'territories', required: true, value: (terms?.usage_rights?.territories ?? ['US']).join(', ') }) as HTMLInputElement;
  const exclCategory = h('input', { name: 'exclusivityCategory', value: terms?.exclusivity?.category ?? '', placeholder: 'none' }) as HTMLInputElement;
  const exclDays = h('input', { name: 'exclusivityDays', type: 'number', min: '0', step: '1', value: terms?.exclusivity?.duration_days ?? 0 }) as HTMLInputElement;
  const rules = RULES.map(([region, rule, defaults]) => {
    const existingRule = (terms?.disclosure ?? []).find((r: any) => r.region === region);
    const on = h('input', { type: 'checkbox', name: `disclosure-${region}`, checked: existingRule ? true : !terms && region === 'US' }) as HTMLInputElement;
    const labels = h('input', { name: `labels-${region}`, value: existingRule ? (existingRule.required_labels ?? []).join(', ') : defaults }) as HTMLInputElement;
    return { region, rule, on, labels };
  });
  const morality = h('textarea', { name: 'morality', rows: 3, required: true }, terms?.morality_clause ?? 'Either party may end the agreement for public conduct that brings the other into disrepute.') as HTMLTextAreaElement;
  const moreClauses = clauseInputs(terms);

  const submit = h('button', { type: 'submit', class: 'primary' }, existing ? 'Propose this version' : 'Create the draft');
  const form = h('form', { novalidate: false },
    h('fieldset', {}, h('legend', {}, 'Parties and money'),
      field('Creator\u2019s address', creator, existing ? 'A new version cannot change the creator.' : 'The wallet address the creator will sign with.'),
      many ? field('Network', network, existing ? 'A new version stays on the draft\u2019s network.' : 'The chain (by its id) whose escrow will hold the money. Each network has its own tokens.') : null,
      field('Token', token),
      field('Arbiter\u2019s address (optional)', arbiter, 'Decides disputes and contested terminations.'),
      field('Arbiter\u2019s fee (% of what it rules on)', fee),
      field('Contest window after a termination (days)', contest),
      field('Arbiter\u2019s deadline to rule (days)', arbitration),
      field('Revision rounds per milestone', rounds, 'How many times the brand may ask for a revision of each milestone (0 to 10). After that it can approve, dispute, or let its silence pay the creator.')),
    h('fieldset', {}, h('legend', {}, 'Milestones and deliverables'), msList, more),
    h('fieldset', {}, h('legend', {}, 'Terms'),
      field('Usage rights: what the brand may do with the content', scope),
      field('Usage rights: for how many days', usageDays),
      field('Usage rights: territories (comma-separated)', territories),
      field('Exclusivity: category the creator may not promote for others', exclCategory, 'Leave empty for no exclusivity.'),
      field('Exclusivity: days', exclDays),
      h('fieldset', {}, h('legend', {}, 'Advertising disclosure, per region'),
        rules.map((r) => h('div', { class: 'rule' }, h('label', {}, r.on, ` ${r.region} (${r.rule})`), field(`Labels accepted in ${r.region} (comma-separated)`, r.labels, `Only these count, in any letter case. Leave empty for the ${r.rule} defaults: ${DEFAULT_DISCLOSURE_LABELS[r.rule].join(', ')}.`)))),
      field('Morality clause', morality),
      moreClauses.element),
    h('div', { class: 'actions' }, submit));

  // Each amount is checked as it is left and on submit: its message sits right under it.
  const checkAmount = (input: HTMLInputElement): string | null => {
    const tk = tokenOf(tokens(), token.value);
    const r = parseAmount(input.value, tk.decimals, tk.symbol);
    fieldError(input, 'error' in r ? r.error : null);
    return 'error' in r ? null : r.value.toString();
  };
  msList.addEventListener('change', (e) => {
    const t = e.target as HTMLInputElement;
    if (t.name === 'amount') checkAmount(t);
  });
  msList.addEventListener('input', (e) => {
    const t = e.target as HTMLInputElement;
    if (t.getAttribute('aria-invalid') === 'true') fieldError(t, null);
  });
  token.addEventListener('change', () => msList.querySelectorAll<HTMLInputElement>('[name="amount"][aria-invalid="true"]').forEach((x) => checkAmount(x)));
  if (!existing)
    network.addEventListener('change', () => {
      // The options still list the previous network's tokens: keep the symbol chosen there.
      fillTokens(token.selectedOptions[0]?.textContent?.split(' (')[0] ?? null);
      msList.querySelectorAll<HTMLInputElement>('[name="amount"][aria-invalid="true"]').forEach((x) => checkAmount(x));
    });
  for (const [el, ok] of [[creator, (v: string) => isAddress(v, { strict: false })], [arbiter, (v: string) => !v || isAddress(v, { strict: false })]] as const)
    el.addEventListener('input', () => {
      if (el.getAttribute('aria-invalid') === 'true' && ok(el.value.trim())) fieldError(el, null);
    });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // Beside the submit button (app/feedback.ts); a field's own error goes under the field.
    const fb = beside('draft-form', submit);
    const status = fb.box;
    try {
      const items = Array.from(msList.children) as HTMLElement[];
      const get = (li: HTMLElement, name: string) => (li.querySelector(`[name="${name}"]`) as HTMLInputElement).value.trim();
      // Every field's own error under it; the first invalid field gets the focus.
      const invalid: HTMLElement[] = [];
      const creatorAddr = creator.value.trim();
      if (!isAddress(creatorAddr, { strict: false })) {
        fieldError(creator, 'This is not an address: 0x and 40 hex digits.');
        invalid.push(creator);
      } else fieldError(creator, null);
      const arbiterAddr = arbiter.value.trim();
      if (arbiterAddr && !isAddress(arbiterAddr, { strict: false })) {
        fieldError(arbiter, 'This is not an address: 0x and 40 hex digits, or leave it empty for no arbiter.');
        invalid.push(arbiter);
      } else fieldError(arbiter, null);
      const milestones = items.map((li) => {
        const amountIn = li.querySelector('[name="amount"]') as HTMLInputElement;
        const units = checkAmount(amountIn);
        if (units === null) invalid.push(amountIn);
        const deadlineIn = li.querySelector('[name="deadline"]') as HTMLInputElement;
        const dl = new Date(deadlineIn.value).getTime();
        if (!Number.isFinite(dl)) {
          fieldError(deadlineIn, 'Give a delivery deadline.');
          invalid.push(deadlineIn);
        } else fieldError(deadlineIn, null);
        return { amount: units ?? '0', deadline: Math.floor(dl / 1000), reviewWindow: Math.round(Number(get(li, 'reviewDays')) * 86400) };
      });
      if (invalid.length) {
        // Document order: the first one the reader meets.
        invalid.sort((x, y) => (x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
        setStatus(status, 'error', `${plural(invalid.length, 'field')} to correct: see the message${invalid.length === 1 ? '' : 's'} under ${invalid.length === 1 ? 'it' : 'them'}.`);
        invalid[0].focus();
        return;
      }
      const doc: any = {
        deliverables: items.map((li, i) => ({ platform: get(li, 'platform'), format: get(li, 'format'), description: get(li, 'description'), milestone: i })),
        usage_rights: { scope: scope.value.trim(), duration_days: Number(usageDays.value), territories: territories.value.split(',').map((x) => x.trim()).filter(Boolean) },
        disclosure: rules.filter((r) => r.on.checked).map((r) => ({ region: r.region, rule: r.rule, required_labels: r.labels.value.split(',').map((x) => x.trim()).filter(Boolean) })),
        morality_clause: morality.value.trim(),
      };
      if (exclCategory.value.trim()) doc.exclusivity = { category: exclCategory.value.trim(), duration_days: Number(exclDays.value) };
      Object.assign(doc, moreClauses.read());
      const body = {
        creator: creatorAddr.toLowerCase(),
        arbiter: arbiterAddr ? arbiterAddr.toLowerCase() : null,
        token: token.value,
        milestones,
        // Without an arbiter there is nobody to pay: the escrow refuses any fee.
        arbiterFeeBps: arbiterAddr ? Math.round(Number(fee.value) * 100) : 0,
        contestWindow: Math.round(Number(contest.value) * 86400),
        arbitrationWindow: arbiterAddr ? Math.round(Number(arbitration.value) * 86400) : 0,
        revisionRounds: Number(rounds.value),
        terms: doc,
        // The network chosen, when there is a choice (a new version keeps its draft's).
        ...(many && !existing ? { chainId: chosenChain() } : {}),
      };
      setStatus(status, 'checking', 'Saving the draft…');
      const d = existing ? await api<any>('PUT', `/v1/drafts/${existing.id}`, body) : await api<any>('POST', '/v1/drafts', body);
      navigate(`/drafts/${d.id}`);
    } catch (err) {
      fb.done('error', h('span', { role: 'alert' }, (err as Error).message));
    }
  });
  screen(existing ? `Propose changes to ${existing.id}` : 'New agreement', form);
}

/** The optional clauses of the terms document (payment terms, approval, intellectual property,
 *  confidentiality, data privacy, AI use, governing law, additional clauses), filled from
 *  `terms` when editing so a new version keeps them. `read()` returns only the clauses given
 *  and throws, in words, when a clause is half filled. */
function clauseInputs(terms: any): { element: HTMLElement; read: () => Record<string, unknown> } {
  const input = (name: string, value: unknown, attrs: Record<string, string> = {}) =>
    h('input', { name, value: value === undefined || value === null ? '' : String(value), ...attrs }) as HTMLInputElement;
  const area = (name: string, value: unknown) => h('textarea', { name, rows: 2 }, value ? String(value) : '') as HTMLTextAreaElement;
  const select = (name: string, value: unknown, options: [string, string][]) =>
    h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: String(value ?? '') === v }, label))) as HTMLSelectElement;
  const num = (name: string, value: unknown, min: string) => input(name, value, { type: 'number', min, step: '1' });

  const pay = terms?.payment_terms ?? {};
  const payFee = input('paymentFee', pay.fee);
  const payCurrency = input('paymentCurrency', pay.currency);
  const paySchedule = input('paymentSchedule', pay.schedule);
  const payLate = input('paymentLate', pay.late_payment);
  const ap = terms?.content_approval ?? {};
  const apRounds = num('approvalRounds', ap.rounds, '0');
  const apDays = num('approvalDays', ap.turnaround_days, '1');
  const apProcess = area('approvalProcess', ap.process);
  const ip = terms?.intellectual_property ?? {};
  const ipOwner = select('ipOwner', ip.owner, [['', 'Not stated'], ['creator', 'The creator'], ['brand', 'The brand'], ['joint', 'Both, jointly']]);
  const ipScope = input('licenseScope', ip.license_scope);
  const ipTerm = input('licenseTerm', ip.license_term);
  const ipTerritories = input('licenseTerritories', (ip.territories ?? []).join(', '));
  const ipExclusive = select('licenseExclusive', ip.exclusive === undefined ? '' : String(ip.exclusive), [['', 'Not stated'], ['true', 'Exclusive'], ['false', 'Not exclusive']]);
  const conf = terms?.confidentiality ?? {};
  const confScope = input('confidentialScope', conf.scope);
  const confDays = num('confidentialDays', conf.duration_days, '1');
  const dp = terms?.data_privacy ?? {};
  const dpDuties = area('privacyDuties', dp.duties);
  const dpRegs = input('privacyRegulations', (dp.regulations ?? []).join(', '), { placeholder: 'GDPR, CCPA' });
  const ai = terms?.ai_use ?? {};
  const aiGen = select('aiContent', ai.generated_content, [['', 'Not stated'], ['not_allowed', 'Not allowed'], ['allowed_with_disclosure', 'Allowed, must be disclosed'], ['allowed', 'Allowed without a label']]);
  const aiDetails = input('aiDetails', ai.details);
  const law = terms?.governing_law ?? {};
  const lawJurisdiction = input('lawJurisdiction', law.jurisdiction);
  const lawVenue = input('lawVenue', law.venue);
  const lawDisputes = area('lawDisputes', law.dispute_resolution);

  const extraList = h('ol', { class: 'additional-clauses' });
  const addExtra = (c?: { title: string; text: string }) => {
    const li = h('li', { class: 'additional-clause' });
    const remove = h('button', { type: 'button', class: 'link' }, 'Remove this clause');
    remove.addEventListener('click', () => li.remove());
    li.append(h('div', { role: 'group', 'aria-label': 'Other clause' }, field('Clause title', input('clauseTitle', c?.title)), field('Clause text', area('clauseText', c?.text)), remove));
    extraList.append(li);
  };
  ((terms?.additional_clauses ?? []) as any[]).forEach((c) => addExtra(c));
  const addButton = h('button', { type: 'button' }, 'Add a clause');
  addButton.addEventListener('click', () => addExtra());

  const given = ['payment_terms', 'content_approval', 'intellectual_property', 'confidentiality', 'data_privacy', 'ai_use', 'governing_law', 'additional_clauses'].some((k) => terms?.[k] !== undefined);
  const element = h('details', { class: 'more-clauses', open: given },
    h('summary', {}, 'More clauses (optional): payment terms, approval, intellectual property, confidentiality, data privacy, AI use, governing law, and any other clause'),
    h('fieldset', {}, h('legend', {}, 'Payment terms (in words; the escrow pays the amounts above)'),
      field('Fee or compensation', payFee), field('Currency note', payCurrency), field('Payment schedule', paySchedule), field('Late payment', payLate)),
    h('fieldset', {}, h('legend', {}, 'Approval before publishing'),
      field('Rounds of feedback on drafts', apRounds), field('Brand’s turnaround on a draft (days)', apDays), field('Approval process', apProcess)),
    h('fieldset', {}, h('legend', {}, 'Intellectual property'),
      field('Who owns the content', ipOwner), field('Licence: what the brand may do', ipScope), field('Licence: for how long', ipTerm, 'For example "2 years" or "perpetual".'),
      field('Licence: territories (comma-separated)', ipTerritories), field('Licence: exclusive?', ipExclusive)),
    h('fieldset', {}, h('legend', {}, 'Confidentiality'),
      field('What is confidential', confScope), field('Confidential for (days)', confDays, 'Leave empty for no end date.')),
    h('fieldset', {}, h('legend', {}, 'Data privacy'),
      field('Duties towards personal data', dpDuties), field('Regulations (comma-separated)', dpRegs)),
    h('fieldset', {}, h('legend', {}, 'AI use'),
      field('AI-generated content', aiGen), field('AI use: details', aiDetails)),
    h('fieldset', {}, h('legend', {}, 'Governing law'),
      field('Governing law (jurisdiction)', lawJurisdiction), field('Courts or venue', lawVenue), field('Dispute resolution', lawDisputes)),
    h('fieldset', {}, h('legend', {}, 'Other clauses'), extraList, addButton));

  const t = (el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement) => el.value.trim() || undefined;
  const n = (el: HTMLInputElement) => (el.value.trim() === '' ? undefined : Number(el.value));
  const list = (el: HTMLInputElement) => el.value.split(',').map((x) => x.trim()).filter(Boolean);
  // Only the fields given, so the document (and its hash) holds exactly what the brand wrote.
  const compact = (o: Record<string, unknown>) => {
    const r = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && !v.length)));
    return Object.keys(r).length ? r : undefined;
  };
  const needs = (clause: string, main: unknown, rest: unknown, what: string) => {
    if (!main && rest) throw new Error(`${clause}: ${what}, or clear the clause’s other fields.`);
    return !!main;
  };
  const read = () => {
    const doc: Record<string, unknown> = {};
    const payment = compact({ fee: t(payFee), currency: t(payCurrency), schedule: t(paySchedule), late_payment: t(payLate) });
    if (payment) doc.payment_terms = payment;
    const approval = compact({ rounds: n(apRounds), turnaround_days: n(apDays), process: t(apProcess) });
    if (approval) doc.content_approval = approval;
    const licence = compact({ license_scope: t(ipScope), license_term: t(ipTerm), territories: list(ipTerritories), exclusive: ipExclusive.value ? ipExclusive.value === 'true' : undefined });
    if (needs('Intellectual property', ipOwner.value, licence, 'choose who owns the content')) doc.intellectual_property = { owner: ipOwner.value, ...licence };
    if (needs('Confidentiality', t(confScope), n(confDays), 'say what is confidential'))
      doc.confidentiality = compact({ scope: t(confScope), duration_days: n(confDays) });
    const regs = list(dpRegs);
    if (needs('Data privacy', t(dpDuties), regs.length, 'describe the duties')) doc.data_privacy = compact({ duties: t(dpDuties), regulations: regs });
    if (needs('AI use', aiGen.value, t(aiDetails), 'choose whether AI-generated content is allowed')) doc.ai_use = compact({ generated_content: aiGen.value, details: t(aiDetails) });
    if (needs('Governing law', t(lawJurisdiction), t(lawVenue) ?? t(lawDisputes), 'name the jurisdiction'))
      doc.governing_law = compact({ jurisdiction: t(lawJurisdiction), venue: t(lawVenue), dispute_resolution: t(lawDisputes) });
    const extra = (Array.from(extraList.children) as HTMLElement[]).map((li, i) => {
      const title = (li.querySelector('[name="clauseTitle"]') as HTMLInputElement).value.trim();
      const text = (li.querySelector('[name="clauseText"]') as HTMLTextAreaElement).value.trim();
      if (!title && !text) return null;
      if (!title || !text) throw new Error(`Other clause ${i + 1}: give both a title and a text, or remove it.`);
      return { title, text };
    }).filter(Boolean);
    if (extra.length) doc.additional_clauses = extra;
    return doc;
  };
  return { element, read };
}

// ---------------------------------------------------------------- the deal in plain language

/** `tokens`: those of the agreement's chain. */
function plainTerms(tokens: TokenInfo[], ag: any, terms: any, viewer: string | null): HTMLElement {
  const tk = tokenOf(tokens, ag.token);
  const youAreCreator = viewer?.toLowerCase() === String(ag.creator).toLowerCase();
  const creatorWord = youAreCreator ? 'you' : 'the creator';
  const total = (ag.milestones as any[]).reduce((t, m) => t + BigInt(m.amount), 0n);
  const hasArbiter = ag.arbiter !== zeroAddress && BigInt(ag.arbiter) !== 0n;
  const contest = duration(ag.contestWindow);
  const deliverables: any[] = terms?.deliverables ?? [];
  return h('section', { class: 'card terms', 'aria-labelledby': 'terms-h' },
    h('h2', { id: 'terms-h' }, 'The deal, in plain words'),
    h('p', {}, `The brand `, h('code', {}, ag.brand), ` pays ${creatorWord} `, h('strong', {}, amount(total, tk)), ` in ${ag.milestones.length} milestone${ag.milestones.length === 1 ? '' : 's'}. The money is locked in the Pactum escrow before any work starts, so it is there when ${creatorWord} deliver${youAreCreator ? '' : 's'}.`),
    h('ol', { class: 'plain-milestones' }, (ag.milestones as any[]).map((m, i) => {
      const d = deliverables.find((x) => x.milestone === i);
      return h('li', { 'data-milestone': i },
        h('strong', {}, `Milestone ${i + 1}: ${amount(m.amount, tk)}. `),
        d ? `Deliver a ${d.format} on ${d.platform} (“${d.description}”) ` : 'Deliver ',
        `by ${when(m.deadline)}. `,
        `Once delivered, the brand has ${duration(m.reviewWindow)} to approve it or ask for a revision (${revisionWords(ag.revisionRounds)}). `,
        h('em', {}, `If the brand says nothing within ${duration(m.reviewWindow)}, ${creatorWord} can claim the ${amount(m.amount, tk)} without the brand.`),
        ` If nothing is delivered by the deadline, the brand can take this milestone\u2019s money back.`);
    })),
    terms ? h('div', {},
      h('h3', {}, 'Disclosure: what every caption must say'),
      h('ul', {}, (terms.disclosure as any[]).map((r) => h('li', { 'data-region': r.region }, `${regionName(r.region)} (${r.rule} rules): ${disclosureWords(r)} Pactum checks the caption before a delivery goes on chain, and warns when the label is buried after other hashtags or below the platform\u2019s fold.`))),
      h('h3', {}, 'Morality clause'),
      h('blockquote', {}, terms.morality_clause),
      h('p', { 'data-testid': 'morality-meaning' }, `What this means: either side can end the agreement for cause under this clause. The other side then has ${contest} to contest it. ${hasArbiter ? `If contested, the arbiter ${short(ag.arbiter)} decides how the unearned escrow is split (fee ${Number(BigInt(ag.arbiterFeeBps)) / 100}% of what it rules on, within ${duration(ag.arbitrationWindow)}). ` : 'There is no arbiter, so a contest cannot be ruled on by a third party. '}If nobody contests, the funded milestones never delivered go back to the brand; money already paid stays with the creator, and work delivered before the termination (in review, in revision or in dispute) keeps its own rules: ${creatorWord} can still be paid for it.`),
      h('h3', {}, 'Usage rights'),
      h('p', {}, `The brand may use the content for ${terms.usage_rights.scope}, for ${terms.usage_rights.duration_days} days, in ${terms.usage_rights.territories.join(', ')}.`),
      terms.exclusivity ? h('p', {}, `Exclusivity: ${creatorWord} may not promote ${terms.exclusivity.category} for anyone else for ${terms.exclusivity.duration_days} days.`) : h('p', {}, 'No exclusivity.'),
      clauseSections(terms, creatorWord, youAreCreator),
    ) : h('p', { class: 'muted' }, 'The terms document is not shown to you.'),
    h('p', { class: 'muted' }, `Both signatures must be given, and the escrow funded, before ${when(ag.deadline)}; after that this version can no longer go on chain.`));
}

/** The clauses beyond deliverables, disclosure, morality, usage rights and exclusivity, each
 *  in words when present. All text goes in as text nodes (never HTML). */
function clauseSections(terms: any, creatorWord: string, youAreCreator: boolean): HTMLElement[] {
  const out: HTMLElement[] = [];
  const section = (key: string, title: string, ...body: (HTMLElement | null | false | undefined)[]) =>
    out.push(h('section', { class: 'clause', 'data-clause': key }, h('h3', {}, title), body));
  const line = (label: string, text: unknown) => (text ? h('p', { class: 'clause-text' }, `${label}: ${text}`) : null);
  const s = youAreCreator ? '' : 's';

  const pay = terms.payment_terms;
  if (pay)
    section('payment_terms', 'Payment terms',
      h('p', { class: 'muted' }, 'The amounts and milestones above are what the escrow pays; this is how the brand describes the payment, in its words.'),
      line('Fee', pay.fee), line('Currency', pay.currency), line('Schedule', pay.schedule), line('Late payment', pay.late_payment));

  const ap = terms.content_approval;
  if (ap) {
    const parts: string[] = [];
    if (ap.rounds !== undefined && ap.rounds !== null) parts.push(ap.rounds === 0 ? 'no rounds of feedback' : `up to ${plural(ap.rounds, 'round')} of feedback`);
    if (ap.turnaround_days) parts.push(`the brand answers each draft within ${plural(ap.turnaround_days, 'day')}`);
    section('content_approval', 'Approval before publishing',
      parts.length ? h('p', {}, `Before publishing, ${creatorWord} show${s} the brand a draft: ${parts.join('; ')}.`) : null,
      line('How', ap.process),
      h('p', { class: 'muted' }, 'The escrow’s own review of delivered work (the review windows and revision rounds above) is separate, and is what decides payment.'));
  }

  const ip = terms.intellectual_property;
  if (ip) {
    const licence: string[] = [];
    if (ip.license_scope) licence.push(ip.license_scope);
    if (ip.license_term) licence.push(`for ${ip.license_term}`);
    if (ip.territories?.length) licence.push(`in ${ip.territories.join(', ')}`);
    if (ip.exclusive === true) licence.push('exclusive');
    if (ip.exclusive === false) licence.push('not exclusive');
    section('intellectual_property', 'Who owns the content',
      h('p', {}, ownerWords(ip.owner, creatorWord, youAreCreator)),
      licence.length ? h('p', { class: 'clause-text' }, `Licence: ${licence.join(', ')}.`) : null);
  }

  const conf = terms.confidentiality;
  if (conf)
    section('confidentiality', 'Confidentiality',
      h('p', { class: 'clause-text' }, `Both sides keep confidential: ${conf.scope}. ${conf.duration_days ? `This lasts ${plural(conf.duration_days, 'day')}.` : 'No end date is stated.'}`));

  const dp = terms.data_privacy;
  if (dp)
    section('data_privacy', 'Personal data',
      h('p', { class: 'clause-text' }, dp.duties),
      dp.regulations?.length ? h('p', {}, `Under: ${dp.regulations.join(', ')}.`) : null);

  const ai = terms.ai_use;
  if (ai) section('ai_use', 'AI-generated content', h('p', {}, aiWords(ai.generated_content)), line('Details', ai.details));

  const law = terms.governing_law;
  if (law)
    section('governing_law', 'Governing law and disputes',
      h('p', {}, `The agreement is governed by the law of ${law.jurisdiction}.`),
      line('Courts or venue', law.venue), line('Disputes', law.dispute_resolution),
      h('p', { class: 'muted' }, 'The escrowed money follows the escrow’s rules either way (approval, silence, the arbiter, the timeouts).'));

  const extra: any[] = terms.additional_clauses ?? [];
  if (extra.length)
    out.push(h('section', { class: 'clause', 'data-clause': 'additional_clauses' },
      h('h3', {}, 'Other clauses'),
      extra.map((c, i) => h('div', { class: 'additional-clause', 'data-index': i }, h('h4', {}, c.title), h('p', { class: 'clause-text' }, c.text)))));
  return out;
}

function revisionWords(rounds: unknown): string {
  const n = Number(BigInt((rounds as any) ?? 0));
  return n === 0 ? 'no revision rounds: the brand can only approve or dispute' : `up to ${n} revision round${n === 1 ? '' : 's'} per milestone`;
}

function regionName(r: string): string {
  return ({ US: 'In the United States', UK: 'In the United Kingdom', AU: 'In Australia' } as Record<string, string>)[r] ?? `In ${r}`;
}

// ---------------------------------------------------------------- draft page

/** What the feedback says while the wallet is asked to switch to the network something is for. */
function switchWords(from: number, to: number, what: string): string {
  return `Waiting for your wallet to switch from network ${from} to network ${to} (${what} for network ${to}), then to sign.`;
}

async function draftPage(id: string) {
  if (!requireSession()) return;
  const s = session()!;
  const cfg = await getConfig();
  const d = await api<any>('GET', `/v1/drafts/${id}`);
  const v = d.version;
  const me = s.address.toLowerCase();
  const role = me === String(d.brand).toLowerCase() ? 'brand' : me === String(d.creator).toLowerCase() ? 'creator' : 'auditor';
  const signedRoles: string[] = v.signatures.map((x: any) => x.role);
  const typed = await api<any>('GET', `/v1/drafts/${id}/typed-data`);
  const shareUrl = `${location.origin}/drafts/${id}`;
  // The draft's chain: its tokens, and (when several are served) its network said on the page.
  const chain = Number(d.chainId ?? cfg.chainId);
  const tokens = tokensOf(cfg, chain);

  const parts: HTMLElement[] = [];
  parts.push(h('p', { class: 'lede', id: 'draft-lede' }, `Version ${v.number}, proposed by the ${String(v.proposedBy).toLowerCase() === String(d.brand).toLowerCase() ? 'brand' : 'creator'}. `,
    h('span', { 'data-testid': 'draft-status' }, d.status === 'created' ? 'On chain.' : d.status === 'ready' ? 'Signed by both: ready to fund.' : `Signed by: ${signedRoles.length ? signedRoles.join(' and ') : 'nobody yet'}.`),
    multiChain(cfg) ? h('span', { 'data-testid': 'network', 'data-chain': chain }, ` Network ${networkName(cfg, chain)}.`) : null));
  // Once on chain, the agreement is what matters: its link comes first (after a funding's outcome).
  if (d.status === 'created') parts.push(h('p', { id: 'draft-onchain' }, link(`/agreements/${v.agreementId}`, 'Open the agreement on chain')));
  if (role === 'brand' && d.status !== 'created') {
    const share = h('input', { readonly: true, value: shareUrl, 'data-testid': 'share-link' }) as HTMLInputElement;
    const copy = h('button', { type: 'button' }, 'Copy link');
    copy.addEventListener('click', async () => {
      share.select();
      try {
        await navigator.clipboard.writeText(shareUrl);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select and copy the link';
      }
    });
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'share-h' }, h('h2', { id: 'share-h' }, 'Share with the creator'), field('Link to this draft', share, 'The creator opens it, signs in with their wallet, reads the terms and signs.'), copy));
  }
  // A superseded version the caller signed stays valid on chain until its deadline: offer its revoke.
  for (const r of (d.revocable ?? []) as { version: number; deadline: number; transaction: PreparedTx }[]) {
    const name = `revoke-${r.version}`;
    const revoke = h('button', { type: 'button' }, `Revoke version ${r.version} on chain`);
    revoke.addEventListener('click', async () => {
      // Beside the button; after the redraw (the revoked version is no longer offered) at the head
      // of the draft, where the page stayed, focused (app/feedback.ts).
      const fb = beside(name, revoke);
      try {
        const { block, chainId } = await sendAll(fb.box, [r.transaction]);
        setStatus(fb.box, 'pending', `Revoked: confirmed in block ${block}. Waiting for Pactum to see it…`);
        await indexed(block, chainId);
        setStatus(fb.box, 'confirmed', `Your signature of version ${r.version} is revoked on chain (block ${block}): nobody can create version ${r.version} with it now.`);
        await fb.redrawn(render, () => document.getElementById('draft-lede'));
      } catch (e) {
        if (!['rejected', 'reverted', 'error', 'wrong-network'].includes(fb.box.dataset.state ?? '')) fb.done('error', (e as Error).message);
        else fb.done();
      }
    });
    parts.push(h('section', { class: 'card', 'aria-labelledby': `revoke-h-${r.version}`, 'data-testid': 'revocable' },
      h('h2', { id: `revoke-h-${r.version}` }, `Your signature of version ${r.version}`),
      h('p', {}, `Your signature of version ${r.version} is still valid on chain until ${when(r.deadline)} \u2014 revoke it. A new version voids it here only; until then whoever holds both signatures could still create version ${r.version}.`),
      h('div', { class: 'actions' }, revoke)));
  }
  parts.push(plainTerms(tokens, v.agreement, v.terms, s.address));

  // What the wallet will sign, and checked here: its digest is the agreement id.
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'sign-h' },
    h('h2', { id: 'sign-h' }, 'What your wallet will sign'),
    h('p', {}, 'Your wallet shows this EIP-712 message. Its digest is the agreement id ', h('code', { class: 'wrap' }, v.agreementId), '; the escrow accepts the funding only with both parties\u2019 signatures of exactly this.'),
    h('details', {}, h('summary', {}, 'The exact typed data (eth_signTypedData_v4)'), h('pre', { 'data-testid': 'typed-data', tabindex: '0' }, JSON.stringify(typed.typedData, null, 2))),
    h('p', {}, 'Terms hash (keccak256 of the RFC 8785 form of the terms above): ', h('code', { class: 'wrap' }, v.termsHash))));

  if (d.status !== 'created' && (role === 'brand' || role === 'creator')) {
    const actions = h('div', { class: 'actions' });
    if (!signedRoles.includes(role)) {
      const sign = h('button', { type: 'button', class: 'primary' }, `Sign version ${v.number} with my wallet`);
      sign.addEventListener('click', async () => {
        // Beside the button; after the redraw, at the head of this card, focused (app/feedback.ts).
        const fb = beside('sign', sign);
        const box = fb.box;
        setStatus(box, 'waiting', 'Waiting for your wallet: check the message it shows, then sign.');
        try {
          const signature = await signTypedData(s.address, typed.typedData, (from, to) => setStatus(box, 'waiting', switchWords(from, to, 'the agreement is')));
          setStatus(box, 'checking', 'Signed; the server is checking the signature…');
          await api('POST', `/v1/drafts/${id}/signatures`, { version: v.number, signature });
          setStatus(box, 'confirmed', 'Your signature is recorded.');
          await fb.redrawn(render, () => document.getElementById('act-h'));
        } catch (e) {
          if (e instanceof WalletRejected) setStatus(box, 'rejected', e instanceof SwitchDeclined ? e.message : 'Rejected in your wallet. Nothing was signed.');
          else if (e instanceof WrongNetwork) {
            const sw = h('button', { type: 'button' }, `Switch to network ${e.wanted}`);
            sw.addEventListener('click', async () => {
              try {
                await switchNetwork(e.wanted, 'the agreement is on network');
                setStatus(box, 'confirmed', 'Network switched. Sign again.');
              } catch (err) {
                setStatus(box, err instanceof WalletRejected ? 'rejected' : 'error', (err as Error).message);
              }
            });
            setStatus(box, 'wrong-network', h('strong', {}, 'Wrong network. '), e.message, ' ', sw);
          } else setStatus(box, 'error', (e as Error).message);
          fb.done();
        }
      });
      actions.append(sign);
    } else {
      actions.append(h('p', {}, `You signed version ${v.number}.`));
    }
    actions.append(link(`/drafts/${id}/edit`, 'Propose changes (a new version; signatures start over)', { class: 'button' }));
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'act-h' }, h('h2', { id: 'act-h' }, 'Sign or propose changes'), actions));
  }

  if (d.status === 'ready' && role === 'brand') {
    const tk = tokenOf(tokens, v.agreement.token);
    // Beside the button pressed; after the redraw (the draft is on chain, this card is gone) under
    // the draft's first line, just above the link to the agreement, on screen and focused
    // (app/feedback.ts).
    const fund = async (fb: Feedback, send: (box: HTMLElement) => Promise<Sent>) => {
      try {
        const { block, chainId } = await send(fb.box);
        setStatus(fb.box, 'pending', `Funded: confirmed in block ${block}. Waiting for Pactum to see it\u2026`);
        await indexed(block, chainId);
        setStatus(fb.box, 'confirmed', `Funded in block ${block}: the agreement is on chain and ${amount(v.agreement.milestones.reduce((t: bigint, m: any) => t + BigInt(m.amount), 0n), tk)} is held in the escrow.`);
        await fb.redrawn(render, () => document.getElementById('draft-lede'));
      } catch (e) {
        if (e instanceof WalletRejected) fb.done('rejected', e instanceof SwitchDeclined ? e.message : 'Rejected in your wallet. Nothing was signed or sent.');
        else if (e instanceof WrongNetwork && fb.box.dataset.state !== 'wrong-network') fb.done('wrong-network', h('strong', {}, 'Wrong network. '), `${e.message} Nothing was signed or sent: switch your wallet to network ${e.wanted} and try again.`);
        else if (e instanceof ApiError) fb.done('refused', h('span', { role: 'alert' }, `Refused before anything was sent: ${e.message}`));
        else if (!['rejected', 'reverted', 'error', 'wrong-network'].includes(fb.box.dataset.state ?? '')) fb.done('error', (e as Error).message);
        else fb.done();
      }
    };
    const withApprove = h('button', { type: 'button', class: tk.address === zeroAddress ? 'primary' : '' }, tk.address === zeroAddress ? 'Fund the escrow' : 'Approve, then fund (two transactions)');
    withApprove.addEventListener('click', () =>
      fund(beside('fund', withApprove), async (box) => {
        setStatus(box, 'checking', 'Preparing the transactions\u2026');
        const prepared = await api<{ transactions: PreparedTx[] }>('GET', `/v1/drafts/${id}/transactions`);
        return sendAll(box, prepared.transactions);
      }),
    );
    const buttons: HTMLElement[] = [];
    if (tk.address !== zeroAddress) {
      const withPermit = h('button', { type: 'button', class: 'primary' }, 'Sign a permit, then fund (one transaction)');
      withPermit.addEventListener('click', () =>
        fund(beside('fund', withPermit), async (box) => {
          setStatus(box, 'checking', 'Preparing the permit\u2026');
          const p = await api<{ deadline: number; typedData: unknown }>('GET', `/v1/drafts/${id}/permit`);
          setStatus(box, 'waiting', `Waiting for your wallet: sign the permit letting the escrow take ${amount(BigInt((p.typedData as any).message.value), tk)} (valid until ${when(p.deadline)}).`);
          const signature = await signTypedData(s.address, p.typedData, (from, to) => setStatus(box, 'waiting', switchWords(from, to, 'the permit is')));
          setStatus(box, 'checking', 'Permit signed; checking the funding with the escrow\u2026');
          const prepared = await api<{ transactions: PreparedTx[] }>('POST', `/v1/drafts/${id}/transactions`, { permit: { deadline: p.deadline, signature } });
          return sendAll(box, prepared.transactions);
        }),
      );
      buttons.push(withPermit);
    }
    buttons.push(withApprove);
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'fund-h' }, h('h2', { id: 'fund-h' }, 'Fund it'),
      h('p', {}, tk.address === zeroAddress
        ? 'One transaction creates the agreement and locks the money.'
        : `Either sign a permit (no fee) and send one transaction, or allow the escrow to take the ${tk.symbol ?? 'token'} with an approve transaction (skipped if already allowed) and then create the agreement. Both lock the money in the escrow.`),
      h('div', { class: 'actions' }, buttons)));
  }
  screen(`Draft ${id}`, ...parts);
}

// ---------------------------------------------------------------- agreement page

async function agreementPage(id: string) {
  if (!requireSession()) return;
  const s = session()!;
  // One wave: the config (cached after the first page) does not hold up the agreement's reads.
  const [cfg, detail, history] = await Promise.all([getConfig(), api<any>('GET', `/v1/agreements/${id}`), api<any>('GET', `/v1/agreements/${id}/history`)]);
  const a = detail.agreement;
  // The agreement's chain: its tokens and escrow, and the chain whose time and state are read.
  const chain = Number(a.chainId ?? cfg.chainId);
  const tokens = tokensOf(cfg, chain);
  const tk = tokenOf(tokens, a.token);
  const me = s.address.toLowerCase();
  const role = me === String(a.brand).toLowerCase() ? 'brand' : me === String(a.creator).toLowerCase() ? 'creator' : hasArbiter(a) && me === String(a.arbiter).toLowerCase() ? 'arbiter' : 'auditor';
  // Who acts here reads the chain's time and the escrow's state through the wallet's node: with
  // the wallet on the agreement's chain (asked to switch if it is not). An auditor acts on nothing.
  const onChain = role === 'auditor' ? false : await walletOn(chain);
  const now = await chainNow(onChain);
  const escrow = chainOf(cfg, chain)?.escrow ?? null;
  const claimable = (role === 'brand' || role === 'creator') && onChain && escrow ? await claimableOf(escrow, a.token, s.address) : null;
  const parts: HTMLElement[] = [];
  if (role !== 'auditor' && !onChain && provider()) parts.push(otherNetworkNote(chain));
  parts.push(h('section', { class: 'card', 'aria-labelledby': 'sum-h' },
    h('h2', { id: 'sum-h' }, 'Summary'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', { 'data-testid': 'agreement-status' }, a.status),
      multiChain(cfg) ? [h('dt', {}, 'Network'), h('dd', { 'data-testid': 'network', 'data-chain': chain }, networkName(cfg, chain))] : null,
      h('dt', {}, 'You are'), h('dd', {}, role),
      h('dt', {}, 'Brand'), h('dd', {}, h('code', { class: 'wrap' }, a.brand)),
      h('dt', {}, 'Creator'), h('dd', {}, h('code', { class: 'wrap' }, a.creator)),
      h('dt', {}, 'Total'), h('dd', {}, amount(a.totalAmount, tk)),
      h('dt', {}, 'Held in escrow'), h('dd', { 'data-testid': 'held' }, amount(held(a), tk)),
      h('dt', {}, 'Paid to the creator'), h('dd', { 'data-testid': 'paid' }, amount(a.paidToCreator, tk)),
      h('dt', {}, 'Returned to the brand'), h('dd', { 'data-testid': 'refunded' }, amount(a.refundedToBrand, tk))),
    h('p', { 'data-testid': 'next-step' }, h('strong', {}, 'Next: '), nextSteps(a, detail.milestones, me, detail.termination).join(' '))));
  const note = terminationNote(a, detail.milestones, role);
  if (note) parts.push(h('section', { class: 'card notice', role: 'note', 'aria-labelledby': 'term-h', 'data-testid': 'termination-note' }, h('h2', { id: 'term-h' }, 'What the termination means for delivered work'), h('p', {}, note)));

  parts.push(h('section', { 'aria-labelledby': 'ms-h' }, h('h2', { id: 'ms-h' }, 'Milestones'),
    h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Milestones (table)' }, h('table', {}, h('caption', {}, 'Each milestone, its money and its state'),
      h('thead', {}, h('tr', {}, ['#', 'Amount', 'Deadline', 'Review window', 'State', 'Delivered'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, (detail.milestones as any[]).map((m) => h('tr', { 'data-milestone': m.index },
        h('td', {}, m.index + 1), h('td', {}, amount(m.amount, tk)), h('td', {}, when(m.deadline)), h('td', {}, duration(m.reviewWindow)),
        h('td', { 'data-testid': `milestone-${m.index}-status` }, MS_STATUS_WORDS[m.status] ?? m.status),
        h('td', {}, m.uri ? safeLink(m.uri) : '—'))))))));

  // The arbiter reads no draft: the agreement as signed (its window and fee) comes from the bundle.
  const signed = role === 'arbiter' ? (await api<any>('GET', `/v1/agreements/${id}/audit-bundle`)).agreement : detail.terms ? await agreementStruct(detail) : null;
  if (detail.terms) parts.push(plainTerms(tokens, signed, detail.terms.document, s.address));

  const captions = role === 'brand' && detail.terms && (detail.milestones as any[]).some((m) => m.status === 'submitted') ? await recordedCaptions(detail.terms.draft, id) : [];
  if (role === 'creator' || role === 'brand') parts.push(actionsPanel(id, role, detail, history.events, now, claimable, tk, captions, signed));
  else if (role === 'arbiter') parts.push(actionsPanel(id, role, detail, history.events, now, null, tk, [], signed));
  else
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'actions-h', 'data-testid': 'not-a-party' }, h('h2', { id: 'actions-h' }, 'What you can do'),
      h('p', {}, 'You are reading this agreement as an auditor: only the brand and the creator can act on it. You can check its audit bundle below.')));
  parts.push(timeline(history.events));
  parts.push(auditPanel(id));
  screen(`Agreement ${short(id)}`, ...parts);
}

interface Caption {
  milestone: number;
  caption: string;
  at: number;
  disclosure: any;
}

/** The captions the API recorded for this agreement (the draft's off-chain log,
 *  `caption_recorded`), oldest first; none when the log cannot be read. */
async function recordedCaptions(draft: string, id: string): Promise<Caption[]> {
  try {
    const log = await api<{ entries: any[] }>('GET', `/v1/drafts/${draft}/log`);
    return log.entries
      .filter((e) => e.kind === 'caption_recorded')
      .map((e) => ({ at: Number(e.at), details: JSON.parse(e.entry).details }))
      .filter((e) => String(e.details?.agreementId ?? '').toLowerCase() === id.toLowerCase())
      .map((e) => ({ milestone: Number(e.details.milestone), caption: String(e.details.caption ?? ''), at: e.at, disclosure: e.details.disclosure ?? null }));
  } catch {
    return [];
  }
}

/**
 * What the brand decides on, for one delivered milestone: the link and content hash the creator
 * put on chain, and the caption the API checked with its disclosure verdict. The caption shown is
 * the latest recorded one whose keccak256(link, newline, caption) is the hash on chain (the app's
 * delivery hash); if none matches, the latest recorded one, said not to match. All as text.
 */
function deliveryView(m: any, captions: Caption[]): HTMLElement {
  const hash = m.contentHash ? String(m.contentHash).toLowerCase() : null;
  const mine = captions.filter((c) => c.milestone === m.index);
  const matches = (c: Caption) => hash !== null && m.uri && keccak256(stringToBytes(`${m.uri}\n${c.caption}`)).toLowerCase() === hash;
  const matched = [...mine].reverse().find(matches) ?? null;
  const shown = matched ?? mine[mine.length - 1] ?? null;
  const parts: (HTMLElement | null)[] = [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Link'), h('dd', { 'data-testid': 'delivery-uri' }, m.uri ? safeLink(m.uri) : '—'),
      h('dt', {}, 'Content hash'), h('dd', {}, h('code', { class: 'wrap', 'data-testid': 'delivery-hash' }, hash ?? '—')),
      h('dt', {}, 'Delivered'), h('dd', {}, when(m.since))),
  ];
  if (!shown) {
    parts.push(h('p', { class: 'muted', 'data-testid': 'delivery-caption-missing' }, 'No caption was recorded by Pactum for this delivery (it was sent to the escrow without the app\u2019s disclosure check): open the link and read the caption there before approving.'));
  } else {
    const d = shown.disclosure;
    const rules: any[] = d?.rules ?? [];
    const missing = rules.filter((r) => !r.ok);
    parts.push(
      h('h4', {}, 'Caption as checked'),
      h('blockquote', { class: 'caption wrap', 'data-testid': 'delivery-caption' }, shown.caption),
      h('p', { 'data-testid': 'delivery-disclosure', 'data-ok': d ? String(!!d.ok) : 'unknown' },
        !d ? 'No disclosure verdict was recorded.'
          : d.ok ? `Disclosure check passed: ${rules.map((r) => `${r.region} (${r.rule}) found ${r.found}`).join('; ')}.`
            : `Disclosure check failed: ${missing.map((r) => `${r.region} (${r.rule}) needs one of ${(r.accepted ?? []).join(', ')}`).join('; ')}.`),
      (d?.warnings ?? []).length ? h('ul', {}, (d.warnings as string[]).map((w) => h('li', {}, `Warning: ${w}`))) : null,
      matched
        ? h('p', { class: 'muted' }, `Checked on ${when(shown.at)}; the link and this caption give the content hash on chain.`)
        : h('p', { class: 'error', 'data-testid': 'delivery-mismatch' }, `This caption, checked on ${when(shown.at)}, does not match the content hash on chain: the delivery may carry another caption. Open the link before approving.`),
    );
  }
  return h('div', { class: 'delivery', 'data-testid': 'delivery', 'data-milestone': m.index }, h('h4', {}, `What was delivered for milestone ${m.index + 1}`), parts);
}

/** The agreement struct as signed, from its draft (for the plain-language terms). */
async function agreementStruct(detail: any): Promise<any> {
  const d = await api<any>('GET', `/v1/drafts/${detail.terms.draft}`);
  return d.version.agreement;
}

/** Chains the wallet was asked to switch to for reading and declined: not asked again on every
 *  redraw (the note on the page offers the switch). */
const declinedSwitch = new Set<number>();

/** Whether the wallet is on chain `chain`, asking it to switch once if it is not: what is read
 *  through the wallet's node (the chain's time, the escrow's state) must be that chain's. */
async function walletOn(chain: number): Promise<boolean> {
  if (!provider()) return false;
  try {
    if ((await walletChain()) === chain) return true;
    // A live redraw (a notification arrived) never asks the wallet anything: only the reader's own
    // visit or press does. Two tabs on agreements of different chains would otherwise pull the
    // wallet back and forth on every notification, and could move it under the other's send.
    if (soft || declinedSwitch.has(chain)) return false;
    await ensureChain(chain, 'this agreement is on network');
    return true;
  } catch {
    declinedSwitch.add(chain);
    return false;
  }
}

/** Said when the wallet is on another network than the agreement's: times are then this
 *  computer's clock, and the button asks the wallet to switch (its outcome beside it). */
function otherNetworkNote(chain: number): HTMLElement {
  const sw = h('button', { type: 'button' }, `Switch to network ${chain}`);
  sw.addEventListener('click', async () => {
    const fb = beside('network', sw);
    setStatus(fb.box, 'waiting', `Waiting for your wallet to switch to network ${chain}.`);
    try {
      await switchNetwork(chain, 'this agreement is on network');
      declinedSwitch.delete(chain);
      setStatus(fb.box, 'confirmed', `Your wallet is on network ${chain}.`);
      await fb.redrawn(render, () => document.getElementById('sum-h'));
    } catch (e) {
      fb.done(e instanceof WalletRejected ? 'rejected' : e instanceof WrongNetwork ? 'wrong-network' : 'error', (e as Error).message);
    }
  });
  return h('section', { class: 'card notice', role: 'note', 'aria-labelledby': 'network-h', 'data-testid': 'other-network' },
    h('h2', { id: 'network-h' }, `This agreement is on network ${chain}`),
    h('p', {}, `Your wallet is on another network, so the escrow\u2019s windows are measured here by this computer\u2019s clock and what you may withdraw is not read. Anything you sign or send for this agreement first asks your wallet to switch to network ${chain}.`),
    h('div', { class: 'actions' }, sw));
}

/** The chain's time as the escrow will measure it: the later of the latest block's timestamp (read
 *  through the wallet's node, when it is on the agreement's chain) and this computer's clock, as
 *  the API measures deadlines. */
async function chainNow(onChain: boolean): Promise<number> {
  const wall = Math.floor(Date.now() / 1000);
  if (!onChain || !provider()) return wall;
  try {
    const b = await walletRequest('eth_getBlockByNumber', ['latest', false]);
    return Math.max(wall, Number(BigInt(b.timestamp)));
  } catch {
    return wall;
  }
}

/** What the viewer may withdraw of the agreement's token (the escrow's `claimable`), read through
 *  the wallet's node; null when it cannot be read. */
async function claimableOf(escrow: string, token: string, account: string): Promise<bigint | null> {
  if (!provider()) return null;
  try {
    const abi = [{ type: 'function', name: 'claimable', stateMutability: 'view', inputs: [{ name: 'token', type: 'address' }, { name: 'account', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] }] as const;
    const out = await walletRequest('eth_call', [{ to: escrow, data: encodeFunctionData({ abi, functionName: 'claimable', args: [token as `0x${string}`, account as `0x${string}`] }) }, 'latest']);
    return decodeFunctionResult({ abi, functionName: 'claimable', data: out }) as bigint;
  } catch {
    return null;
  }
}

/** The termination under way, from the agreement's events: who started it, until when it may be
 *  contested, and whether it was. */
function terminationState(events: any[]): { by: string; closesAt: number | null; contested: boolean } | null {
  const i = events.map((e) => e.event).lastIndexOf('TerminationStarted');
  if (i < 0) return null;
  const f = events[i].fields ?? {};
  return {
    by: String(f.by ?? '').toLowerCase(),
    closesAt: f.contestDeadline !== undefined ? Number(BigInt(f.contestDeadline)) : null,
    contested: events.slice(i).some((e) => e.event === 'TerminationContested'),
  };
}

/** True when the agreement names an arbiter (the API gives the zero address, or null, for none). */
function hasArbiter(a: any): boolean {
  try {
    return !!a.arbiter && BigInt(a.arbiter) !== 0n;
  } catch {
    return false;
  }
}

/**
 * What the viewer can do, offered only when the escrow would accept it (its require and revert
 * conditions: the agreement's status, the milestone's status, the viewer's role, the arbiter, the
 * windows measured by the chain's time), with a sentence saying why anything else is not offered.
 */
function actionsPanel(id: string, role: string, detail: any, events: any[], now: number, claimable: bigint | null, tk: ReturnType<typeof tokenOf>, captions: Caption[] = [], signed: any = null): HTMLElement {
  const forms: HTMLElement[] = [];
  const ms = detail.milestones as any[];
  const msSelect = (name: string, filter: (m: any) => boolean) =>
    h('select', { name }, ms.filter(filter).map((m) => h('option', { value: m.index }, `Milestone ${m.index + 1}`))) as HTMLSelectElement;

  // Progress and outcome beside the control pressed (app/feedback.ts); the redraw after a
  // confirmation keeps the scroll position and shows the outcome there again, focused.
  // `prepare` runs first with the feedback box (a signature in the wallet) and adds to the body.
  const act = async (body: any, prepare?: (box: HTMLElement) => Promise<Record<string, unknown>>) => {
    const heading = () => document.getElementById('actions-h');
    const fb = beside('action', heading() ?? main);
    try {
      if (prepare) body = { ...body, ...(await prepare(fb.box)) };
      setStatus(fb.box, 'checking', 'Checking with the escrow (simulated first)…');
      const prepared = await api<{ transactions: PreparedTx[] }>('POST', `/v1/agreements/${id}/transactions`, body);
      const { block, chainId } = await sendAll(fb.box, prepared.transactions);
      await indexed(block, chainId);
      await fb.redrawn(render, heading);
    } catch (e) {
      if (e instanceof ApiError) fb.done('refused', h('span', { role: 'alert' }, `Refused before anything was sent: ${e.message}`));
      else if (e instanceof WrongNetwork && fb.box.dataset.state !== 'wrong-network') fb.done('wrong-network', h('strong', {}, 'Wrong network. '), `${e.message} Nothing was signed or sent: switch your wallet to network ${e.wanted} and try again.`);
      else if (!['rejected', 'reverted', 'error', 'wrong-network'].includes(fb.box.dataset.state ?? '')) fb.done('error', (e as Error).message);
      else fb.done();
    }
  };
  if (role === 'arbiter') return arbiterPanel(detail, signed, events, now, tk, (body) => void act(body));

  const a = detail.agreement;
  const st = a.status;
  const live = LIVE.includes(st);
  const arbiter = hasArbiter(a);
  const rounds = Number(a.revisionRounds ?? 0);
  const name = (m: any) => `Milestone ${m.index + 1}`;
  const reviewEnd = (m: any) => Number(m.since) + Number(m.reviewWindow);
  // The last moment a delivery is accepted: the deadline, or after a revision request the later of
  // the deadline and a fresh review window (the escrow's _submissionCutoff).
  const cutoff = (m: any) => (m.status === 'revision_requested' ? Math.max(Number(m.deadline), reviewEnd(m)) : Number(m.deadline));
  const why: string[] = [];

  if (role === 'creator' && live) {
    for (const m of ms) {
      if (!m.funded && m.status === 'open') why.push(`${name(m)} is not funded yet: it cannot be delivered until the brand funds it.`);
      else if (m.status === 'open' && st !== 'active') why.push(`${name(m)} was never delivered: a termination stops new deliveries, so it cannot be delivered now.`);
      else if ((m.status === 'open' || m.status === 'revision_requested') && now > cutoff(m)) why.push(`${name(m)}: the delivery deadline (${when(cutoff(m))}) has passed, so the escrow no longer accepts a delivery; the brand may take this milestone\u2019s money back.`);
      else if (m.status === 'submitted' && now <= reviewEnd(m)) why.push(`${name(m)} is in the brand\u2019s review until ${when(reviewEnd(m))}: if the brand neither approves it nor asks for a revision by then, you can claim it here after that time.`);
    }
  }
  if (role === 'brand' && live) {
    for (const m of ms) {
      if (m.funded && ((m.status === 'open' && st === 'active') || m.status === 'revision_requested') && now <= cutoff(m))
        why.push(`${name(m)}: if the creator has not delivered it by ${when(cutoff(m))}, you can take its money back here after that time.`);
      if (m.status !== 'submitted') continue;
      if (now > reviewEnd(m)) why.push(`${name(m)}: your review window closed at ${when(reviewEnd(m))}, so you can no longer ask for a revision${arbiter ? ' or open a dispute' : ''}; you can still approve it, and the creator may claim it.`);
      else if (Number(m.revisions) >= rounds) why.push(`${name(m)}: all ${plural(rounds, 'revision round')} of the agreement are used, so you can approve it${arbiter ? ' or dispute it' : ''}, not ask for another revision.`);
    }
  }

  // Delivery: a first one only while active and before the deadline; a revision also during a
  // termination, before its cutoff; funded milestones only; the creator only.
  const canSubmit = (m: any) => m.funded && ((m.status === 'open' && st === 'active') || m.status === 'revision_requested') && now <= cutoff(m);
  if (role === 'creator' && live) {
    const openMs = msSelect('milestone', canSubmit);
    const url = h('input', { name: 'uri', type: 'url', required: true, placeholder: 'https://…' }) as HTMLInputElement;
    const caption = h('textarea', { name: 'caption', rows: 3, required: true }) as HTMLTextAreaElement;
    const verdict = h('div', { class: 'verdict', role: 'status', 'aria-live': 'polite', 'data-testid': 'disclosure-verdict' });
    const check = h('button', { type: 'button' }, 'Check the disclosure');
    // Submitting runs the disclosure check first; a caption that failed it cannot be submitted
    // until it changes.
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit the deliverable');
    let checkedFor = '';
    const runCheck = async (): Promise<boolean> => {
      const r = await api<any>('POST', `/v1/agreements/${id}/caption-check`, { milestone: Number(openMs.value), caption: caption.value });
      verdict.dataset.ok = String(r.ok);
      verdict.replaceChildren(
        // The summary is the verdict, each unmet rule said once; the list adds only what it does
        // not say: the labels found and the warnings.
        h('strong', {}, r.summary),
        h('ul', {}, (r.report.rules as any[]).filter((x) => x.ok).map((x) => h('li', {}, `${x.region} (${x.rule}): ${x.found} found`)), (r.report.warnings as string[]).map((w) => h('li', {}, `Warning: ${w}`))),
      );
      checkedFor = r.ok ? `${openMs.value}\n${caption.value}` : '';
      (submit as HTMLButtonElement).disabled = !r.ok;
      return r.ok;
    };
    caption.addEventListener('input', () => {
      (submit as HTMLButtonElement).disabled = false;
      delete verdict.dataset.ok;
      verdict.replaceChildren();
    });
    check.addEventListener('click', async () => {
      try {
        await runCheck();
      } catch (e) {
        verdict.replaceChildren((e as Error).message);
      }
    });
    const form = h('form', { class: 'card', 'aria-labelledby': 'submit-h' },
      h('h3', { id: 'submit-h' }, 'Submit a deliverable'),
      field('Milestone', openMs), field('Link to the published content', url), field('Caption as published', caption, 'Checked against the disclosure rules before anything goes on chain.'),
      h('div', { class: 'actions' }, check, submit), verdict);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        if (checkedFor !== `${openMs.value}\n${caption.value}` && !(await runCheck())) return;
      } catch (err) {
        verdict.replaceChildren((err as Error).message);
        return;
      }
      await act({ action: 'submit', milestone: Number(openMs.value), uri: url.value.trim(), caption: caption.value, contentHash: keccak256(stringToBytes(`${url.value.trim()}\n${caption.value}`)) });
    });
    if (openMs.options.length) forms.push(form);


    // A claim after the brand's silence: submitted, and the review window over.
    const canClaim = (m: any) => m.status === 'submitted' && now > reviewEnd(m);
    if (ms.some(canClaim)) {
      const sel = msSelect('milestone', canClaim);
      const claim = h('button', { type: 'submit', class: 'primary' }, 'Claim after the brand\u2019s silence');
      const f = h('form', { class: 'card', 'aria-labelledby': 'claim-h' }, h('h3', { id: 'claim-h' }, 'Claim a delivered milestone'),
        h('p', {}, 'The brand said nothing during the review window: the payment is yours to claim.'), field('Milestone', sel), claim);
      f.addEventListener('submit', (e) => { e.preventDefault(); void act({ action: 'claim', milestone: Number(sel.value) }); });
      forms.push(f);
    }
  }
  if (role === 'brand' && live) {
    // Approval of a delivery in review; a revision only within the review window and while rounds
    // are left.
    const canRevise = (m: any) => m.status === 'submitted' && now <= reviewEnd(m) && Number(m.revisions) < rounds;
    if (ms.some((m) => m.status === 'submitted')) {
      const sel = msSelect('milestone', (m) => m.status === 'submitted');
      const approve = h('button', { type: 'button', class: 'primary' }, 'Approve and pay');
      approve.addEventListener('click', () => void act({ action: 'approve', milestone: Number(sel.value) }));
      const buttons: HTMLElement[] = [approve];
      // The delivery of the milestone chosen, beside the approve button.
      const delivery = h('div', { 'aria-live': 'polite' });
      const showDelivery = () => {
        const m = ms.find((x) => x.index === Number(sel.value));
        delivery.replaceChildren(m ? deliveryView(m, captions) : '');
      };
      sel.addEventListener('change', showDelivery);
      showDelivery();
      const fields: HTMLElement[] = [field('Milestone', sel), delivery];
      if (ms.some(canRevise)) {
        const reason = h('input', { name: 'reason' }) as HTMLInputElement;
        const revise = h('button', { type: 'button' }, 'Ask for a revision') as HTMLButtonElement;
        const note = h('p', { class: 'hint', id: uid('revise-note') });
        revise.setAttribute('aria-describedby', note.id);
        // The milestone chosen decides whether a revision can still be asked for.
        const update = () => {
          const m = ms.find((x) => x.index === Number(sel.value));
          revise.disabled = !(m && canRevise(m));
          note.textContent = revise.disabled && m ? `${name(m)} can no longer be sent back for a revision (see below).` : '';
        };
        sel.addEventListener('change', update);
        update();
        revise.addEventListener('click', () => void act({ action: 'request-revision', milestone: Number(sel.value), reason: reason.value }));
        fields.push(field('Reason (for a revision)', reason));
        buttons.push(revise);
        fields.push(note);
      }
      forms.push(h('div', { class: 'card', role: 'group', 'aria-labelledby': 'review-h' }, h('h3', { id: 'review-h' }, 'Review a deliverable'), fields, h('div', { class: 'actions' }, buttons)));
    }
  }
  // The brand takes back a funded milestone not delivered by its cutoff (a never-delivered one
  // only while active: during a termination it is the termination's to decide).
  const canReclaim = (m: any) => m.funded && ((m.status === 'open' && st === 'active') || m.status === 'revision_requested') && now > cutoff(m);
  if (role === 'brand' && live && ms.some(canReclaim)) {
    const sel = msSelect('milestone', canReclaim);
    const f = h('form', { class: 'card', 'aria-labelledby': 'reclaim-h' }, h('h3', { id: 'reclaim-h' }, 'Missed deadline: take the money back'),
      h('p', {}, 'The creator did not deliver by the deadline: the escrow returns this milestone\u2019s money to you.'), field('Milestone', sel), h('button', { type: 'submit' }, 'Take the money back'));
    f.addEventListener('submit', (e) => { e.preventDefault(); void act({ action: 'reclaim', milestone: Number(sel.value) }); });
    forms.push(f);
  }
  if ((role === 'brand' || role === 'creator') && live) {
    // A dispute needs an arbiter; the brand disputes a delivery within its review window or a
    // revision it asked for; the creator a delivery in review, or a revision before its cutoff.
    const canDispute = (m: any) =>
      (m.status === 'submitted' && (role === 'creator' || now <= reviewEnd(m))) ||
      (m.status === 'revision_requested' && (role === 'brand' || now <= cutoff(m)));
    if (!arbiter) {
      forms.push(h('div', { class: 'card', role: 'note', 'aria-labelledby': 'no-arbiter-h', 'data-testid': 'no-arbiter' },
        h('h3', { id: 'no-arbiter-h' }, 'No disputes in this agreement'),
        h('p', {}, `This agreement names no arbiter, so there is nobody to rule on a dispute: neither of you can open one${st === 'active' ? ' or contest a termination' : ''}, and the escrow refuses both. A delivery is settled by the brand\u2019s approval, a revision request, or the creator\u2019s claim after the brand\u2019s silence; a missed deadline returns the milestone to the brand.`)));
    } else if (ms.some(canDispute)) {
      const sel = msSelect('milestone', canDispute);
      const reason = h('input', { name: 'reason', required: true }) as HTMLInputElement;
      const f = h('form', { class: 'card', 'aria-labelledby': 'dispute-h' }, h('h3', { id: 'dispute-h' }, 'Dispute a milestone'), h('p', {}, `The arbiter both of you named, ${short(a.arbiter)}, decides.`), field('Milestone', sel), field('Why', reason), h('button', { type: 'submit' }, 'Open a dispute'));
      f.addEventListener('submit', (e) => { e.preventDefault(); void act({ action: 'dispute', milestone: Number(sel.value), reason: reason.value }); });
      forms.push(f);
    }
  }
  if (live && arbiter) {
    const exits = timeoutExits(detail, signed, events, now, (body) => void act(body));
    forms.push(...exits.forms);
    why.push(...exits.why);
  }
  if (live) forms.push(...settlementCards(id, detail, role as 'brand' | 'creator', session()!.address, tk, (body, prepare) => void act(body, prepare)));
  if (live) {
    const cancel = h('button', { type: 'button' }, 'Cancel my settlement/termination signatures');
    cancel.addEventListener('click', () => void act({ action: 'cancel-signatures' }));
    forms.push(h('div', { class: 'card', role: 'group', 'aria-labelledby': 'cancel-h' }, h('h3', { id: 'cancel-h' }, 'Void signed splits'),
      h('p', {}, `A settlement or mutual termination you signed names the agreement\u2019s current state (nonce ${a.nonce}) and is void as soon as that changes. To withdraw it before anything else happens, cancel it here: every split signed so far stops being usable.`),
      cancel));
  }
  if (st === 'active') {
    const reason = h('input', { name: 'reason', required: true }) as HTMLInputElement;
    const f = h('form', { class: 'card', 'aria-labelledby': 'terminate-h' }, h('h3', { id: 'terminate-h' }, 'End the agreement for cause (morality clause)'), field('Why', reason, 'Kept off chain; only its hash goes on chain.'), h('button', { type: 'submit', class: 'danger' }, 'End the agreement'));
    f.addEventListener('submit', (e) => { e.preventDefault(); void act({ action: 'terminate', reason: reason.value }); });
    forms.push(f);
  }
  if (st === 'terminating') {
    const t = terminationState(events);
    const me = session()?.address.toLowerCase() ?? '';
    const byMe = t?.by === me;
    const closes = t?.closesAt ?? null;
    const open = closes !== null && now <= closes;
    const buttons: HTMLElement[] = [];
    let text: string;
    if (t?.contested) {
      text = `The termination is contested: the arbiter ${short(a.arbiter)} decides how the unearned escrow is split. Nothing is left for you to do on it here.`;
    } else {
      // Contest: the other party, with an arbiter, within the window. Finalize: anyone, after it.
      if (!byMe && arbiter && open) {
        const contest = h('button', { type: 'button', class: 'primary' }, 'Contest the termination');
        contest.addEventListener('click', () => void act({ action: 'contest' }));
        buttons.push(contest);
      }
      if (closes !== null && !open) {
        const fin = h('button', { type: 'button' }, 'Finalize the termination');
        fin.addEventListener('click', () => void act({ action: 'finalize-termination' }));
        buttons.push(fin);
      }
      const until = closes !== null ? when(closes) : 'the end of the contest window';
      if (open) {
        text = byMe
          ? `You ended the agreement. The other party may contest it until ${until}${arbiter ? '' : ' (it cannot: there is no arbiter)'}; after that, finalize it here.`
          : arbiter
            ? `The other party ended the agreement. Contest it before ${until} if you disagree: the arbiter then decides. After that it can only be finalized.`
            : `The other party ended the agreement. It cannot be contested: the agreement names no arbiter. After ${until} either of you can finalize it.`;
      } else {
        text = `The contest window closed at ${until}${byMe || !arbiter ? '' : ' without a contest, so it can no longer be contested'}: anyone may finalize the termination now.`;
      }
    }
    forms.push(h('div', { class: 'card', role: 'group', 'aria-labelledby': 'terminating-h' }, h('h3', { id: 'terminating-h' }, 'Termination under way'), h('p', { 'data-testid': 'termination-actions' }, text), buttons.length ? h('div', { class: 'actions' }, buttons) : null));
  }
  if (!live) why.push(`The agreement is ${st}: nothing on it can change any more.`);
  // Withdraw: only a credit the escrow holds for the viewer (a payout it could not push).
  if (claimable === null || claimable > 0n) {
    const withdraw = h('button', { type: 'button' }, 'Withdraw deferred payments');
    withdraw.addEventListener('click', () => void act({ action: 'withdraw' }));
    forms.push(h('div', { class: 'card', role: 'group', 'aria-labelledby': 'withdraw-h' }, h('h3', { id: 'withdraw-h' }, 'Withdraw'),
      h('p', {}, claimable === null
        ? 'If a payment to you could not be pushed to your account, it waits in the escrow: withdraw it here (your wallet\u2019s node could not be asked how much waits).'
        : `The escrow holds ${amount(claimable, tk)} for you: payments it could not push to your account. Withdraw them here.`), withdraw));
  } else {
    why.push(`Nothing of yours in ${tk.symbol ?? 'this token'} waits in the escrow: every payment to you went straight to your account, so there is nothing to withdraw.`);
  }
  if (why.length)
    forms.push(h('div', { class: 'card', role: 'note', 'aria-labelledby': 'why-h', 'data-testid': 'not-offered' }, h('h3', { id: 'why-h' }, 'Not offered now, and why'), h('ul', {}, why.map((w) => h('li', {}, w)))));
  return h('section', { 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, 'What you can do'), forms);
}

function timeline(events: any[]): HTMLElement {
  return h('section', { 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h' }, 'Timeline'),
    h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Timeline (table)' }, h('table', { 'data-testid': 'timeline' }, h('caption', {}, 'Every escrow event of this agreement, in chain order'),
      h('thead', {}, h('tr', {}, ['Event', 'Milestone', 'Block', 'Time', 'Transaction'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, events.map((e) => h('tr', {},
        h('td', {}, e.event), h('td', {}, e.milestone === null || e.milestone === undefined ? '—' : Number(e.milestone) + 1),
        h('td', {}, e.blockNumber), h('td', {}, when(e.timestamp)), h('td', {}, h('code', { class: 'wrap' }, e.txHash))))))));
}

// ---------------------------------------------------------------- audit

function renderReport(target: HTMLElement, r: Report) {
  const ids = (status: string) => r.checks.filter((c) => c.status === status).map((c) => c.id);
  const failed = ids('fail');
  const errors = ids('error');
  const skipped = ids('skipped');
  target.dataset.verdict = r.outcome === 'verified' ? 'pass' : r.outcome === 'failed' ? 'fail' : 'unreadable';
  target.dataset.outcome = r.outcome;
  const verdict =
    r.outcome === 'failed'
      ? `The bundle does NOT verify: ${failed.length} of ${r.checks.length} checks failed: ${failed.join(', ')}.`
      : r.outcome === 'unreadable'
        ? `The bundle could not be verified: ${errors.join(', ')} could not be decided (the bundle or the node could not be read).`
        : `The bundle verifies: ${r.checks.length - skipped.length} checks passed, computed in this browser${skipped.length ? `; not applicable: ${skipped.join(', ')}` : ''}.`;
  const label = { pass: 'pass', fail: 'FAIL', skipped: 'skipped', error: 'ERROR' } as const;
  target.replaceChildren(
    h('p', { class: r.outcome === 'verified' ? 'ok' : 'error', role: 'alert', 'data-testid': 'verify-verdict' }, verdict),
    h('ul', { class: 'checks' }, r.checks.map((c) => h('li', { 'data-check': c.id, 'data-status': c.status }, h('strong', {}, `${label[c.status]} `), h('code', {}, c.id), h('br', {}), h('small', { class: 'wrap' }, c.detail)))),
  );
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

/**
 * The bundle checker: what the auditor trusts (an escrow address, prefilled from the committed
 * deployments for the bundle's chain, never taken from the bundle; optionally the exporter that
 * must have signed), which node to ask (a typed RPC URL, else the connected wallet's node), a
 * bundle file, and the report, every check computed in this page (app/verify.ts).
 */
function bundleChecker(): { el: HTMLElement; check: (raw: unknown) => Promise<void> } {
  const escrow = h('input', { name: 'trusted-escrow', spellcheck: 'false', autocomplete: 'off', placeholder: '0x… (the escrow deployment you trust)' }) as HTMLInputElement;
  const node = h('input', { name: 'rpc-url', type: 'url', spellcheck: 'false', autocomplete: 'off', placeholder: 'https://… (empty: your wallet’s node)' }) as HTMLInputElement;
  const exporterIn = h('input', { name: 'exporter', spellcheck: 'false', autocomplete: 'off', placeholder: '0x… (optional)' }) as HTMLInputElement;
  const historical = h('input', { type: 'checkbox', name: 'historical' }) as HTMLInputElement;
  const file = h('input', { type: 'file', accept: 'application/json,.json', 'data-testid': 'bundle-file' }) as HTMLInputElement;
  const out = h('div', { 'data-testid': 'verify-result', 'aria-live': 'polite' });
  let escrowEdited = false;
  escrow.addEventListener('input', () => (escrowEdited = true));

  const check = async (raw: unknown) => {
    out.replaceChildren('Checking…');
    delete out.dataset.verdict;
    delete out.dataset.outcome;
    const fail = (msg: string) => {
      out.dataset.verdict = 'unreadable';
      out.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': 'verify-verdict' }, msg));
    };
    const read = readBundle(raw);
    if ('error' in read) {
      // Unreadable before anything is trusted or asked: the same single `format` error as pactum verify.
      renderReport(out, { outcome: 'unreadable', agreementId: null, checks: [{ id: 'format', status: 'error', detail: read.error }] });
      return;
    }
    const chain = read.bundle.chainId.toString();
    const deployment = deploymentFor(chain);
    if (!escrowEdited) escrow.value = deployment?.escrow ?? '';
    const trusted = escrow.value.trim();
    if (!isAddress(trusted, { strict: false })) {
      fail(`Give the escrow address you trust${chain ? ` on chain ${chain}` : ''}: no committed deployment is known for it. The bundle’s own escrow is never trusted.`);
      escrow.focus();
      return;
    }
    const exp = exporterIn.value.trim();
    if (exp && !isAddress(exp, { strict: false })) {
      fail('The exporter to require is not an address.');
      return;
    }
    let rpc: Rpc;
    if (node.value.trim()) rpc = httpRpc(node.value.trim());
    else if (provider()) {
      // The wallet's node must be the bundle's chain: the wallet is asked to switch to it first.
      // If it will not, the check goes on and its node-chain check says which chain answered.
      const bundleChain = Number(read.bundle.chainId);
      if (Number.isSafeInteger(bundleChain) && bundleChain > 0) {
        try {
          await ensureChain(bundleChain, 'the bundle is of network');
        } catch {
          /* reported by the node-chain check */
        }
      }
      rpc = (method, params) => walletRequest(method, params);
    } else {
      fail('No node to ask: connect a wallet, or give a JSON-RPC URL of a node of the bundle’s chain.');
      return;
    }
    const trustedChain = deployment && deployment.escrow.toLowerCase() === trusted.toLowerCase() ? BigInt(deployment.chainId) : null;
    try {
      renderReport(out, await verifyBundle(raw, rpc, { escrow: trusted as `0x${string}`, chainId: trustedChain, exporter: exp ? (exp as `0x${string}`) : null, historical: historical.checked }));
    } catch (e) {
      fail(`The check stopped: ${(e as Error).message}`);
    }
  };
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    let raw: unknown;
    try {
      // Strict UTF-8, as pactum verify reads the file (a leading byte order mark is dropped by both).
      raw = parseBundleText(new TextDecoder('utf-8', { fatal: true }).decode(await f.arrayBuffer()));
    } catch (e) {
      // Reported like any bundle that cannot be read: the format check, undecided.
      renderReport(out, { outcome: 'unreadable', agreementId: null, checks: [{ id: 'format', status: 'error', detail: `not JSON pactum verify reads: ${(e as Error).message}` }] });
      return;
    }
    await check(raw);
  });
  const el = h('div', { class: 'checker' },
    field('Trusted escrow address', escrow, 'Filled in from the deployments this app was built with (deployments/escrows.json) for the bundle’s chain; change it to the escrow you trust. The bundle’s own escrow is never trusted.'),
    field('Node to check against (JSON-RPC URL)', node, 'Any node of the bundle’s chain. Empty: your wallet’s node.'),
    field('Exporter that must have signed (optional)', exporterIn, 'The exporting server’s address (its /v1/config publishes it as exportSigner). Empty: a signature is checked if present, not required.'),
    h('div', { class: 'field' }, h('label', {}, historical, ' Accept a bundle as of an earlier block (later events are then reported, not refused)')),
    field('Check a bundle file', file, 'A bundle downloaded earlier, or sent to you by anyone.'),
    out);
  return { el, check };
}

function auditPanel(id: string): HTMLElement {
  const checker = bundleChecker();
  const download = h('button', { type: 'button' }, 'Download the audit bundle');
  const verify = h('button', { type: 'button', class: 'primary' }, 'Verify the bundle in this browser');
  const problem = h('div', { 'aria-live': 'polite' });
  download.addEventListener('click', async () => {
    try {
      const b = await api<any>('GET', `/v1/agreements/${id}/audit-bundle`);
      const blob = new Blob([JSON.stringify(b, null, 2)], { type: 'application/json' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `pactum-${id.slice(0, 10)}.json` }) as HTMLAnchorElement;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      problem.replaceChildren(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
    }
  });
  verify.addEventListener('click', async () => {
    problem.replaceChildren();
    try {
      await checker.check(await api<any>('GET', `/v1/agreements/${id}/audit-bundle`));
    } catch (e) {
      problem.replaceChildren(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'audit-h' }, h('h2', { id: 'audit-h' }, 'Audit'),
    h('p', {}, 'The bundle holds the agreement as signed, the terms, both signatures, every event, the state it adds up to and the off-chain log. This page checks it with its own code against a node, trusting only the escrow address below: the agreement id and signatures are recomputed, the node’s events of that escrow must be exactly the bundle’s, and their replay must give the escrow’s own state and the bundle’s money.'),
    h('div', { class: 'actions' }, download, verify), problem, checker.el);
}

async function auditPage() {
  if (!requireSession()) return;
  const party = h('input', { name: 'party', spellcheck: 'false', autocomplete: 'off', placeholder: '0x… (any party)' }) as HTMLInputElement;
  const idIn = h('input', { name: 'id', spellcheck: 'false', autocomplete: 'off', placeholder: '0x… (64 hex digits)' }) as HTMLInputElement;
  const statusSel = h('select', { name: 'status' }, ['', 'active', 'terminating', 'closing', 'completed', 'terminated', 'revoked'].map((x) => h('option', { value: x }, x || 'any'))) as HTMLSelectElement;
  const results = h('div', { 'aria-live': 'polite', 'data-testid': 'search-results' });
  const form = h('form', { class: 'card', role: 'search' },
    field('Agreement id', idIn), field('Party address', party), field('Status', statusSel),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = idIn.value.trim();
    if (id) {
      navigate(`/agreements/${id}`);
      return;
    }
    const q = new URLSearchParams();
    if (party.value.trim()) {
      if (!isAddress(party.value.trim(), { strict: false })) {
        results.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'The party is not an address.'));
        return;
      }
      q.set('party', getAddress(party.value.trim()));
    }
    if (statusSel.value) q.set('status', statusSel.value);
    try {
      const cfg = await getConfig();
      // Every served chain is searched (one request each; the only one asked as before).
      const many = multiChain(cfg);
      const pages = await Promise.all((many ? cfg.chains.map((c) => c.chainId) : [null]).map(async (chain) => {
        const cq = new URLSearchParams(q);
        if (chain !== null) cq.set('chain', String(chain));
        const r = await api<{ items: any[] }>('GET', `/v1/agreements?${cq}`);
        return r.items.map((a) => ({ ...a, chainId: a.chainId ?? chain ?? cfg.chainId }));
      }));
      const items = pages.flat();
      results.replaceChildren(items.length ? h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Search results (table)' }, h('table', {}, h('caption', {}, `${items.length} agreement(s)`),
        h('thead', {}, h('tr', {}, ['Agreement', ...(many ? ['Network'] : []), 'Status', 'Brand', 'Creator', 'Total', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, items.map((a) => h('tr', {}, h('td', {}, link(`/agreements/${a.id}`, short(a.id))), networkCell(cfg, a.chainId), h('td', {}, a.status), h('td', {}, h('code', {}, short(a.brand))), h('td', {}, h('code', {}, short(a.creator))), h('td', {}, amount(a.totalAmount, tokenOf(tokensOf(cfg, a.chainId), a.token))), h('td', {}, when(a.createdAt)))))))
        : h('p', {}, 'No agreement matches.'));
    } catch (err) {
      results.replaceChildren(h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    }
  });
  screen('Audit', form, results, h('section', { class: 'card', 'aria-labelledby': 'file-h' }, h('h2', { id: 'file-h' }, 'Check a bundle file'), bundleChecker().el));
}

void render();
