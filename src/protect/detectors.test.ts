import { describe, expect, it } from 'vitest';
import { FAKE } from './fake-credentials.test-support.js';
import { crc32, isDeaValid, isIbanValid, isLuhnValid, isNpiValid, isValidSsn, isVinValid, toBase62 } from './detectors/index.js';
import { listDetectors, selectDetectors } from './detectors.js';
import { redactText } from './redact-text.js';
import { isSecretKey, secretKeyStrength } from './secret-keys.js';

/** The defects issue 11 reports, reproduced as described: each failed before the detector rewrite. */
describe('false alarms the issue reports', () => {
  it.each([
    'password: <REDACTED>',
    'token = os.environ["GITHUB_TOKEN"]',
    'commit 4111111111111111a0c3e9f2b7d6a5c4e3f2a1b0c9d8e7f6',
    'id 4111111111111111-e29b-41d4-a716-446655440000',
    'request 9b2d5c4e-4111-1111-1111-111111111111 done',
    `the documented ${FAKE.awsDocumentedKeyId} key id`,
  ])('leaves %j unchanged', (text) => {
    expect(redactText(text)).toEqual({ text, count: 0, types: [] });
  });

  it('the quick-start note loses its name and date of birth too', () => {
    const note = 'Patient: Jane Q. Example\nMRN: 00482913\nSSN: 123-45-6789\nDOB: 1961-04-12\nPhone: (555) 201-4477';
    const r = redactText(note);
    for (const clear of ['Jane', 'Example', '1961-04-12', '00482913', '123-45-6789', '201-4477']) expect(r.text).not.toContain(clear);
    expect(r.types).toEqual(['date', 'mrn', 'name', 'phone', 'ssn']);
  });
});

describe('known tokens', () => {
  it.each([
    ['aws key id', FAKE.awsAccessKeyId],
    ['github classic', FAKE.githubPat],
    ['github fine-grained', FAKE.githubFineGrained],
    ['slack', FAKE.slack],
    ['stripe', FAKE.stripeLive],
    ['openai', FAKE.openai],
    ['anthropic', FAKE.anthropic],
    ['gcp', FAKE.gcpKey],
  ])('%s is redacted in prose', (_name, token) => {
    expect(redactText(`use ${token} here`).text).toBe('use [redacted:secret] here');
  });

  it('a GitHub token whose CRC-32 does not match is not a credential', () => {
    const broken = `${FAKE.githubPat.slice(0, -1)}${FAKE.githubPat.endsWith('A') ? 'B' : 'A'}`;
    expect(redactText(broken).text).toBe(broken);
  });
});

describe('secret-looking keys', () => {
  it.each([
    'STRIPE_SECRET_KEY',
    'DATABASE_PASSWORD',
    'GITHUB_TOKEN',
    'apiKey',
    '_authToken',
    'DB_CONN',
    'SENTRY_DSN',
    'OLDPWD',
    'CONNECTION_STRING',
    'x-api-key',
    'PRIVATE_KEY',
  ])('%s looks secret', (key) => expect(isSecretKey(key)).toBe(true));
  it.each(['DEBUG', 'KEYBOARD', 'AUTHOR', 'monkey', 'max_tokens', 'PORT', 'HOSTNAME'])('%s does not', (key) => expect(isSecretKey(key)).toBe(false));
  it('ranks password above token above key', () => {
    expect(secretKeyStrength('DB_PASSWORD')).toBe('strong');
    expect(secretKeyStrength('GITHUB_TOKEN')).toBe('medium');
    expect(secretKeyStrength('primary_key')).toBe('weak');
  });
});

describe('validators (published known answers)', () => {
  it('Luhn', () => {
    expect(isLuhnValid('4111111111111111')).toBe(true);
    expect(isLuhnValid('4111111111111112')).toBe(false);
    expect(isLuhnValid('378282246310005')).toBe(true);
  });
  it('SSN ranges', () => {
    expect(isValidSsn('123456789')).toBe(true);
    for (const bad of ['000123456', '666123456', '912345678', '123004567', '123450000', '12345678']) expect(isValidSsn(bad)).toBe(false);
  });
  it('CRC-32 and base62 (zlib check value)', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(toBase62(61, 2)).toBe('0z');
  });
  it('IBAN mod-97, NPI, DEA and VIN check digits', () => {
    expect(isIbanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(isIbanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
    expect(isNpiValid('1234567893')).toBe(true);
    expect(isNpiValid('1234567890')).toBe(false);
    expect(isDeaValid('AB1234563')).toBe(true);
    expect(isDeaValid('AB1234564')).toBe(false);
    expect(isVinValid('1M8GDM9AXKP042788')).toBe(true);
    expect(isVinValid('1M8GDM9A1KP042788')).toBe(false);
  });
});

describe('selection', () => {
  it('selects by id, by type or all; lists a marker per detector', () => {
    expect(selectDetectors(['jwt']).map((d) => d.id)).toEqual(['jwt']);
    expect(selectDetectors(['ssn']).every((d) => d.type === 'ssn')).toBe(true);
    expect(selectDetectors(['all']).length).toBe(listDetectors().length);
    expect(listDetectors().find((d) => d.name === 'npi')?.marker).toBe('[redacted:npi]');
    expect(() => selectDetectors(['nope'])).toThrow(/Unknown redaction detector/);
  });
});

describe('overlaps', () => {
  it('a JWT in a secret assignment is one redaction, typed by the earlier detector', () => {
    const r = redactText(`ID_TOKEN=${FAKE.jwt}`);
    expect(r.text).toBe('ID_TOKEN=[redacted:jwt]');
    expect(r.count).toBe(1);
    expect(r.types).toEqual(['jwt']);
    expect(r.rules).toEqual([{ rule: 'jwt', type: 'jwt', count: 1 }]);
  });
  it('a known token in a secret assignment counts once', () => {
    const r = redactText(`STRIPE_SECRET_KEY=${FAKE.stripeLive}`);
    expect(r).toMatchObject({ text: 'STRIPE_SECRET_KEY=[redacted:secret]', count: 1, types: ['secret'] });
    expect(r.rules).toEqual([{ rule: 'stripe-live-secret-key', type: 'secret', count: 1 }]);
  });
  it('Authorization: Bearer <jwt> leaves neither scheme nor token', () => {
    const r = redactText(`Authorization: Bearer ${FAKE.jwt}`);
    expect(r.text).toBe('Authorization: [redacted:jwt]');
    expect(r.count).toBe(1);
  });
  it('a URL with credentials keeps its host out of the e-mail detector', () => {
    const r = redactText('https://x-access-token:abc123@github.com/org/repo.git');
    expect(r.text).toBe('https://[redacted:secret]@github.com/org/repo.git');
    expect(r.types).toEqual(['secret']);
  });
  it('SSN and card on one line', () => {
    expect(redactText('SSN 123-45-6789 4111-1111-1111-1111').text).toBe('SSN [redacted:ssn] [redacted:card]');
  });
});
