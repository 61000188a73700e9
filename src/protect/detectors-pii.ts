/** Detectors for personal data and PHI identifiers: cards, SSNs, MRNs, e-mail addresses, phones. */
import type { DetectorSpec, Span } from './detector.js';
import { isInUrlUserinfo } from './url-context.js';

/** Luhn checksum over a string of digits. */
export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** US SSN ranges never issued: area 000, 666, 9xx; group 00; serial 0000. */
export function isValidSsn(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const area = digits.slice(0, 3);
  return area !== '000' && area !== '666' && area[0] !== '9' && digits.slice(3, 5) !== '00' && digits.slice(5) !== '0000';
}

interface DigitGroup {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
  /** The separator before this group ('' for the first of a run). */
  readonly sep: string;
}

const DIGIT_RUN = /(?<![\d.,])\d+(?:[ -]\d+)*(?![.,]?\d)/g;
const DIGIT_GROUP = /\d+/g;

/**
 * Printed card layouts: one block of 13–19 digits, or a 4-digit block, middle blocks of 4–6
 * and a last block of 1–6, all joined by the same separator.
 */
function hasCardLayout(groups: readonly DigitGroup[], from: number, to: number): boolean {
  if (from === to) return true;
  if (groups[from]!.digits.length !== 4) return false;
  const sep = groups[from + 1]!.sep;
  for (let k = from + 1; k <= to; k++) {
    const n = groups[k]!.digits.length;
    if (groups[k]!.sep !== sep || n > 6 || (k < to && n < 4)) return false;
  }
  return true;
}

/** Every window of groups that reads as a card; overlapping windows merge later, so no part of a card is left out. */
function findCardsInRun(groups: readonly DigitGroup[], out: Span[]): void {
  for (let i = 0; i < groups.length; i++) {
    let found = -1;
    let digits = '';
    for (let j = i; j < groups.length; j++) {
      digits += groups[j]!.digits;
      if (digits.length > 19) break;
      if (digits.length >= 13 && digits[0] !== '0' && hasCardLayout(groups, i, j) && isLuhnValid(digits)) found = j;
    }
    if (found >= 0) out.push({ start: groups[i]!.start, end: groups[found]!.end });
  }
}

/** Card numbers: 13–19 digits, optionally grouped by single spaces or dashes, Luhn-valid. */
export function findCards(text: string): Span[] {
  const out: Span[] = [];
  DIGIT_RUN.lastIndex = 0;
  for (let run = DIGIT_RUN.exec(text); run !== null; run = DIGIT_RUN.exec(text)) {
    if (run[0].length < 13 || run[0].replace(/\D/g, '').length < 13) continue;
    const groups: DigitGroup[] = [];
    DIGIT_GROUP.lastIndex = 0;
    for (let g = DIGIT_GROUP.exec(run[0]); g !== null; g = DIGIT_GROUP.exec(run[0])) {
      groups.push({ start: run.index + g.index, end: run.index + g.index + g[0].length, digits: g[0], sep: g.index > 0 ? run[0][g.index - 1]! : '' });
    }
    findCardsInRun(groups, out);
  }
  return out;
}

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_AT = /[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![A-Za-z0-9-])/y;

/** E-mail addresses, found from each `@`: the local part read backwards, the domain forwards. */
export function findEmails(text: string): Span[] {
  const out: Span[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    if (start === at || isInUrlUserinfo(text, start)) continue;
    DOMAIN_AT.lastIndex = at + 1;
    if (DOMAIN_AT.exec(text)) out.push({ start, end: DOMAIN_AT.lastIndex });
  }
  return out;
}

const ssnDigits = (m: RegExpExecArray): boolean => isValidSsn((m[1] ?? '').replace(/\D/g, ''));
const hasDigit = (m: RegExpExecArray): boolean => /\d/.test(m[1] ?? '');

export const PII_DETECTORS: readonly DetectorSpec[] = [
  {
    name: 'card',
    type: 'card',
    description: 'Payment card numbers: 13–19 digits, optionally grouped by spaces or dashes, Luhn-valid only',
    find: findCards,
  },
  {
    name: 'ssn',
    type: 'ssn',
    description: 'US SSNs written NNN-NN-NNNN, excluding never-issued ranges (area 000/666/9xx, group 00, serial 0000)',
    pattern: /(?<!\d|\d-)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d|-\d)/g,
  },
  {
    name: 'ssn-labeled',
    type: 'ssn',
    description: 'SSNs in any NNN NN NNNN / NNNNNNNNN form after a label (SSN, Social Security Number)',
    pattern: /(?<![A-Za-z])(?:ssn|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?)[ \t]*(?:#|no\.?|number)?[ \t]*[:=#]?[ \t]*(\d{3}[ -]?\d{2}[ -]?\d{4})(?!\d)/gi,
    groups: [1],
    validate: ssnDigits,
  },
  {
    name: 'mrn',
    type: 'mrn',
    description: 'Medical record numbers after a label (MRN, MRN#, MR#, Medical Record Number); the identifier must contain a digit',
    pattern: /(?<![A-Za-z0-9])(?:mrn(?![A-Za-z])|mr#|medical[ \t]+record(?:[ \t]+(?:number|num|no\.?))?)[ \t]*(?:#|no\.?|number)?[ \t]*[:=#]?[ \t]*([A-Za-z0-9][A-Za-z0-9-]{2,39})(?![A-Za-z0-9-])/gi,
    groups: [1],
    validate: hasDigit,
  },
  {
    name: 'email',
    type: 'email',
    description: 'E-mail addresses (not the user:password@ part of a URL)',
    find: findEmails,
  },
  {
    name: 'phone-nanp',
    type: 'phone',
    description: 'US/NANP phone numbers with separators or parentheses, optional +1; not a bare 10-digit run, not inside a longer dash/dot-joined number',
    pattern: /(?<![A-Za-z0-9_+]|\d[.-])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![A-Za-z0-9_]|[.-]\d)/g,
  },
  {
    name: 'phone-e164',
    type: 'phone',
    description: 'International numbers with a leading + (E.164, 8–15 digits, single spaces, dots or dashes allowed)',
    pattern: /(?<![A-Za-z0-9_+])\+[1-9](?:[ .-]?\d){7,14}(?!\d|[ .-]\d)/g,
  },
];
