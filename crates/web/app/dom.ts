// A tiny element builder: the app is a handful of forms and tables, so plain DOM keeps it small
// and lets screen readers see real labels, buttons and live regions.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

let ids = 0;
/** A unique id, to tie labels and descriptions to their inputs. */
export function uid(prefix: string): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled input (or select/textarea passed in), with an optional hint read by screen readers. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/** A live region for the state of one wallet request or transaction. */
export function statusBox(name: string): HTMLElement {
  return h('div', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-status': name });
}

export function setStatus(el: HTMLElement, state: string, ...content: Child[]) {
  el.dataset.state = state;
  el.replaceChildren();
  append(el, content);
}

/** Marks a field's control invalid with its message right under it (aria-invalid, and
 *  aria-describedby naming the message first, then the hint); `null` clears it. */
export function fieldError(control: HTMLElement, message: string | null) {
  const errId = `${control.id}-error`;
  const box = control.closest('.field');
  let err = document.getElementById(errId);
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== errId);
  if (message === null) {
    err?.remove();
    control.removeAttribute('aria-invalid');
    if (described.length) control.setAttribute('aria-describedby', described.join(' '));
    else control.removeAttribute('aria-describedby');
    return;
  }
  if (!err) {
    err = h('p', { id: errId, class: 'field-error', 'data-testid': 'field-error' });
    control.insertAdjacentElement('afterend', err);
  }
  err.textContent = message;
  control.setAttribute('aria-invalid', 'true');
  control.setAttribute('aria-describedby', [errId, ...described].join(' '));
  void box;
}
