/** Contact details: e-mail addresses and phone numbers (North American and international). */
import type { DetectorSpec, Span } from '../detector.js';
import { isInUrlUserinfo } from '../url-context.js';

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_AT = /[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/y;

/** E-mail addresses, found from each `@`: the local part read backwards (64 at most), the domain forwards. */
export function findEmails(text: string): Span[] {
  const out: Span[] = [];
  let lastEnd = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > lastEnd && at - start < 64 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    if (start === at || isInUrlUserinfo(text, start)) continue;
    DOMAIN_AT.lastIndex = at + 1;
    if (DOMAIN_AT.exec(text)) {
      out.push({ start, end: DOMAIN_AT.lastIndex });
      lastEnd = DOMAIN_AT.lastIndex;
    }
  }
  return out;
}

export const email: DetectorSpec = {
  id: 'email',
  type: 'email',
  basis: 'structure',
  description: 'E-mail addresses (not the user:password@ part of a URL)',
  keywords: ['@'],
  mode: 'gate',
  find: findEmails,
  examples: {
    positive: [
      ['mail jane.doe+tag@example.co.uk now', 'jane.doe+tag@example.co.uk'],
      ['mailto:bob@example.com', 'bob@example.com'],
    ],
    negative: ['user@localhost has no domain', 'npm i @scope/pkg@1.2.3'],
  },
};

export const phoneNanp: DetectorSpec = {
  id: 'phone-nanp',
  type: 'phone',
  basis: 'structure',
  description: 'US/NANP phone numbers with separators or parentheses, optional +1; not a bare 10-digit run, not inside a longer dash/dot-joined number',
  pattern: /(?<![A-Za-z0-9_+]|\d[.-])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![A-Za-z0-9_]|[.-]\d)/,
  examples: {
    positive: [['call (415) 555-0100 now', '(415) 555-0100'], '+1 415-555-0100', '1-800-555-0199', '415.555.0100'],
    negative: ['the id 4155550100 appears in prose', 'version 2024-05-01', 'account 415-555-0100-7788'],
  },
};

export const phoneInternational: DetectorSpec = {
  id: 'phone-international',
  type: 'phone',
  basis: 'structure',
  description: 'International numbers with a leading + (E.164, 8–15 digits; single spaces, dots, dashes or a (0) trunk prefix allowed)',
  keywords: ['+'],
  mode: 'gate',
  pattern: /(?<![A-Za-z0-9_+])\+[1-9](?:[ .-]?(?:\(0\)[ .-]?)?\d){7,14}(?!\d|[ .-]\d)/,
  examples: { positive: [['London +44 20 7946 0958.', '+44 20 7946 0958'], '+14155550100', '+49 (0)30 1234 5678'], negative: ['a+b=c', 'C++ 17'] },
};
