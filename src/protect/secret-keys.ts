/**
 * Does a configuration key name look like it holds a secret (`DATABASE_PASSWORD`, `apiKey`,
 * `_authToken`, `SENTRY_DSN`), and how strongly? The key is split into words (separators and
 * camelCase) so that `KEYBOARD`, `AUTHOR`, `monkey` or `max_tokens` do not count.
 * `strong` keys (password, secret) hold a secret whatever its shape; `medium` ones (token,
 * api key, dsn) when the value is long enough; `weak` ones (key, auth) only for high-entropy values.
 */
import { remembered } from './memo.js';

export type KeyStrength = 'strong' | 'medium' | 'weak';

const WORDS: Readonly<Record<string, KeyStrength>> = {
  secret: 'strong',
  secrets: 'strong',
  password: 'strong',
  passwd: 'strong',
  pwd: 'strong',
  pass: 'strong',
  passphrase: 'strong',
  privatekey: 'strong',
  token: 'medium',
  apikey: 'medium',
  credential: 'medium',
  credentials: 'medium',
  creds: 'medium',
  authorization: 'medium',
  dsn: 'medium',
  connstr: 'medium',
  cookie: 'medium',
  key: 'weak',
  keys: 'weak',
  auth: 'weak',
  private: 'weak',
  conn: 'weak',
  pat: 'weak',
};

/** Glued words: `DBPASSWORD`, `accesstoken`, `clientsecret`, `OLDPWD`. */
const STRONG_SUFFIX = /(?:secret|password|passwd|pwd|passphrase|privatekey)$/;
const MEDIUM_SUFFIX = /(?:token|apikey|secretkey|accesskey)$/;

/** Phrases spread over several words: `CONNECTION_STRING`, `api_key`, `client-secret`. */
const PHRASES: ReadonlyArray<readonly [string, KeyStrength]> = [
  ['clientsecret', 'strong'],
  ['privatekey', 'strong'],
  ['secretkey', 'strong'],
  ['connectionstring', 'medium'],
  ['connstring', 'medium'],
  ['apikey', 'medium'],
  ['accesskey', 'medium'],
];

const WORD_SPLIT = /[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/;
const RANK: Readonly<Record<KeyStrength, number>> = { strong: 3, medium: 2, weak: 1 };

const stronger = (a: KeyStrength | undefined, b: KeyStrength | undefined): KeyStrength | undefined =>
  a === undefined ? b : b === undefined ? a : RANK[a] >= RANK[b] ? a : b;

/** How strongly a key name suggests a secret value; undefined when it does not (memoised: keys repeat). */
export const secretKeyStrength: (key: string) => KeyStrength | undefined = remembered((key) => judgeKey(key));

function judgeKey(key: string): KeyStrength | undefined {
  let best: KeyStrength | undefined;
  for (const raw of key.split(WORD_SPLIT)) {
    const word = raw.toLowerCase();
    if (word === '') continue;
    best = stronger(best, WORDS[word]);
    if (STRONG_SUFFIX.test(word)) best = 'strong';
    else if (MEDIUM_SUFFIX.test(word)) best = stronger(best, 'medium');
  }
  const compact = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const [phrase, strength] of PHRASES) if (compact.includes(phrase)) best = stronger(best, strength);
  return best;
}

export function isSecretKey(key: string): boolean {
  return secretKeyStrength(key) !== undefined;
}
