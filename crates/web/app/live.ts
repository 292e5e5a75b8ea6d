// The live half: the signed-in party's notification stream (`GET /v1/events/stream`), read with
// fetch() and a streaming body reader so the session stays in the Authorization header (an
// EventSource cannot send one, and a token in the URL would end up in logs). After a drop it
// reconnects with `Last-Event-ID` (backing off), so nothing published meanwhile is missed. The
// notifications panel (a bell with the unread count) lists them as sentences.

import { session } from './api';
import { h } from './dom';
import { short, when } from './format';

/** One notification, as the list, the stream and webhooks send it. */
export interface Notification {
  id: number;
  type: string;
  timestamp: string;
  occurred_at: number;
  agreement_id: string | null;
  milestone: number | null;
  role: string;
  retracted: boolean;
  data: any;
}

type Listener = (n: Notification) => void;

const listeners = new Set<Listener>();
/** Subscribes to live notifications; returns the unsubscribe function. */
export function onNotification(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

let items: Notification[] = [];
let running: { account: string; stop: AbortController } | null = null;
let lastId: number | null = null;
const seenKey = (account: string) => `pactum.notifications.seen.${account.toLowerCase()}`;

function seen(): number {
  const s = session();
  return s ? Number(localStorage.getItem(seenKey(s.address)) ?? '0') || 0 : 0;
}

function authHeaders(): Record<string, string> {
  const s = session();
  return s ? { authorization: `Bearer ${s.token}` } : {};
}

/** Starts (or keeps) the stream for the signed-in party; stops it when signed out. */
export function startLive() {
  const s = session();
  if (!s || s.role !== 'party') {
    stopLive();
    return;
  }
  if (running && running.account === s.address) return;
  stopLive();
  const stop = new AbortController();
  running = { account: s.address, stop };
  void run(stop.signal);
}

export function stopLive() {
  running?.stop.abort();
  running = null;
  items = [];
  lastId = null;
  renderBell();
}

async function run(signal: AbortSignal) {
  // The newest page first, so the panel has something; the stream resumes after its newest.
  try {
    const res = await fetch('/v1/notifications?limit=30', { headers: authHeaders(), signal });
    if (res.ok) {
      const page = (await res.json()) as { items: Notification[] };
      items = page.items;
      lastId = items.length ? items[0].id : 0;
      renderBell();
    }
  } catch {
    if (signal.aborted) return;
  }
  let delay = 1000;
  while (!signal.aborted) {
    const opened = Date.now();
    const status = await connect(signal).catch(() => 0);
    if (signal.aborted || status === 401 || status === 403) return;
    // A connection that lasted resets the backoff; one that failed at once doubles it.
    delay = Date.now() - opened > 30_000 ? 1000 : Math.min(delay * 2, 30_000);
    await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
  }
}

/** One connection: returns its HTTP status when it ends. */
async function connect(signal: AbortSignal): Promise<number> {
  const headers = authHeaders();
  let path = '/v1/events/stream';
  if (lastId !== null) headers['last-event-id'] = String(lastId);
  else path += '?after=0';
  const res = await fetch(path, { headers, signal, cache: 'no-store' });
  if (!res.ok || !res.body) return res.status;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return res.status;
    buf += value.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('data:')) data += line.slice(line.startsWith('data: ') ? 6 : 5);
      }
      if (!data) continue; // a keep-alive comment
      try {
        deliver(JSON.parse(data) as Notification);
      } catch {
        /* not an item: skip it */
      }
    }
  }
}

function deliver(n: Notification) {
  if (lastId !== null && n.id <= lastId) return;
  lastId = n.id;
  if (n.type === 'notification.retracted') {
    const target = items.find((i) => i.id === Number(n.data?.retracts));
    if (target) target.retracted = true;
  }
  items = [n, ...items].slice(0, 100);
  renderBell();
  announce(sentence(n));
  for (const fn of listeners) fn(n);
}

// ---------------------------------------------------------------- words


/** A notification as one readable sentence, from its type and data. */
export function sentence(n: Notification): string {
  const ms = n.milestone !== null && n.milestone !== undefined ? `milestone ${n.milestone + 1}` : 'a milestone';
  const ag = n.agreement_id ? `agreement ${short(n.agreement_id)}` : 'your account';
  const d = n.data ?? {};
  switch (n.type) {
    case 'agreement.created':
      return `Both signatures are on chain: ${ag} exists.`;
    case 'agreement.revoked':
      return `A signature was revoked before ${ag} was created.`;
    case 'milestones.funded':
      return `The brand funded ${ag}.`;
    case 'deliverable.submitted':
      return `The creator submitted ${ms} of ${ag}; the brand’s review window runs.`;
    case 'revision.requested':
      return `The brand asked for a revision of ${ms} of ${ag}.`;
    case 'milestone.approved':
      return `The brand approved ${ms} of ${ag}; the creator was paid.`;
    case 'milestone.claimed':
      return `The creator claimed ${ms} of ${ag} after the review window passed.`;
    case 'milestone.reclaimed':
      return `The brand took back the money of ${ms} of ${ag} (nothing was delivered in time).`;
    case 'dispute.opened':
      return `${ms[0].toUpperCase()}${ms.slice(1)} of ${ag} is in dispute; the arbiter decides.`;
    case 'dispute.resolved':
      return `The arbiter ruled on ${ms} of ${ag}.`;
    case 'dispute.timed_out':
      return `The arbiter did not rule in time on ${ms} of ${ag}; it was split evenly.`;
    case 'milestone.settled':
      return `Both parties’ split of ${ms} of ${ag} was paid.`;
    case 'agreement.completed':
      return `Every milestone of ${ag} reached its end.`;
    case 'termination.started':
      return `A party ended ${ag} for cause; it may be contested.`;
    case 'termination.contested':
      return `The termination of ${ag} was contested; the arbiter decides.`;
    case 'agreement.terminated':
      return `The termination of ${ag} is final.`;
    case 'signatures.cancelled':
      return `A party cancelled its signatures for ${ag}.`;
    case 'payment.deferred':
      return `A payment of ${ag} could not be sent and waits in the escrow to be withdrawn.`;
    case 'payment.withdrawn':
      return 'Money the escrow held was withdrawn.';
    case 'reminder.due': {
      const windowName = String(d.window ?? 'window').replace(/_/g, ' ');
      return `Reminder: the ${windowName} of ${n.milestone !== null ? `${ms} of ` : ''}${ag} ends ${when(d.deadline ?? n.occurred_at)}.`;
    }
    case 'notification.retracted':
      return `A chain reorganisation removed an event of ${ag}: disregard the earlier “${String(d.retracted_type ?? 'notification')}” notification.`;
    default:
      return `${n.type} (${ag}).`;
  }
}

// ---------------------------------------------------------------- the bell and its panel

const announcer = () => document.getElementById('live-announce');

function announce(text: string) {
  const el = announcer();
  if (el) el.textContent = `New: ${text}`;
}

function unread(): number {
  const s = seen();
  return items.filter((i) => i.id > s).length;
}

let open = false;

/** Draws the bell (in the header's `#bell`) and, when open, the panel. */
export function renderBell() {
  const box = document.getElementById('bell');
  if (!box) return;
  const s = session();
  if (!s || s.role !== 'party') {
    box.replaceChildren();
    return;
  }
  const n = unread();
  // The visible words are the accessible name: "Notifications 3 unread".
  const button = h('button', { type: 'button', class: 'bell', 'aria-expanded': open ? 'true' : 'false', 'aria-controls': 'notifications-panel', 'data-testid': 'bell' },
    'Notifications', n ? h('span', { class: 'badge', 'data-testid': 'unread', 'data-count': n }, `${n} unread`) : null);
  button.addEventListener('click', () => {
    open = !open;
    if (open && items.length) localStorage.setItem(seenKey(s.address), String(items[0].id));
    renderBell();
    if (open) document.getElementById('notifications-panel')?.focus();
    else (document.querySelector('[data-testid="bell"]') as HTMLElement | null)?.focus();
  });
  const panel = open
    ? h('section', { id: 'notifications-panel', class: 'panel', tabindex: '-1', 'aria-labelledby': 'notifications-h', 'data-testid': 'notifications' },
        h('h2', { id: 'notifications-h' }, 'Notifications'),
        items.length
          ? h('ul', { class: 'notes' }, items.map((i) => h('li', { 'data-type': i.type, 'data-retracted': i.retracted ? 'true' : 'false' },
              i.retracted ? h('strong', {}, 'Retracted: ') : null,
              i.retracted ? h('s', {}, sentence(i)) : sentence(i),
              ' ',
              h('span', { class: 'muted' }, when(i.occurred_at)),
              i.agreement_id ? h('a', { href: `/agreements/${i.agreement_id}`, 'data-link': true, class: 'note-link' }, `Open agreement ${short(i.agreement_id)}`) : null)))
          : h('p', { class: 'muted' }, 'Nothing yet: what happens to your agreements shows here as it happens.'))
    : null;
  box.replaceChildren(button, ...(panel ? [panel] : []));
}

/** Closes the panel (after navigating). */
export function closePanel() {
  if (!open) return;
  open = false;
  renderBell();
}
