// Words for people: token amounts in units, times in the reader's time zone, durations in days,
// and the escrow's errors as sentences.

import { formatUnits } from 'viem';
import type { TokenInfo } from './api';

export function tokenOf(tokens: TokenInfo[], address: string): TokenInfo {
  return (
    tokens.find((t) => t.address.toLowerCase() === address.toLowerCase()) ?? {
      address: address as `0x${string}`,
      symbol: null,
      decimals: null,
    }
  );
}

/** An amount in the token's smallest unit (decimal or 0x string, or bigint) in token units. */
export function amount(raw: string | bigint | number, token: TokenInfo): string {
  const v = BigInt(raw);
  if (token.decimals === null) return `${v} (smallest units of token ${token.address})`;
  return `${formatUnits(v, token.decimals)} ${token.symbol ?? 'tokens'}`;
}

/** The reader's time zone, by name (e.g. "Europe/London"), as the browser reports it. */
export function zoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/**
 * Unix seconds as a date and time in the reader's time zone, the zone always said, e.g.
 * "Tue, 8 Dec 2026, 14:00 GMT" or "Sat, 12 Dec 2026, 14:00 CET". Every date and time the app
 * shows goes through here.
 */
export function when(unix: number | string | bigint): string {
  const d = new Date(Number(BigInt(unix)) * 1000);
  return d.toLocaleString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
}

/** The separators of the reader's locale: the decimal mark and the digit-grouping mark. */
function separators(locale?: string): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(locale, { useGrouping: true }).formatToParts(1234567.5);
  return {
    decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.',
    group: parts.find((p) => p.type === 'group')?.value ?? ',',
  };
}

/**
 * An amount typed by a person, in token units, as the token's smallest unit; or a sentence saying
 * why not. Grouping marks are accepted where they cannot be misread: spaces (also no-break ones)
 * and apostrophes always group thousands; "," or "." group when used more than once, when both
 * appear (the last one is then the decimal mark), or when the reader's locale groups with it and
 * exactly three digits follow ("1,000" in English is 1000). A mark that could be either, such as
 * "1,5" where "," groups thousands, is refused rather than guessed.
 */
export function parseAmount(input: string, decimals: number | null, symbol: string | null, locale?: string): { value: bigint } | { error: string } {
  const raw = input.trim();
  const unit = symbol ?? 'token units';
  if (!raw) return { error: 'Give an amount.' };
  if (/^[-\u2212]/.test(raw)) return { error: 'An amount cannot be negative.' };
  const { decimal: locDec, group: locGroup } = separators(locale);
  // Spaces (incl. U+00A0 and U+202F) and apostrophes only ever group digits.
  const spaced = /[\s\u00a0\u202f'\u2019]/.test(raw);
  let s = raw;
  if (!/^[0-9.,\s\u00a0\u202f'\u2019]+$/.test(s)) return { error: `"${raw}" is not an amount: use digits, with a decimal point if needed (for example 150 or 12.5).` };
  const groupsOk = (intPart: string, sep: RegExp) => {
    const chunks = intPart.split(sep);
    return chunks.length === 1 || (/^[0-9]{1,3}$/.test(chunks[0]) && chunks.slice(1).every((c) => /^[0-9]{3}$/.test(c)));
  };
  const badGroups = `"${raw}" is not an amount: digit groups must have three digits (for example 1,000 or 1 000).`;
  const commas = (s.match(/,/g) ?? []).length;
  const dots = (s.match(/\./g) ?? []).length;
  let intPart: string;
  let frac = '';
  let decimalMark: string | null = null;
  if (commas && dots) {
    // Both: the last one is the decimal mark, and it appears once.
    decimalMark = s.lastIndexOf(',') > s.lastIndexOf('.') ? ',' : '.';
    const groupMark = decimalMark === ',' ? '.' : ',';
    if ((decimalMark === ',' ? commas : dots) !== 1) return { error: badGroups };
    [intPart, frac] = s.split(decimalMark);
    if (spaced) return { error: badGroups };
    if (!groupsOk(intPart, new RegExp(`\\${groupMark}`))) return { error: badGroups };
    intPart = intPart.split(groupMark).join('');
  } else if (commas || dots) {
    const mark = commas ? ',' : '.';
    const count = commas || dots;
    const [head, ...rest] = s.split(mark);
    if (count > 1) {
      // Used more than once: it groups thousands.
      if (!groupsOk(s.replace(/[\s\u00a0\u202f'\u2019]/g, mark), new RegExp(`\\${mark}`))) return { error: badGroups };
      intPart = s.split(mark).join('');
    } else {
      const tail = rest[0];
      const n = String(BigInt(head.replace(/[^0-9]/g, '') || '0'));
      // Three digits after a single mark, after a whole part that could start a grouped number.
      const groupLike = /^[0-9]{3}$/.test(tail) && /^[1-9][0-9]{0,2}$/.test(head.split(/[\s\u00a0\u202f'\u2019]/).pop() ?? '');
      const dec = locDec === ',' ? ',' : '.';
      if (mark === locGroup && groupLike) {
        intPart = head + tail;
      } else if (mark === locGroup) {
        return { error: `"${raw}" is ambiguous: "${mark}" groups thousands here, so it cannot mark decimals. Write ${n}${dec === mark ? '.' : dec}${tail} for a fraction, or ${BigInt(n + tail)} for a whole number.` };
      } else if (!groupLike) {
        [intPart, frac] = [head, tail];
        decimalMark = mark;
      } else {
        return { error: `"${raw}" is ambiguous: "${mark}" followed by three digits could group thousands or mark decimals. Write ${BigInt(n + tail)} for a whole number, or ${tail.replace(/0+$/, '') ? `${n}${mark}${tail.replace(/0+$/, '')}` : n} for a fraction.` };
      }
    }
  } else {
    intPart = s;
  }
  // Spaces and apostrophes in the whole part: thousands groups.
  if (spaced) {
    if (!groupsOk(intPart, /[\s\u00a0\u202f'\u2019]/)) return { error: badGroups };
    intPart = intPart.replace(/[\s\u00a0\u202f'\u2019]/g, '');
  }
  if (/[^0-9]/.test(frac)) return { error: `"${raw}" is not an amount: no grouping after the decimal mark.` };
  if (intPart === '' && frac === '') return { error: `"${raw}" is not an amount.` };
  if (decimalMark && frac === '') return { error: `"${raw}" is not an amount: give digits after the decimal mark.` };
  if (!/^[0-9]*$/.test(intPart)) return { error: badGroups };
  if (decimals === null) {
    if (frac) return { error: `This token's decimals are unknown: give a whole number of its smallest unit.` };
    return { value: BigInt(intPart || '0') };
  }
  if (frac.length > decimals) return { error: `${unit} has ${decimals} decimal${decimals === 1 ? '' : 's'}: "${raw}" has ${frac.length} digits after the decimal mark.` };
  const value = BigInt((intPart || '0') + frac.padEnd(decimals, '0'));
  if (value === 0n) return { error: 'An amount must be more than zero.' };
  return { value };
}

/** Seconds as "3 days", "12 hours", "1 day 6 hours". */
export function duration(seconds: number | string | bigint): string {
  let s = Number(BigInt(seconds));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  const parts = [];
  if (days) parts.push(`${days} day${days === 1 ? '' : 's'}`);
  if (hours) parts.push(`${hours} hour${hours === 1 ? '' : 's'}`);
  if (!parts.length) parts.push(`${Math.max(1, Math.round(s / 60))} minutes`);
  return parts.join(' ');
}

export function short(addr: string): string {
  return `${addr.slice(0, 6)}…${addr.slice(-4)}`;
}

const MILESTONE_STATUS = [
  'open',
  'submitted',
  'revision requested',
  'disputed',
  'approved',
  'claimed',
  'reclaimed',
  'resolved',
  'timed out',
  'settled',
  'cancelled',
];
const AGREEMENT_STATUS = ['none', 'active', 'terminating', 'completed', 'terminated', 'revoked', 'closing'];

/** The escrow's custom errors as sentences (the same reasons the API gives). */
export function explainEscrowError(name: string, args: readonly unknown[]): string {
  const t = (x: unknown) => when(x as bigint);
  switch (name) {
    case 'Escrow_ReviewWindowOpen':
      return `the review window is still open until ${t(args[1] ?? args[0])}`;
    case 'Escrow_ReviewWindowClosed':
      return `the review window has closed`;
    case 'Escrow_DeadlinePassed':
      return `the delivery deadline has passed`;
    case 'Escrow_DeadlineNotPassed':
      return `the delivery deadline has not passed yet`;
    case 'Escrow_ContestWindowOpen':
      return `the other party may still contest the termination`;
    case 'Escrow_ContestWindowClosed':
      return `the contest window has closed`;
    case 'Escrow_Unauthorized':
      return `this account may not take this action on this agreement`;
    case 'Escrow_WrongStatus':
      return `the agreement is ${AGREEMENT_STATUS[Number(args[args.length - 1])] ?? 'in another state'}; this action is not possible now`;
    case 'Escrow_WrongMilestoneStatus':
      return `the milestone is ${MILESTONE_STATUS[Number(args[args.length - 1])] ?? 'in another state'}; this action is not possible now`;
    case 'Escrow_NothingToWithdraw':
      return `there is nothing to withdraw`;
    case 'Escrow_AlreadyExists':
      return `this agreement is already on chain`;
    case 'Escrow_SignatureExpired':
      return `the signatures have expired`;
    case 'Escrow_InvalidSignature':
      return `a signature is not valid for this agreement`;
    case 'Escrow_WrongValue':
      return `the amount of ETH sent is not what the agreement needs`;
    case 'Escrow_FundingShortfall':
      return `the token delivered less than the agreement needs`;
    case 'Escrow_ArbitrationWindowClosed':
      return `the arbiter's window to rule closed at ${t(args[0])}; either party may now split it evenly`;
    case 'Escrow_NoRevisionsLeft':
      return `no revision rounds left for milestone ${Number(args[0]) + 1}: all ${args[1]} are used; approve it or dispute it`;
    case 'Escrow_StaleNonce':
      return `the agreement changed since this was signed (nonce ${args[0]}, now ${args[1]}): both parties must sign again`;
    case 'Escrow_WrongFirstMilestone':
      return `funding must start at milestone ${Number(args[1]) + 1}, the next unfunded one`;
    case 'Escrow_InvalidWindow':
      return `a window of ${args[0]} seconds is outside one hour to 90 days`;
    case 'Escrow_InvalidDeadline':
      return `milestone ${Number(args[0]) + 1}'s deadline is past or more than five years away`;
    case 'Escrow_TooManyRevisionRounds':
      return `${args[0]} revision rounds is more than the 10 allowed`;
    case 'Escrow_RecipientIsEscrow':
      return `withdraw to an address other than the escrow`;
    default:
      return `the escrow refused (${name})`;
  }
}

// ---------------------------------------------------------------- terms clauses in words

/** Who owns the content (`intellectual_property.owner`), as a sentence for the reader. */
export function ownerWords(owner: string, creatorWord: string, youAreCreator: boolean): string {
  switch (owner) {
    case 'creator':
      return `${cap(creatorWord)} keep${youAreCreator ? '' : 's'} ownership of the content and license${youAreCreator ? '' : 's'} it to the brand.`;
    case 'brand':
      return 'The brand owns the content once it is made.';
    case 'joint':
      return `The brand and ${creatorWord} own the content jointly.`;
    default:
      return `Ownership of the content: ${owner}.`;
  }
}

/** Whether AI-generated content is allowed (`ai_use.generated_content`), as a sentence. */
export function aiWords(generated: string): string {
  switch (generated) {
    case 'not_allowed':
      return 'AI-generated content is not allowed in the deliverables.';
    case 'allowed_with_disclosure':
      return 'AI-generated content is allowed, but it must be disclosed as AI-generated.';
    case 'allowed':
      return 'AI-generated content is allowed without a special label.';
    default:
      return `AI-generated content: ${generated}.`;
  }
}

/** "3 rounds", "1 day": a count with its noun. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The labels a regulator's rule accepts when the terms list none for it: the same table as
 *  `default_labels` in crates/core/src/disclosure.rs (a test there reads this one), so what the
 *  parties read is what the check enforces. */
export const DEFAULT_DISCLOSURE_LABELS: Record<string, string[]> = {
  FTC: ['#ad', '#sponsored', '#paidpartnership'],
  ASA: ['#ad', 'ad:'],
  ACCC: ['#ad', '#sponsored', '#advertisement'],
};

/** The disclosure duty of one rule of the terms, in words: exactly the labels the check
 *  accepts (the terms' own, or the regulator's defaults when they list none). */
export function disclosureWords(rule: { rule: string; required_labels?: string[] }): string {
  const own = rule.required_labels ?? [];
  const labels = own.length ? own : DEFAULT_DISCLOSURE_LABELS[rule.rule.toUpperCase()] ?? ['#ad'];
  const which = own.length ? '' : ` (the ${rule.rule} defaults: the terms list no labels of their own)`;
  return `every caption must carry one of ${labels.join(', ')}${which}. Only these count: a platform\u2019s own tag, such as Instagram\u2019s \u201cPaid partnership\u201d, counts only if listed here.`;
}
