import { describe, expect, it } from 'vitest';
import { FAKE } from './fake-credentials.test-support.js';
import { isLuhnValid, isValidSsn } from './detectors-pii.js';
import { redactText } from './redact-text.js';
import { isSecretKey } from './secret-keys.js';

/** [input, expected output] pairs: known answers per detector, positive and negative. */
const CASES: Record<string, Array<[string, string]>> = {
  'pem-private-key': [
    [`key:\n${FAKE.pem}\nafter`, 'key:\n[redacted:private_key]\nafter'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----', '[redacted:private_key]'],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIabc\n-----END ENCRYPTED PRIVATE KEY-----', '[redacted:private_key]'],
    ['x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE truncated', 'x [redacted:private_key]'],
    ['-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----', '-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----'],
  ],
  jwt: [
    [`token ${FAKE.jwt} end`, 'token [redacted:jwt] end'],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '[redacted:jwt]'],
    ['eyJ is how a JSON header starts; a.b.c is not a token', 'eyJ is how a JSON header starts; a.b.c is not a token'],
  ],
  'aws-access-key-id': [
    [`id=${FAKE.awsAccessKeyId};`, 'id=[redacted:secret];'],
    [`ASIA${'Y'.repeat(16)}`, '[redacted:secret]'],
    ['AKIA123 is too short', 'AKIA123 is too short'],
  ],
  'aws-secret-access-key': [
    [`aws_secret_access_key = ${FAKE.awsSecretKey}`, 'aws_secret_access_key = [redacted:secret]'],
    [`{"SecretAccessKey":"${FAKE.awsSecretKey}"}`, '{"SecretAccessKey":"[redacted:secret]"}'],
  ],
  'gcp-api-key': [[`key ${FAKE.gcpKey} ok`, 'key [redacted:secret] ok']],
  'github-token': [
    [`push with ${FAKE.githubPat}`, 'push with [redacted:secret]'],
    [FAKE.githubFineGrained, '[redacted:secret]'],
    ['ghp_short', 'ghp_short'],
  ],
  'slack-token': [[`slack ${FAKE.slack}`, 'slack [redacted:secret]']],
  'stripe-key': [
    [`charge via ${FAKE.stripeLive}.`, 'charge via [redacted:secret].'],
    [FAKE.stripeRestricted, '[redacted:secret]'],
    ['pk_live_is_public', 'pk_live_is_public'],
  ],
  'llm-api-key': [
    [`OpenAI ${FAKE.openai}`, 'OpenAI [redacted:secret]'],
    [`Anthropic ${FAKE.anthropic}`, 'Anthropic [redacted:secret]'],
    ['a task-force of sk-learn users', 'a task-force of sk-learn users'],
  ],
  'bearer-token': [
    ['curl -H "x: Bearer abc123def456ghi789"', 'curl -H "x: Bearer [redacted:secret]"'],
    ['use a Bearer token in the header', 'use a Bearer token in the header'],
  ],
  'url-credentials': [
    ['postgres://admin:s3cr3t@db.internal:5432/app', 'postgres://[redacted:secret]@db.internal:5432/app'],
    ['redis://:onlypass@cache:6379', 'redis://[redacted:secret]@cache:6379'],
    ['https://example.com/path?q=1', 'https://example.com/path?q=1'],
  ],
  'secret-assignment': [
    ['DATABASE_PASSWORD=hunter2-not-real', 'DATABASE_PASSWORD=[redacted:secret]'],
    ['export API_KEY="a quoted value"', 'export API_KEY="[redacted:secret]"'],
    ["client_secret: 'abc def'", "client_secret: '[redacted:secret]'"],
    ['db_password: correct horse battery', 'db_password: [redacted:secret]'],
    ['see ?access_token=abc123&page=2', 'see ?access_token=[redacted:secret]&page=2'],
    ['{"apiKey":"k-123","user":"alice"}', '{"apiKey":"[redacted:secret]","user":"alice"}'],
    ['  Authorization: Basic dXNlcjpwYXNz', '  Authorization: [redacted:secret]'],
    ['SENTRY_DSN=https://abc@o1.ingest.sentry.io/1', 'SENTRY_DSN=[redacted:secret]'],
    ['DEBUG=true\nKEYBOARD=us\nAUTHOR=me\nmax_tokens=100', 'DEBUG=true\nKEYBOARD=us\nAUTHOR=me\nmax_tokens=100'],
    ['if (password == null) return', 'if (password == null) return'],
    ['PASSWORD=""', 'PASSWORD=""'],
  ],
  card: [
    ['card 4111 1111 1111 1111 exp', 'card [redacted:card] exp'],
    ['amex 3782-822463-10005', 'amex [redacted:card]'],
    ['plain 5555555555554444.', 'plain [redacted:card].'],
    ['Luhn-invalid 4111 1111 1111 1112', 'Luhn-invalid 4111 1111 1111 1112'],
    ['order 12345678901234567890123 ref', 'order 12345678901234567890123 ref'],
    ['amount 4111111111111111.50', 'amount 4111111111111111.50'],
    ['SSN 123-45-6789 4111-1111-1111-1111', 'SSN [redacted:ssn] [redacted:card]'],
    ['visa13 4222 2222 2222 2', 'visa13 [redacted:card]'],
  ],
  ssn: [
    ['SSN 123-45-6789.', 'SSN [redacted:ssn].'],
    ['ssn 000-12-3456', 'ssn 000-12-3456'],
    ['666-12-3456 900-12-3456 123-00-4567 123-45-0000', '666-12-3456 900-12-3456 123-00-4567 123-45-0000'],
    ['part 1123-45-67890 of a longer number', 'part 1123-45-67890 of a longer number'],
  ],
  'ssn-labeled': [
    ['SSN: 123456789', 'SSN: [redacted:ssn]'],
    ['Social Security Number 234 56 7890', 'Social Security Number [redacted:ssn]'],
    ['SSN: 000456789', 'SSN: 000456789'],
    ['a bare 123456789 is not an SSN', 'a bare 123456789 is not an SSN'],
  ],
  mrn: [
    ['MRN 00123456', 'MRN [redacted:mrn]'],
    ['MRN#: A1234567', 'MRN#: [redacted:mrn]'],
    ['Medical Record Number: 7788-9900', 'Medical Record Number: [redacted:mrn]'],
    ['MR# 998877', 'MR# [redacted:mrn]'],
    ['the MRN field is required', 'the MRN field is required'],
    ['chart 00123456 without a label', 'chart 00123456 without a label'],
    ['mRNA 1273 vaccine', 'mRNA 1273 vaccine'],
  ],
  email: [
    ['mail jane.doe+tag@example.co.uk now', 'mail [redacted:email] now'],
    ['mailto:bob@example.com', 'mailto:[redacted:email]'],
    ['user@localhost has no domain', 'user@localhost has no domain'],
  ],
  phone: [
    ['call (415) 555-0100 now', 'call [redacted:phone] now'],
    ['+1 415-555-0100', '[redacted:phone]'],
    ['1-800-555-0199', '[redacted:phone]'],
    ['415.555.0100', '[redacted:phone]'],
    ['London +44 20 7946 0958.', 'London [redacted:phone].'],
    ['E.164 +14155550100', 'E.164 [redacted:phone]'],
    ['the id 4155550100 appears in prose', 'the id 4155550100 appears in prose'],
    ['version 2024-05-01', 'version 2024-05-01'],
    ['account 415-555-0100-7788', 'account 415-555-0100-7788'],
  ],
};

describe('detectors: known answers', () => {
  for (const [name, cases] of Object.entries(CASES)) {
    describe(name, () => {
      it.each(cases)('%j', (input, expected) => {
        const result = redactText(input);
        expect(result.text).toBe(expected);
        expect(result.count).toBe((expected.match(/\[redacted:/g) ?? []).length);
      });
    });
  }
});

describe('secret-looking keys', () => {
  it.each(['STRIPE_SECRET_KEY', 'DATABASE_PASSWORD', 'GITHUB_TOKEN', 'apiKey', '_authToken', 'DB_CONN', 'SENTRY_DSN', 'OLDPWD', 'CONNECTION_STRING', 'x-api-key', 'PRIVATE_KEY'])(
    '%s looks secret',
    (key) => expect(isSecretKey(key)).toBe(true),
  );
  it.each(['DEBUG', 'KEYBOARD', 'AUTHOR', 'monkey', 'max_tokens', 'PORT', 'HOSTNAME'])('%s does not', (key) => expect(isSecretKey(key)).toBe(false));
});

describe('validators', () => {
  it('Luhn', () => {
    expect(isLuhnValid('4111111111111111')).toBe(true);
    expect(isLuhnValid('4111111111111112')).toBe(false);
    expect(isLuhnValid('378282246310005')).toBe(true);
  });
  it('SSN ranges', () => {
    expect(isValidSsn('123456789')).toBe(true);
    for (const bad of ['000123456', '666123456', '912345678', '123004567', '123450000', '12345678']) expect(isValidSsn(bad)).toBe(false);
  });
});

describe('overlaps', () => {
  it('a JWT in a secret assignment is one redaction, typed by the earlier detector', () => {
    const r = redactText(`ID_TOKEN=${FAKE.jwt}`);
    expect(r.text).toBe('ID_TOKEN=[redacted:jwt]');
    expect(r.count).toBe(1);
    expect(r.types).toEqual(['jwt']);
  });
  it('a known token in a secret assignment counts once', () => {
    const r = redactText(`STRIPE_SECRET_KEY=${FAKE.stripeLive}`);
    expect(r).toEqual({ text: 'STRIPE_SECRET_KEY=[redacted:secret]', count: 1, types: ['secret'] });
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
});
