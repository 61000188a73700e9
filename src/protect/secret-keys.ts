/**
 * Does a configuration key name look like it holds a secret (`DATABASE_PASSWORD`, `apiKey`,
 * `_authToken`, `SENTRY_DSN`)? The key is split into words (separators and camelCase) so
 * that `KEYBOARD`, `AUTHOR`, `monkey` or `max_tokens` do not count.
 */

const SECRET_WORDS = new Set([
  'key',
  'keys',
  'apikey',
  'secret',
  'secrets',
  'token',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'credential',
  'credentials',
  'creds',
  'auth',
  'authorization',
  'private',
  'privatekey',
  'dsn',
  'conn',
  'connstr',
  'pat',
  'cookie',
]);

/** Glued words: `DBPASSWORD`, `accesstoken`, `clientsecret`, `OLDPWD`. */
const SECRET_SUFFIX = /(?:secret|token|password|passwd|pwd|passphrase|apikey|privatekey|secretkey|accesskey)$/;

/** Phrases spread over several words: `CONNECTION_STRING`, `api_key`, `client-secret`. */
const SECRET_PHRASES = ['connectionstring', 'connstring', 'apikey', 'secretkey', 'accesskey', 'privatekey', 'clientsecret'];

const WORD_SPLIT = /[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/;

export function isSecretKey(key: string): boolean {
  for (const raw of key.split(WORD_SPLIT)) {
    const word = raw.toLowerCase();
    if (word === '') continue;
    if (SECRET_WORDS.has(word) || SECRET_SUFFIX.test(word)) return true;
  }
  const compact = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_PHRASES.some((phrase) => compact.includes(phrase));
}
