// What a signed-out visitor sees: at `/`, what Pactum is (before any signature is asked for); on a
// draft's link, who invites them (the brand's address, from the API's anonymous invitation, which
// says nothing of the terms); on the audit page, the bundle check that needs no account. The
// header's links lead to these pages rather than each back to a sign-in box.

import { getAddress, isAddress } from 'viem';
import { api, ApiError } from './api';
import { h } from './dom';
import { short } from './format';

function link(href: string, text: string) {
  return h('a', { href, 'data-link': true }, text);
}

/** The header's links: for a signed-out visitor, the pages that mean something without an account. */
export function renderNav(signedIn: boolean) {
  const nav = document.querySelector('header nav[aria-label="Main"]');
  if (!nav) return;
  nav.replaceChildren(
    ...(signedIn
      ? [link('/', 'Dashboard'), link('/drafts/new', 'New agreement'), link('/performance', 'Performance'), link('/audit', 'Audit')]
      : [link('/', 'How Pactum works'), link('/audit', 'Check an audit bundle')]),
  );
}

/** The landing page at `/`: Pactum in five steps, then the sign-in. */
export function landing(signInPanel: HTMLElement): HTMLElement[] {
  const steps: [string, string][] = [
    ['Both sign the same terms', 'The brand drafts the agreement: milestones, amounts, deadlines, usage rights, the disclosure each caption must carry. Brand and creator each sign it in their own wallet as EIP-712 typed data, so each sees exactly what they sign. Either may propose changes; signatures start over with each version.'],
    ['The money waits in escrow, milestone by milestone', 'With both signatures the brand funds an escrow contract on Ethereum. Nobody, Pactum included, can move the money except by the rules both signed.'],
    ['Delivery, review, and silence that pays', 'The creator delivers each milestone (its link and caption, checked for the disclosure the terms require). The brand approves, or asks for a revision within its review window; if it stays silent until the window closes, the creator claims the payment without it.'],
    ['Disputes go to a named arbiter', 'If the agreement names an arbiter, either party may dispute a delivery or contest a termination. The arbiter rules with a split, for the fee both agreed; if it does not rule in time, anyone can settle the split the contract sets for a timeout.'],
    ['Auditors verify independently', 'Every agreement has an audit bundle: the signed agreement, the terms, both signatures, every event. An auditor checks it in the browser against an Ethereum node, trusting only the escrow address, not Pactum.'],
  ];
  return [
    h('p', { class: 'lede' }, 'Pactum holds the money of a brand\u2013creator agreement in an Ethereum escrow and pays each milestone by the rules both parties signed.'),
    h('section', { class: 'card', 'aria-labelledby': 'how-h', 'data-testid': 'landing' },
      h('h2', { id: 'how-h' }, 'How it works'),
      h('ol', { class: 'steps' }, steps.map(([title, text]) => h('li', {}, h('strong', {}, title), h('br', {}), text)))),
    signInPanel,
  ];
}

/** The anonymous invitation of a draft: its id and the brand's address, nothing of the terms. */
interface Invitation {
  id: string;
  brand: string;
}

/** A draft's link opened signed out: who invites, to what, and the sign-in. The terms are the two
 *  parties' only: they are shown once the invited wallet signs in. */
export async function invitation(id: string, signInPanel: HTMLElement): Promise<{ title: string; content: HTMLElement[] }> {
  let inv: Invitation | null = null;
  try {
    inv = await api<Invitation>('GET', `/v1/drafts/${encodeURIComponent(id)}/invitation`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  const how = h('p', {}, 'New to Pactum? ', link('/', 'How Pactum works'), '.');
  if (!inv || !isAddress(inv.brand, { strict: false })) {
    return {
      title: 'Sign in',
      content: [
        h('p', { 'data-testid': 'invitation-unknown' }, 'Pactum knows no draft at this link: it may be mistyped. If it was sent to you, sign in with the wallet it was addressed to.'),
        signInPanel,
        how,
      ],
    };
  }
  // Shown in its checksummed form, as wallets show addresses.
  const brand = getAddress(inv.brand);
  return {
    title: 'You are invited to an agreement',
    content: [
      h('section', { class: 'card', 'aria-labelledby': 'invite-h', 'data-testid': 'invitation' },
        h('h2', { id: 'invite-h' }, 'Who invites you'),
        h('p', {}, 'The brand ', h('code', { title: brand, 'data-testid': 'inviter' }, short(brand)), ' invites you to read and sign a draft agreement: a deal paid from an escrow, milestone by milestone.'),
        h('p', {}, 'Its terms (the money, the milestones, the deadlines and what you would deliver) are shown only to the two parties it names. Sign in with the wallet the brand addressed it to, and you will read them in plain words before anything is signed.'),
        h('p', { class: 'muted' }, 'The brand\u2019s full address: ', h('code', { class: 'wrap' }, brand))),
      signInPanel,
      how,
    ],
  };
}

/** The audit page signed out: the sign-in, then the bundle check, which needs no account. */
export function auditSignedOut(signInPanel: HTMLElement, checker: HTMLElement): HTMLElement[] {
  return [
    h('p', {}, 'Auditors sign in to search every agreement. Anyone can check an audit bundle file without an account: the check runs in this browser, against an Ethereum node.'),
    signInPanel,
    h('section', { class: 'card', 'aria-labelledby': 'file-h' }, h('h2', { id: 'file-h' }, 'Check a bundle file'), checker),
  ];
}

/** A draft's link opened by a signed-in wallet it does not name: who invites, and that the terms
 *  are shown only to the wallets it names (the API answers 404 to anyone else). */
export async function notAddressedToYou(id: string, you: string): Promise<HTMLElement[]> {
  let brand: string | null = null;
  try {
    const inv = await api<Invitation>('GET', `/v1/drafts/${encodeURIComponent(id)}/invitation`);
    if (isAddress(inv.brand, { strict: false })) brand = getAddress(inv.brand);
  } catch {
    /* unknown draft: said below */
  }
  if (!brand) return [h('p', { 'data-testid': 'invitation-unknown' }, 'Pactum knows no draft at this link: it may be mistyped.')];
  you = isAddress(you, { strict: false }) ? getAddress(you) : you;
  return [
    h('p', { 'data-testid': 'not-addressed' }, 'This draft, from the brand ', h('code', { title: brand }, short(brand)), ', is not addressed to the wallet you signed in with, ', h('code', { title: you }, short(you)), '. Its terms are shown only to the two parties it names.'),
    h('p', {}, 'If it was sent to you, sign out (top right) and sign in with the wallet the brand addressed it to.'),
  ];
}
