// Feedback beside the control the user pressed: progress ("Waiting for your wallet…", "Pending…")
// and the outcome (confirmed, refused, rejected, reverted) go into a live region placed right after
// that control, not into one box at the end of the page. When the page is redrawn after a
// confirmation, the scroll position is kept and the outcome is shown again beside the same control
// (or, if the action is no longer offered, at the head of its section) and receives the focus.
// While the action runs, its box is kept in sight (scrolled to, by the least needed, when its
// state changes out of view).

import { setStatus, statusBox } from './dom';

// The control last pressed: a button clicked (mouse, touch, Enter or Space) or a form's submitter
// (Enter in a field submits with the form's default button). Recorded before the app's own
// handlers run (capture phase), so an action started by that press knows where to report.
let pressed: HTMLElement | null = null;
document.addEventListener(
  'click',
  (e) => {
    const b = (e.target as HTMLElement | null)?.closest?.('button') as HTMLElement | null;
    if (b) pressed = b;
  },
  true,
);
document.addEventListener(
  'submit',
  (e) => {
    const sub = (e as SubmitEvent).submitter as HTMLElement | null;
    pressed = sub ?? ((e.target as HTMLFormElement).querySelector('button[type="submit"]') as HTMLElement | null) ?? pressed;
  },
  true,
);

/** The states after which nothing more happens: the outcome, which gets the focus. */
const OUTCOMES = ['confirmed', 'refused', 'rejected', 'reverted', 'error', 'wrong-network'];

/** Where a control's feedback goes: after its row of buttons if it sits in one, else after it. */
function anchorOf(control: HTMLElement): HTMLElement {
  return (control.closest('.actions') as HTMLElement | null) ?? control;
}

/** A control named so it can be found again in the redrawn page: its text and its card's heading. */
function keyOf(control: HTMLElement): { text: string; heading: string } {
  const card = control.closest('.card, section');
  const heading = card?.querySelector('h2, h3')?.textContent ?? '';
  return { text: (control.textContent ?? '').trim(), heading };
}

function findControl(root: HTMLElement, key: { text: string; heading: string }): HTMLElement | null {
  const same = Array.from(root.querySelectorAll('button')).filter((b) => (b.textContent ?? '').trim() === key.text);
  return same.find((b) => keyOf(b).heading === key.heading) ?? same[0] ?? null;
}

/** A feedback box that stays in sight: each time its state or text changes (waiting for the
 *  wallet, pending, the outcome), it is scrolled into view if it is not, by the least needed (the
 *  button's row sits at the bottom of a phone screen when pressed: its feedback is below it). */
function newBox(name: string): HTMLElement {
  const box = statusBox(name);
  new MutationObserver(() => {
    if (box.isConnected && !inView(box)) box.scrollIntoView({ block: 'nearest' });
  }).observe(box, { childList: true, characterData: true, subtree: true });
  return box;
}

function placeBox(name: string, control: HTMLElement): HTMLElement {
  // One feedback box per name at a time: an earlier action's outcome gives way to the new one.
  document.querySelectorAll(`[data-status="${name}"]`).forEach((el) => el.remove());
  const box = newBox(name);
  box.dataset.feedback = 'beside';
  box.tabIndex = -1;
  // Named by its control, so a live redraw (carryOver) can put it back beside the same one.
  const key = keyOf(control);
  box.dataset.controlText = key.text;
  box.dataset.controlHeading = key.heading;
  anchorOf(control).insertAdjacentElement('afterend', box);
  return box;
}

/**
 * Keeps the feedback shown in `root` across a redraw of it that the user did not ask for (a live
 * update): call before replacing `root`'s content, and call what it returns after. Each outcome
 * goes back beside the same control (or after the same heading), keeping the focus if it had it;
 * one whose control is gone is dropped with it.
 */
export function carryOver(root: HTMLElement): () => void {
  const focused = document.activeElement;
  const saved = Array.from(root.querySelectorAll<HTMLElement>('[data-feedback]'))
    .filter((b) => b.dataset.state)
    .map((box) => ({ box, focused: box === focused }));
  return () => {
    for (const { box, focused: hadFocus } of saved) {
      const text = box.dataset.controlText;
      const control = text ? findControl(root, { text, heading: box.dataset.controlHeading ?? '' }) : null;
      const anchor = control ? anchorOf(control) : box.dataset.anchorId ? document.getElementById(box.dataset.anchorId) : null;
      if (!anchor || !root.contains(anchor)) continue;
      root.querySelectorAll(`[data-status="${box.dataset.status}"]`).forEach((el) => el.remove());
      anchor.insertAdjacentElement('afterend', box);
      if (hadFocus) box.focus({ preventScroll: true });
    }
  };
}

function inView(el: HTMLElement): boolean {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight;
}

/** Shows the outcome in `box` and moves the focus there, scrolling only if it is out of sight. */
function settle(box: HTMLElement) {
  box.focus({ preventScroll: true });
  if (!inView(box)) box.scrollIntoView({ block: 'nearest' });
}

export interface Feedback {
  /** The live region beside the control (what sendAll and setStatus write into). */
  box: HTMLElement;
  /** Shows an outcome beside the control (or, with no arguments, the one already there, as
   *  sendAll leaves it) and focuses it. */
  done(state?: string, ...content: (Node | string)[]): void;
  /** Redraws the page with `redraw`, keeping the scroll position, then shows `state` and the
   *  box's last text again beside the same control (or at the head of `section` when the action
   *  is gone) and focuses it. */
  redrawn(redraw: () => Promise<void>, fallback: () => HTMLElement | null): Promise<void>;
}

/**
 * Starts the feedback of an action pressed just now: a live region named `name` (data-status)
 * right after the control pressed (or after `fallback` when no control was pressed).
 */
export function beside(name: string, fallback: HTMLElement): Feedback {
  const control = pressed && pressed.isConnected ? pressed : null;
  pressed = null;
  let box = control ? placeBox(name, control) : placeBox(name, fallback);
  const key = control ? keyOf(control) : null;
  return {
    get box() {
      return box;
    },
    done(state, ...content) {
      if (state) setStatus(box, state, ...content);
      if (OUTCOMES.includes(box.dataset.state ?? '')) settle(box);
    },
    async redrawn(redraw, fallbackAfter) {
      const state = box.dataset.state ?? 'confirmed';
      const text = box.textContent ?? '';
      const y = window.scrollY;
      const path = location.pathname;
      const main = document.getElementById('main');
      // Holding the page's height while it is redrawn keeps the browser from clamping the scroll
      // to the top while "Loading…" is all there is.
      const held = main ? main.style.minHeight : '';
      if (main) main.style.minHeight = `${main.offsetHeight}px`;
      try {
        await redraw();
      } finally {
        if (main) main.style.minHeight = held;
      }
      // The reader went elsewhere meanwhile: that page keeps its own place and focus.
      if (location.pathname !== path) return;
      window.scrollTo(0, y);
      const again = key && main ? findControl(main, key) : null;
      const where = again ?? fallbackAfter();
      if (!where) return;
      if (again) box = placeBox(name, again);
      else {
        document.querySelectorAll(`[data-status="${name}"]`).forEach((el) => el.remove());
        box = newBox(name);
        box.dataset.feedback = 'section';
        box.tabIndex = -1;
        if (where.id) box.dataset.anchorId = where.id;
        where.insertAdjacentElement('afterend', box);
      }
      setStatus(box, state, text);
      settle(box);
    },
  };
}
