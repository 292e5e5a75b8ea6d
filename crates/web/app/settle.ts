// A signed settlement: both parties sign the same split of a milestone (EIP-712, the escrow's
// `Settlement`), or of the unearned escrow when they end the agreement together (its
// `MutualTermination`), then one of them sends it. Pactum keeps no signature of a split: the party who
// proposes signs in its wallet and gets a link carrying the split and its signature; the other
// party opens it, the page checks that the signature really is the proposer's for exactly that
// split (a link edited on the way is refused before anything is signed), their wallet signs the
// same typed data, and their wallet sends both signatures to the escrow.

import { verifyTypedData } from 'viem';
import { api, ApiError } from './api';
import { field, fieldError, h, setStatus } from './dom';
import { beside } from './feedback';
import { amount, parseAmount, type tokenOf, when } from './format';
import { signTypedData, SwitchDeclined, WalletRejected, WrongNetwork } from './wallet';

type Token = ReturnType<typeof tokenOf>;

/** What a proposal link carries (in its fragment, never sent to a server). */
interface Proposal {
  /** The milestone settled; null: the agreement ended together (a mutual termination). */
  milestone: number | null;
  creatorAmount: string;
  nonce: number;
  deadline: number;
  by: 'brand' | 'creator';
  signature: `0x${string}`;
}

interface SplitToSign {
  typedData: any;
  nonce: number;
  deadline: number;
  note: string;
}

const encode = (p: Proposal) => btoa(JSON.stringify(p)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function decode(fragment: string): Proposal | null {
  const m = fragment.match(/^#settle=([A-Za-z0-9_-]+)$/);
  if (!m) return null;
  try {
    const p = JSON.parse(atob(m[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (!(p.milestone === null || Number.isInteger(p.milestone)) || !/^\d+$/.test(String(p.creatorAmount)) || !Number.isInteger(p.nonce) || !Number.isInteger(p.deadline)) return null;
    if ((p.by !== 'brand' && p.by !== 'creator') || !/^0x[0-9a-fA-F]{130}$/.test(String(p.signature))) return null;
    return p as Proposal;
  } catch {
    return null;
  }
}

/** The typed data without its EIP712Domain entry (viem derives the domain's type itself). */
function forViem(typed: any) {
  const { EIP712Domain: _omit, ...types } = typed.types ?? {};
  return { domain: typed.domain, types, primaryType: typed.primaryType, message: typed.message };
}

/** The split's typed data as the API computes it for `p`'s milestone, amount, nonce and deadline. */
function typedFor(id: string, p: Pick<Proposal, 'milestone' | 'creatorAmount'> & Partial<Pick<Proposal, 'nonce' | 'deadline'>>): Promise<SplitToSign> {
  return api<SplitToSign>('POST', `/v1/agreements/${id}/transactions`, { ...splitBody(p), nonce: p.nonce, deadline: p.deadline });
}

/** The action of a split: a milestone's settlement, or the mutual termination. */
function splitBody(p: Pick<Proposal, 'milestone' | 'creatorAmount'>): Record<string, unknown> {
  return p.milestone === null ? { action: 'terminate-mutually', creatorAmount: p.creatorAmount } : { action: 'settle', milestone: p.milestone, creatorAmount: p.creatorAmount };
}

/** Signs in the wallet, saying so in `box`; a refusal in the wallet is shown and rethrown. */
async function walletSigns(box: HTMLElement, me: string, typed: any, what: string): Promise<`0x${string}`> {
  setStatus(box, 'waiting', `Waiting for your wallet: check the split it shows (${what}), then sign.`);
  try {
    // Signed on the agreement's network (the typed data's domain): the wallet is asked to switch first if needed.
    return (await signTypedData(me, typed, (from, to) => setStatus(box, 'waiting', `Waiting for your wallet to switch from network ${from} to network ${to} (the agreement is on it), then to sign the split (${what}).`))) as `0x${string}`;
  } catch (e) {
    if (e instanceof WalletRejected) setStatus(box, 'rejected', e instanceof SwitchDeclined ? e.message : 'Rejected in your wallet. Nothing was signed.');
    else if (e instanceof WrongNetwork) setStatus(box, 'wrong-network', h('strong', {}, 'Wrong network. '), `${e.message} Nothing was signed: switch your wallet to network ${e.wanted} and try again.`);
    throw e;
  }
}

/**
 * The settlement cards of a live agreement for a party: a proposal opened from a link (checked,
 * then signed and sent), and the form to propose one. `act(body, prepare)` sends an action as
 * the actions panel does, `prepare` running first with its feedback box.
 */
export function settlementCards(
  id: string,
  detail: any,
  role: 'brand' | 'creator',
  me: string,
  tk: Token,
  act: (body: any, prepare?: (box: HTMLElement) => Promise<Record<string, unknown>>) => void,
): HTMLElement[] {
  const a = detail.agreement;
  const ms = (detail.milestones as any[]).filter((m) => m.funded && ['open', 'submitted', 'revision_requested', 'disputed'].includes(m.status));
  const other = role === 'brand' ? 'creator' : 'brand';
  const cards: HTMLElement[] = [];
  // What a split divides: a milestone's amount, or, ending the agreement together, the unearned
  // escrow (funded milestones never delivered; delivered ones keep their own exits).
  const unearned = (detail.milestones as any[]).filter((m) => m.funded && m.status === 'open').reduce((t, m) => t + BigInt(m.amount), 0n);
  const whole = (a.status === 'active' || a.status === 'terminating') && unearned > 0n;
  const stakeOf = (milestone: number | null): bigint | null => {
    if (milestone === null) return whole ? unearned : null;
    const m = ms.find((x) => x.index === milestone);
    return m ? BigInt(m.amount) : null;
  };
  const words = (milestone: number | null, creatorAmount: bigint) => {
    const stake = stakeOf(milestone) ?? 0n;
    const split = `the creator gets ${amount(creatorAmount, tk)}, the brand gets back ${amount(stake - creatorAmount, tk)}`;
    return milestone === null ? `end the agreement together: of the unearned ${amount(stake, tk)}, ${split}; delivered milestones keep their own rules` : `settle milestone ${milestone + 1}: ${split}`;
  };

  const proposal = decode(location.hash);
  if (location.hash.startsWith('#settle=')) {
    const card = h('div', { class: 'card', role: 'group', 'aria-labelledby': 'proposal-h', 'data-testid': 'settle-proposal' }, h('h3', { id: 'proposal-h' }, 'A split proposed to you'));
    cards.push(card);
    const stake = proposal ? stakeOf(proposal.milestone) : null;
    if (!proposal || stake === null || proposal.by === role) {
      const m = proposal && proposal.milestone !== null ? (detail.milestones as any[]).find((x) => x.index === proposal.milestone) : null;
      card.append(h('p', { class: 'error', 'data-testid': 'settle-invalid' },
        !proposal ? 'This settlement link cannot be read: it was cut or changed. Ask for it again.'
          : proposal.by === role ? 'You proposed this split yourself: send the link to the other party.'
            : m ? `Milestone ${m.index + 1} is ${String(m.status).replace(/_/g, ' ')} now: this settlement can no longer be sent.`
              : proposal.milestone === null ? `The agreement is ${a.status} with nothing unearned to split: this termination can no longer be sent.` : 'This settlement names a milestone the agreement does not have.'));
    } else {
      const text = h('p', {}, `The ${proposal.by} proposes to ${words(proposal.milestone, BigInt(proposal.creatorAmount))}. Signed by the ${proposal.by}; valid until ${when(proposal.deadline)}, unless the agreement\u2019s state changes first.`);
      const verdict = h('p', { 'data-testid': 'settle-check' }, 'Checking the signature…');
      card.append(text, verdict);
      const signer = String(proposal.by === 'brand' ? a.brand : a.creator);
      void (async () => {
        try {
          const t = await typedFor(id, proposal);
          const ok = await verifyTypedData({ address: signer as `0x${string}`, signature: proposal.signature, ...(forViem(t.typedData) as any) });
          if (!ok) {
            verdict.className = 'error';
            verdict.dataset.ok = 'false';
            verdict.textContent = `This signature is not the ${proposal.by}\u2019s for this split: the link was changed on the way. Do not sign it; ask the ${proposal.by} for the link again.`;
            return;
          }
          verdict.dataset.ok = 'true';
          verdict.textContent = `The ${proposal.by}\u2019s signature of exactly this split checks out.`;
          const send = h('button', { type: 'button', class: 'primary' }, proposal.milestone === null ? 'Sign and send this termination' : 'Sign and send this settlement');
          send.addEventListener('click', () =>
            act({ ...splitBody(proposal), nonce: proposal.nonce, deadline: proposal.deadline }, async (box) => {
              const fresh = await typedFor(id, proposal);
              const mine = await walletSigns(box, me, fresh.typedData, words(proposal.milestone, BigInt(proposal.creatorAmount)));
              return role === 'brand' ? { brandSignature: mine, creatorSignature: proposal.signature } : { brandSignature: proposal.signature, creatorSignature: mine };
            }),
          );
          card.append(h('div', { class: 'actions' }, send));
        } catch (e) {
          verdict.className = 'error';
          verdict.textContent = e instanceof ApiError ? `This split cannot be signed now: ${e.message}` : (e as Error).message;
        }
      })();
    }
  }

  if (ms.length || whole) {
    const sel = h('select', { name: 'split' },
      ms.map((m) => h('option', { value: String(m.index) }, `Milestone ${m.index + 1} (${amount(m.amount, tk)})`)),
      whole ? h('option', { value: 'all' }, `End the agreement together (unearned: ${amount(unearned, tk)})`) : null) as HTMLSelectElement;
    const amountIn = h('input', { name: 'creatorAmount', inputmode: 'decimal', required: true }) as HTMLInputElement;
    amountIn.addEventListener('input', () => fieldError(amountIn, null));
    const out = h('div', { 'data-testid': 'settle-link' });
    const propose = h('button', { type: 'submit' }, 'Sign this split');
    const form = h('form', { class: 'card', 'aria-labelledby': 'settle-h' }, h('h3', { id: 'settle-h' }, 'Settle a milestone by agreement'),
      h('p', {}, `Both of you sign the same split of a milestone\u2019s money${whole ? ', or end the agreement together and split the unearned escrow' : ''}; then either sends it and the escrow pays it at once. You sign first and send the link you get to the ${other}.`),
      field('What to split', sel), field(`What the creator gets (${tk.symbol ?? 'token units'})`, amountIn, 'The brand gets back the rest.'), h('div', { class: 'actions' }, propose), out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const milestone = sel.value === 'all' ? null : Number(sel.value);
      const stake = stakeOf(milestone) ?? 0n;
      const parsed = parseAmount(amountIn.value, tk.decimals, tk.symbol);
      const fb = beside('settle', propose);
      if ('error' in parsed || parsed.value > stake) {
        fieldError(amountIn, 'error' in parsed ? parsed.error : `At most the ${amount(stake, tk)} at stake.`);
        fb.box.remove();
        amountIn.focus();
        return;
      }
      try {
        setStatus(fb.box, 'checking', 'Asking the escrow what to sign…');
        const p = { milestone, creatorAmount: parsed.value.toString() };
        const t = await typedFor(id, p);
        const signature = await walletSigns(fb.box, me, t.typedData, words(milestone, parsed.value));
        const url = `${location.origin}/agreements/${id}#settle=${encode({ ...p, nonce: t.nonce, deadline: t.deadline, by: role, signature })}`;
        const linkIn = h('input', { readonly: true, value: url, 'aria-label': `Link for the ${other}`, 'data-testid': 'settle-url' }) as HTMLInputElement;
        out.replaceChildren(h('p', {}, `Send this link to the ${other}: they check your signature, sign the same split and send it. It is void after ${when(t.deadline)}, or as soon as the agreement\u2019s state changes.`), linkIn);
        fb.done('confirmed', `You signed: ${words(milestone, parsed.value)}. Send the link below to the ${other}.`);
      } catch (err) {
        if (err instanceof ApiError) fb.done('refused', h('span', { role: 'alert' }, `Refused before anything was signed: ${err.message}`));
        else if (!['rejected', 'wrong-network'].includes(fb.box.dataset.state ?? '')) fb.done('error', (err as Error).message);
        else fb.done();
      }
    });
    cards.push(form);
  }
  return cards;
}
