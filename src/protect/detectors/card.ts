/**
 * Payment card numbers: 12–19 digits, bare or printed in groups, on word boundaries, in a
 * published issuer range (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro)
 * with the length that range issues, and Luhn-valid. Digits inside git SHAs, UUIDs, decimals
 * or longer numbers are not cards.
 */
import type { DetectorSpec, Span } from '../detector.js';
import { isLuhnValid } from './checksums.js';

interface DigitGroup {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
  /** The separator before this group ('' for the first of a run). */
  readonly sep: string;
}

const DIGIT_RUN = /(?<![\d.,A-Za-z_]|[A-Za-z0-9]-)\d{1,19}(?:[ -]\d{1,19}){0,8}(?![.,]?\d|[A-Za-z_]|-[A-Za-z0-9])/g;
const DIGIT_GROUP = /\d+/g;

/** Issuer ranges and the lengths each issues (ISO/IEC 7812 assignments as the networks publish them). */
export function isIssuerRange(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19; // Discover
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39 || p4 === 3095) return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4)) return n >= 12 && n <= 19; // Maestro
  return false;
}

/** Printed layouts: one block, or a 4-digit first block, middle blocks of 4–6 and a last of 1–6, one separator kind. */
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

/**
 * Twelve digits with at most one space or dash between two: every card holds it, few lines do.
 * Tried only where such a chain of digits starts (a shape inside a chain means one at its start,
 * on the same line), so a long run of short numbers is not tried at every digit.
 */
const CARD_SHAPE = /(?<!\d[ -]?)\d(?:[ -]?\d){11}/g;

/**
 * Whole runs only: a card is the entire digit run (so part of a longer number never reads as a card).
 * Only lines holding the card shape are read: a digit run never crosses a line, so a scan from
 * the line's start finds the runs a scan of the whole text finds there.
 */
export function findCards(text: string): Span[] {
  const out: Span[] = [];
  CARD_SHAPE.lastIndex = 0;
  for (let shape = CARD_SHAPE.exec(text); shape !== null; shape = CARD_SHAPE.exec(text)) {
    let lineEnd = text.indexOf('\n', shape.index);
    if (lineEnd < 0) lineEnd = text.length;
    const lineStart = text.lastIndexOf('\n', shape.index) + 1;
    findCardsInLine(text.slice(lineStart, lineEnd), lineStart, out);
    CARD_SHAPE.lastIndex = lineEnd;
  }
  return out;
}

/** The cards of one line (its look-arounds see the line's ends as the text's), offsets shifted by `shift`. */
function findCardsInLine(line: string, shift: number, out: Span[]): void {
  DIGIT_RUN.lastIndex = 0;
  for (let run = DIGIT_RUN.exec(line); run !== null; run = DIGIT_RUN.exec(line)) {
    if (run[0].length < 12) continue;
    const groups: DigitGroup[] = [];
    const at = shift + run.index;
    DIGIT_GROUP.lastIndex = 0;
    for (let g = DIGIT_GROUP.exec(run[0]); g !== null; g = DIGIT_GROUP.exec(run[0])) {
      groups.push({ start: at + g.index, end: at + g.index + g[0].length, digits: g[0], sep: g.index > 0 ? run[0][g.index - 1]! : '' });
    }
    findCardsInRun(groups, out);
  }
}

/** Windows of a run that read as a card (a card printed after other numbers on the same line); the longest wins. */
function findCardsInRun(groups: readonly DigitGroup[], out: Span[]): void {
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    let found = -1;
    for (let j = i; j < groups.length; j++) {
      digits += groups[j]!.digits;
      if (digits.length > 19) break;
      if (digits.length >= 12 && hasCardLayout(groups, i, j) && isIssuerRange(digits) && isLuhnValid(digits)) found = j;
    }
    if (found >= 0) {
      out.push({ start: groups[i]!.start, end: groups[found]!.end });
      i = found;
    }
  }
}

export const card: DetectorSpec = {
  id: 'card',
  type: 'card',
  basis: 'checksum',
  description:
    'Payment card numbers: issuer range and length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro), Luhn-valid, on word boundaries, bare or grouped by spaces or dashes',
  find: findCards,
  examples: {
    positive: [
      ['card 4111 1111 1111 1111 exp', '4111 1111 1111 1111'],
      ['amex 3782-822463-10005', '3782-822463-10005'],
      '5555555555554444',
      '4222 2222 2222 2',
    ],
    negative: [
      'Luhn-invalid 4111 1111 1111 1112',
      'order 12345678901234567890123 ref',
      'amount 4111111111111111.50',
      'commit a4111111111111111b',
      'id 550e8400-e29b-41d4-a716-446655440000',
      'not an issuer 1234567812345670',
      'sha 3b18e512dba79e4c8300dd08aeb37f8e728b8dad',
    ],
  },
};
