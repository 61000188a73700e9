/** JSON Web Tokens: base64url segments joined by dots, the header starting `eyJ` (`{"`). */
import type { DetectorSpec } from '../detector.js';

export const jwt: DetectorSpec = {
  id: 'jwt',
  type: 'jwt',
  basis: 'prefix',
  description: 'JSON Web Tokens (JWS and JWE): base64url segments joined by dots, starting with eyJ',
  keywords: ['eyj'],
  pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{4,65536}\.[A-Za-z0-9_-]{0,8192}(?:\.[A-Za-z0-9_-]{1,65536}){0,2}/,
  examples: {
    positive: [
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    ],
    negative: ['eyJ is how a JSON header starts; a.b.c is not a token'],
  },
};
