// The arbiter's screen on an agreement: its fee, what waits for its ruling (disputed milestones
// and a contested termination, each with the deadline the escrow enforces), and a ruling as a
// split in percent. Offered only when the escrow would accept it (its arbiter check and its
// `_requireArbitrationOpen` windows, measured by the chain's time). Once a window has closed the
// arbiter can no longer rule, and the even split the escrow then makes is the parties' to send
// (`resolveDisputeAfterTimeout` and `resolveTerminationAfterTimeout` check `_onlyParty`): the
// arbiter's screen says so instead of offering a button the escrow would refuse.

import { amount, duration, type tokenOf, when } from './format';
import { field, fieldError, h, uid } from './dom';

type Token = ReturnType<typeof tokenOf>;

/** The last event named `name` (for milestone `milestone` if given). */
function lastEvent(events: any[], name: string, milestone?: number): any | null {
  return [...events].reverse().find((e) => e.event === name && (milestone === undefined || Number(e.milestone) === milestone)) ?? null;
}

/** A percent field (0 to 100, two decimals) read as basis points; its error under it. */
function shareField(label: string, hint: string): { el: HTMLElement; bps: () => number | null } {
  const input = h('input', { name: 'creatorShare', inputmode: 'decimal', required: true, value: '50', id: uid('share') }) as HTMLInputElement;
  input.addEventListener('input', () => fieldError(input, null));
  return {
    el: field(label, input, hint),
    bps: () => {
      const raw = input.value.trim().replace(/%$/, '').trim();
      const v = Number(raw);
      if (!/^\d{1,3}(\.\d{1,2})?$/.test(raw) || !(v >= 0 && v <= 100)) {
        fieldError(input, `"${input.value}" is not a share: give a percentage from 0 to 100, at most two decimals (for example 50 or 62.5).`);
        input.focus();
        return null;
      }
      return Math.round(v * 100);
    },
  };
}

/**
 * The arbiter's panel. `signed` is the agreement as both parties signed it (its arbitration
 * window and fee), `act` sends an action as the parties' panel does (feedback beside the button).
 */
export function arbiterPanel(detail: any, signed: any, events: any[], now: number, tk: Token, act: (body: any) => void): HTMLElement {
  const a = detail.agreement;
  const ms = detail.milestones as any[];
  const window = Number(BigInt(signed?.arbitrationWindow ?? 0));
  const feeBps = Number(BigInt(signed?.arbiterFeeBps ?? 0));
  const parts: HTMLElement[] = [];
  const who = (addr: unknown) => (String(addr).toLowerCase() === String(a.brand).toLowerCase() ? 'the brand' : String(addr).toLowerCase() === String(a.creator).toLowerCase() ? 'the creator' : String(addr));

  parts.push(h('p', { 'data-testid': 'arbiter-fee' },
    `You are this agreement\u2019s arbiter. Your fee: ${feeBps / 100}% of what you rule on, paid when you rule within your window (${duration(window)} from the dispute or the contest); a split after the window pays no fee. Paid to you so far: ${amount(a.arbiterFees, tk)}.`));

  for (const m of ms.filter((x) => x.status === 'disputed')) {
    const opened = lastEvent(events, 'DisputeOpened', m.index);
    const since = opened ? Number(opened.timestamp) : Number(m.since);
    const until = since + window;
    const n = m.index + 1;
    const headingId = uid('dispute-h');
    const card = h('div', { class: 'card', role: 'group', 'aria-labelledby': headingId, 'data-testid': `arbiter-dispute-${m.index}` },
      h('h3', { id: headingId }, `Milestone ${n} in dispute`),
      h('p', {}, `${amount(m.amount, tk)}, disputed by ${who(opened?.fields?.by)} on ${when(since)}. ${now <= until ? `Rule by ${when(until)}.` : `Your window to rule closed at ${when(until)}.`}`));
    if (now <= until) {
      const share = shareField(`Creator\u2019s share of milestone ${n} (%)`, `The creator gets this share of the ${amount(m.amount, tk)} after your fee; the brand gets the rest.`);
      const rule = h('button', { type: 'button', class: 'primary' }, `Rule on milestone ${n}`);
      rule.addEventListener('click', () => {
        const bps = share.bps();
        if (bps !== null) act({ action: 'resolve', milestone: m.index, creatorBps: bps });
      });
      card.append(share.el, h('div', { class: 'actions' }, rule));
    } else {
      card.append(h('p', { 'data-testid': 'arbiter-timed-out' }, `You can no longer rule on it: the escrow now splits milestone ${n} evenly between the parties, with no fee, when either of them asks (only they may send that).`));
    }
    parts.push(card);
  }

  const contested = a.status === 'terminating' ? lastEvent(events, 'TerminationContested') : null;
  const started = lastEvent(events, 'TerminationStarted');
  if (contested && started && events.indexOf(contested) > events.indexOf(started)) {
    const until = Number(contested.timestamp) + window;
    const card = h('div', { class: 'card', role: 'group', 'aria-labelledby': 'arb-term-h', 'data-testid': 'arbiter-termination' },
      h('h3', { id: 'arb-term-h' }, 'Contested termination'),
      h('p', {}, `${who(started.fields?.by)[0].toUpperCase()}${who(started.fields?.by).slice(1)} ended the agreement; ${who(contested.fields?.by)} contested it on ${when(Number(contested.timestamp))}. ${now <= until ? `You decide how the unearned escrow (funded milestones never delivered) is split. Rule by ${when(until)}.` : `Your window to rule closed at ${when(until)}.`}`));
    if (now <= until) {
      const share = shareField('Creator\u2019s share of the unearned escrow (%)', 'The creator gets this share after your fee; the brand gets the rest. Delivered milestones keep their own rules.');
      const rule = h('button', { type: 'button', class: 'primary' }, 'Rule on the termination');
      rule.addEventListener('click', () => {
        const bps = share.bps();
        if (bps !== null) act({ action: 'resolve-termination', creatorBps: bps });
      });
      card.append(share.el, h('div', { class: 'actions' }, rule));
    } else {
      card.append(h('p', { 'data-testid': 'arbiter-timed-out' }, 'You can no longer rule on it: the escrow now splits the unearned escrow evenly between the parties, with no fee, when either of them asks (only they may send that).'));
    }
    parts.push(card);
  }

  if (parts.length === 1)
    parts.push(h('p', { 'data-testid': 'arbiter-nothing' }, 'Nothing waits for your ruling: no milestone is in dispute and no termination is contested.'));
  return h('section', { 'aria-labelledby': 'actions-h', 'data-testid': 'arbiter-panel' }, h('h2', { id: 'actions-h' }, 'What you can do'), parts);
}

/**
 * For the brand and the creator: the even split the escrow makes once the arbiter let its window
 * pass (a disputed milestone, a contested termination), which either party (and only a party)
 * may send; before that, a sentence saying until when the arbiter may rule.
 */
export function timeoutExits(detail: any, signed: any, events: any[], now: number, act: (body: any) => void): { forms: HTMLElement[]; why: string[] } {
  const forms: HTMLElement[] = [];
  const why: string[] = [];
  if (!signed) return { forms, why };
  const a = detail.agreement;
  const window = Number(BigInt(signed.arbitrationWindow ?? 0));
  const buttons: HTMLElement[] = [];
  for (const m of (detail.milestones as any[]).filter((x) => x.status === 'disputed')) {
    const opened = lastEvent(events, 'DisputeOpened', m.index);
    const until = (opened ? Number(opened.timestamp) : Number(m.since)) + window;
    if (now <= until) {
      why.push(`Milestone ${m.index + 1} is with the arbiter until ${when(until)}: if it has not ruled by then, either of you can have the escrow split it evenly here.`);
      continue;
    }
    const split = h('button', { type: 'button' }, `Split milestone ${m.index + 1} after the arbiter\u2019s timeout`);
    split.addEventListener('click', () => act({ action: 'resolve-timeout', milestone: m.index }));
    buttons.push(split);
  }
  const contested = a.status === 'terminating' ? lastEvent(events, 'TerminationContested') : null;
  const started = lastEvent(events, 'TerminationStarted');
  if (contested && started && events.indexOf(contested) > events.indexOf(started)) {
    const until = Number(contested.timestamp) + window;
    if (now <= until) why.push(`The contested termination is with the arbiter until ${when(until)}: if it has not ruled by then, either of you can have the escrow split the unearned escrow evenly here.`);
    else {
      const split = h('button', { type: 'button' }, 'Split the termination after the arbiter\u2019s timeout');
      split.addEventListener('click', () => act({ action: 'resolve-termination-timeout' }));
      buttons.push(split);
    }
  }
  if (buttons.length)
    forms.push(h('div', { class: 'card', role: 'group', 'aria-labelledby': 'timeout-h', 'data-testid': 'arbiter-timeout' }, h('h3', { id: 'timeout-h' }, 'The arbiter did not rule in time'),
      h('p', {}, 'Its window closed: the escrow now splits what it was to rule on evenly between you, with no fee. Either of you may send that.'), h('div', { class: 'actions' }, buttons)));
  return { forms, why };
}

/**
 * The arbiter's next step on an agreement, for its dashboard: what waits for its ruling (a
 * disputed milestone's `since` is when its dispute opened; a contested termination's is when it
 * was contested).
 */
export function arbiterSteps(a: any, milestones: any[], termination: any): string[] {
  const steps = milestones.filter((m) => m.status === 'disputed').map((m) => `Rule on milestone ${m.index + 1}: in dispute since ${when(Number(m.since))}.`);
  if (a.status === 'terminating' && termination?.contested) steps.push(`Rule on the contested termination: contested on ${when(Number(termination.since))}.`);
  return steps.length ? steps : ['Nothing waits for your ruling.'];
}
