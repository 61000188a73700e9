/** Detectors for credentials: provider keys, tokens, PEM blocks, JWTs and `KEY=value` assignments. */
import { findInlineAssignments, findLineAssignments, SEP } from './assignments.js';
import type { KeyTest } from './assignments.js';
import type { DetectorSpec } from './detector.js';
import { isSecretKey } from './secret-keys.js';
import { isInUrlUserinfo } from './url-context.js';

/** `scheme://token:pw@host` is the url-credentials detector's, which keeps the host. */
const secretKeyOutsideUrl: KeyTest = (key, text, index) => isSecretKey(key) && !isInUrlUserinfo(text, index);
const anyKey: KeyTest = () => true;
const hasDigitOrIsLong = (m: RegExpExecArray): boolean => {
  const token = m[1] ?? '';
  return /\d/.test(token) || token.length >= 32;
};

/** Checked in this order: earlier detectors win the marker type when spans overlap. */
export const SECRET_DETECTORS: readonly DetectorSpec[] = [
  {
    name: 'pem-private-key',
    type: 'private_key',
    description: 'PEM private key blocks (RSA, EC, DSA, OPENSSH, PKCS#8, ENCRYPTED, PGP), the whole block; an unterminated block runs to the end of the text',
    pattern: /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  {
    name: 'jwt',
    type: 'jwt',
    description: 'JSON Web Tokens: base64url segments joined by dots, starting with eyJ',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}/g,
  },
  {
    name: 'aws-access-key-id',
    type: 'secret',
    description: 'AWS access key ids (AKIA, ASIA, ABIA, ACCA followed by 16 characters)',
    pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g,
  },
  {
    name: 'aws-secret-access-key',
    type: 'secret',
    description: 'AWS secret access keys (40 characters) after aws_secret_access_key / SecretAccessKey',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9_])(?:aws_?)?secret_?access_?key["']?${SEP}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`, 'gi'),
    groups: [1],
  },
  {
    name: 'gcp-api-key',
    type: 'secret',
    description: 'Google Cloud API keys (AIza followed by 35 characters)',
    pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  },
  {
    name: 'github-token',
    type: 'secret',
    description: 'GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
    pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
  },
  {
    name: 'slack-token',
    type: 'secret',
    description: 'Slack tokens (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-)',
    pattern: /(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}/g,
  },
  {
    name: 'stripe-key',
    type: 'secret',
    description: 'Stripe secret and restricted keys (sk_live_, sk_test_, rk_live_, rk_test_)',
    pattern: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g,
  },
  {
    name: 'llm-api-key',
    type: 'secret',
    description: 'OpenAI and Anthropic style API keys (sk-…, sk-proj-…, sk-ant-…), at least 20 characters after sk-',
    pattern: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g,
  },
  {
    name: 'bearer-token',
    type: 'secret',
    description: 'The credential after "Bearer " (12+ characters with a digit, or 32+ characters)',
    pattern: /(?<![A-Za-z0-9])bearer[ \t]+([A-Za-z0-9\-._~+/]{12,}=*)/gi,
    groups: [1],
    validate: hasDigitOrIsLong,
  },
  {
    name: 'url-credentials',
    type: 'secret',
    description: 'user:password in URLs (scheme://user:pass@host); scheme and host are kept',
    pattern: /:(?<=[A-Za-z0-9]:)\/\/([^\s:@/?#[\]]*:[^\s/?#]*)@/g,
    groups: [1],
  },
  {
    name: 'secret-assignment',
    type: 'secret',
    description: 'The value of KEY=value / KEY: value / "key": "value" anywhere, when KEY looks secret (password, token, secret, api key, auth, dsn…)',
    find: findInlineAssignments(secretKeyOutsideUrl),
  },
  {
    name: 'secret-assignment-line',
    type: 'secret',
    description: 'The rest of the line after KEY= / KEY: at the start of a line (export and YAML list prefixes allowed), when KEY looks secret',
    find: findLineAssignments(false, isSecretKey),
  },
  {
    name: 'secret-file-line',
    type: 'secret',
    scope: 'secret_file',
    description: 'In a secret file (.env, credentials…): the value of every KEY=value / KEY: value line, whatever the key',
    find: findLineAssignments(true, anyKey),
  },
  {
    name: 'secret-file-json',
    type: 'secret',
    scope: 'secret_file',
    description: 'In a secret file: every "key": "value" string value (credentials.json, docker config.json)',
    pattern: /(["'])[^"'\r\n]+\1[ \t]*:[ \t]*"((?:[^"\\\r\n]|\\.)*)"/g,
    groups: [2],
  },
  {
    name: 'secret-file-netrc',
    type: 'secret',
    scope: 'secret_file',
    description: 'In a secret file: the word after login / password / account (.netrc)',
    pattern: /(?<![A-Za-z0-9_])(?:password|passwd|login|account)[ \t]+(\S+)/g,
    groups: [1],
  },
];
