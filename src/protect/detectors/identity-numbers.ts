/** National and financial identifiers: SSNs, IBANs, passport numbers, IP addresses. */
import type { DetectorSpec, Span } from '../detector.js';
import { digitCount, isIbanValid, isValidSsn } from './checksums.js';

export const ssn: DetectorSpec = {
  id: 'ssn',
  type: 'ssn',
  basis: 'structure',
  description: 'US SSNs written NNN-NN-NNNN, excluding never-issued ranges (area 000/666/9xx, group 00, serial 0000)',
  pattern: /(?<!\d|\d-)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d|-\d)/,
  examples: {
    positive: [['SSN 123-45-6789.', '123-45-6789'], '078-05-1120'],
    negative: ['ssn 000-12-3456', '666-12-3456 900-12-3456 123-00-4567 123-45-0000', 'part 1123-45-67890 of a longer number'],
  },
};

export const ssnLabeled: DetectorSpec = {
  id: 'ssn-labeled',
  type: 'ssn',
  basis: 'context',
  description: 'SSNs in any NNN NN NNNN / NNNNNNNNN form after a label (SSN, Social Security Number)',
  keywords: ['ssn', 'social security'],
  pattern: /(?:ssn|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?)(?![A-Za-z])[ \t]*(?:#|no\.?|number)?[ \t]*[:=#]?[ \t]*(\d{3}[ -]?\d{2}[ -]?\d{4})(?!\d)/i,
  groups: [1],
  validate: (m, text) => isValidSsn((m[1] ?? '').replace(/\D/g, '')) && !/[A-Za-z0-9]/.test(text[m.index - 1] ?? ' '),
  examples: {
    positive: [
      ['SSN: 123456789', '123456789'],
      ['Social Security Number 234 56 7890', '234 56 7890'],
    ],
    negative: ['SSN: 000456789', 'a bare 123456789 is not an SSN'],
  },
};

export const iban: DetectorSpec = {
  id: 'iban',
  type: 'iban',
  basis: 'checksum',
  description: 'IBANs (ISO 13616): country code, check digits, country length, mod-97 = 1; bare or in groups of four',
  pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/,
  validate: (m) => isIbanValid(m[0]),
  examples: {
    positive: ['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000', ['IBAN: FR14 2004 1010 0505 0001 3M02 606', 'FR14 2004 1010 0505 0001 3M02 606']],
    negative: ['GB82 WEST 1234 5698 7654 33', 'AB12 CDEF GHIJ'],
  },
};

export const passport: DetectorSpec = {
  id: 'passport',
  type: 'passport',
  basis: 'context',
  description: 'Passport numbers after "passport" (6–9 letters/digits with at least 5 digits)',
  keywords: ['passport'],
  pattern: /passport(?:[ \t]+(?:no\.?|number|num|#|id))?[ \t]*[:#=]?[ \t]*([A-Z0-9]{6,9})(?![A-Za-z0-9])/i,
  groups: [1],
  validate: (m) => digitCount(m[1] ?? '') >= 5,
  examples: {
    positive: [
      ['Passport No: 533380006', '533380006'],
      ['passport number X1234567', 'X1234567'],
    ],
    negative: ['passport renewal is due', 'Passport photo attached'],
  },
};

const NOT_PERSONAL = /^(?:0\.0\.0\.0|127\.|255\.)/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isWord = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * Candidates around each occurrence of `sep`: the run of `inToken` characters it sits in, taken
 * whole (so `1.2.3.4.5` is one run, not an address), judged by `accept`. Linear: runs never overlap.
 */
function findRuns(text: string, sep: string, inToken: (c: number) => boolean, accept: (run: string, start: number) => boolean): Span[] {
  const out: Span[] = [];
  let done = 0;
  for (let at = text.indexOf(sep); at >= 0; at = text.indexOf(sep, Math.max(at + 1, done))) {
    if (at < done) continue;
    let start = at;
    while (start > 0 && at - start < 64 && inToken(text.charCodeAt(start - 1))) start--;
    let end = at + 1;
    while (end < text.length && end - start < 128 && inToken(text.charCodeAt(end))) end++;
    done = end;
    // Runs glued to letters or a further dot (a hostname, a version) are not addresses.
    if ((start > 0 && isWord(text.charCodeAt(start - 1))) || (end < text.length && isWord(text.charCodeAt(end)))) continue;
    let trimmed = end;
    while (trimmed > start && (text[trimmed - 1] === sep || text[trimmed - 1] === '.')) trimmed--;
    if (accept(text.slice(start, trimmed), start)) out.push({ start, end: trimmed });
  }
  return out;
}

const isV4Char = (c: number): boolean => isDigit(c) || c === 46;
const VERSION_WORD = /(?<![A-Za-z])(?:version|ver\.?|release|v)[ \t]*$/i;
/** `version 1.2.3.4`, `v1.2.3.4` on the same line (a word that only ends in v, such as `dev`, does not count). */
const afterVersionWord = (text: string, start: number): boolean => VERSION_WORD.test(text.slice(Math.max(0, start - 10), start));

export const ipv4: DetectorSpec = {
  id: 'ipv4',
  type: 'ip',
  basis: 'structure',
  description: 'IPv4 addresses (not loopback 127/8, 0.0.0.0 or netmasks 255.x; not after "version"/"v")',
  find: (text) => findRuns(text, '.', isV4Char, (run, start) => IPV4.test(run) && !NOT_PERSONAL.test(run) && !afterVersionWord(text, start)),
  examples: {
    positive: [['client 203.0.113.45 connected', '203.0.113.45'], '10.1.22.7'],
    negative: ['listen on 127.0.0.1', 'version 1.2.3.4', 'pi is 3.14159', 'netmask 255.255.255.0', '1.2.3.4.5'],
  },
};

/** Strict IPv6 shape: at most one `::`, 1–4 hex per group, 8 groups without `::`, at least 3 groups with it. */
function isIpv6(s: string): boolean {
  // Either form holds at least three colons (`a::b:c`); most runs around a colon (times, `key:`) do not.
  let colons = 0;
  for (let at = s.indexOf(':'); at >= 0 && colons < 3; at = s.indexOf(':', at + 1)) colons++;
  if (colons < 3) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  if (halves.length === 1) return groups.length === 8;
  return groups.length >= 3 && groups.length <= 7 && groups.some((g) => /\d/.test(g));
}

const isV6Char = (c: number): boolean => isHex(c) || c === 58;

export const ipv6: DetectorSpec = {
  id: 'ipv6',
  type: 'ip',
  basis: 'structure',
  description: 'IPv6 addresses (8 groups, or compressed with :: and at least 3 groups; not ::1)',
  keywords: [':'],
  mode: 'gate',
  find: (text) => findRuns(text, ':', isV6Char, (run) => isIpv6(run)),
  examples: {
    positive: ['2001:db8:85a3::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329'],
    negative: ['time 12:30:45', 'std::vector::push_back', 'loopback ::1', 'mac aa:bb:cc'],
  },
};
