/**
 * Generic `KEY = value` secrets (`.env`, YAML, JSON text, query strings, headers): the key must
 * look secret (secret-keys.ts), and the value must pass the stop rules (placeholders, variable
 * references, masks, documented examples) and an entropy bar set by how strongly the key
 * suggests a secret. `password: <REDACTED>`, `token = os.environ["GITHUB_TOKEN"]`,
 * `max_tokens: 100` and `primary_key: id` stay as they are.
 */
import { findInlineAssignments, findLineAssignments } from '../assignments.js';
import type { KeyTest, ValueTest } from '../assignments.js';
import type { DetectorSpec } from '../detector.js';
import { secretKeyStrength } from '../secret-keys.js';
import { isInUrlUserinfo } from '../url-context.js';
import { shannonEntropy } from './checksums.js';
import { isPlaceholder } from './placeholders.js';

/** `scheme://token:pw@host` is the url-credentials detector's, which keeps the host. */
const secretKeyOutsideUrl: KeyTest = (key, text, index) => secretKeyStrength(key) !== undefined && !isInUrlUserinfo(text, index);
const secretKey: KeyTest = (key) => secretKeyStrength(key) !== undefined;

/** Is this value, under this key, a secret? */
export const looksLikeSecretValue: ValueTest = (raw, key, next) => {
  if (next === '(') return false; // password = getPassword()
  const value = raw.trim().replace(/^(?:Bearer|Basic|Token|Digest|Negotiate)[ \t]+/i, '');
  if (isPlaceholder(value, key)) return false;
  const strength = secretKeyStrength(key);
  if (strength === 'strong') return value.length >= 4;
  const entropy = shannonEntropy(value);
  if (strength === 'medium') return value.length >= 8 && (/\d/.test(value) || entropy >= 3 || value.length >= 16);
  return value.length >= 16 && !/\s/.test(value) && /\d/.test(value) && /[A-Za-z]/.test(value) && entropy >= 3.5;
};

const POSITIVE: DetectorSpec['examples']['positive'] = [
  ['DATABASE_PASSWORD=hunter2-not-real', 'hunter2-not-real'],
  ['export API_KEY="a quoted value"', 'a quoted value'],
  ["client_secret: 'abc def'", 'abc def'],
  ['see ?access_token=abc123def456&page=2', 'abc123def456'],
  ['{"apiKey":"k-12345678","user":"alice"}', 'k-12345678'],
  ['  Authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
  ['SENTRY_DSN=https://abc@o1.ingest.sentry.io/1', 'abc@o1'],
  ['Server=db;Database=app;User Id=sa;Password=Pa55w0rd!;', 'Pa55w0rd!'],
];

const NEGATIVE = [
  'password: <REDACTED>',
  'token = os.environ["GITHUB_TOKEN"]',
  'const apiKey = process.env.API_KEY;',
  'API_KEY=${API_KEY}',
  'DB_PASSWORD=env:DB_PASSWORD',
  'secret: "{{ vault_secret }}"',
  'max_tokens: 100',
  'primary_key: id',
  'token_type: bearer',
  'if (password == null) return',
  'PASSWORD=""',
  'password = getPassword()',
  'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'password: ********',
];

/** Every key that secretKeyStrength accepts holds one of these (so a line without one has no secret key). */
const SECRET_KEY_PARTS = ['secret', 'pass', 'pwd', 'token', 'key', 'cred', 'auth', 'dsn', 'conn', 'cookie', 'private', 'pat'];

export const genericSecret: DetectorSpec = {
  id: 'generic-secret',
  type: 'secret',
  basis: 'context',
  description:
    'The value of KEY=value / KEY: value / "key": "value" anywhere, when KEY looks secret and the value is not a placeholder, reference or low-entropy word',
  keywords: SECRET_KEY_PARTS,
  mode: 'anchor',
  find: findInlineAssignments(secretKeyOutsideUrl, looksLikeSecretValue),
  examples: { positive: POSITIVE, negative: NEGATIVE },
};

export const genericSecretLine: DetectorSpec = {
  id: 'generic-secret-line',
  type: 'secret',
  basis: 'context',
  description:
    'The rest of the line after KEY= / KEY: at the start of a line (export and YAML list prefixes allowed), when KEY looks secret and the value passes the same rules',
  keywords: SECRET_KEY_PARTS,
  mode: 'anchor',
  find: findLineAssignments(false, secretKey, looksLikeSecretValue),
  examples: {
    positive: [['db_password: correct horse battery', 'correct horse battery']],
    negative: ['password: <REDACTED>', 'token = os.environ["GITHUB_TOKEN"]'],
  },
};
