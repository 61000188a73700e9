/** Detectors that run only on the output of a call classed `secret_file` (.env, credentials, .netrc). */
import { findLineAssignments } from '../assignments.js';
import type { DetectorSpec } from '../detector.js';

const notPlaceholder = (value: string): boolean => !/^<[^<>]*>$|^\$\{[^}]*\}$/.test(value.trim());

export const SECRET_FILE_DETECTORS: readonly DetectorSpec[] = [
  {
    id: 'secret-file-line',
    type: 'secret',
    basis: 'context',
    scope: 'secret_file',
    description:
      'In a secret file (.env, credentials…): the value of every KEY=value / KEY: value line, whatever the key (placeholders such as <REDACTED> and ${VAR} kept)',
    find: findLineAssignments(true, () => true, notPlaceholder),
    examples: { positive: [], negative: [] },
  },
  {
    id: 'secret-file-json',
    type: 'secret',
    basis: 'context',
    scope: 'secret_file',
    description: 'In a secret file: every "key": "value" string value (credentials.json, docker config.json)',
    pattern: /(["'])[^"'\r\n]{1,256}\1[ \t]*:[ \t]*"((?:[^"\\\r\n]|\\.)*)"/,
    groups: [2],
    mode: 'gate',
    keywords: ['"'],
    examples: { positive: [], negative: [] },
  },
  {
    id: 'secret-file-netrc',
    type: 'secret',
    basis: 'context',
    scope: 'secret_file',
    description: 'In a secret file: the word after login / password / account (.netrc)',
    keywords: ['password', 'passwd', 'login', 'account'],
    pattern: /(?<![A-Za-z0-9_])(?:password|passwd|login|account)[ \t]+(\S+)/,
    groups: [1],
    examples: { positive: [], negative: [] },
  },
];
