import { describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import type { DetectorSpec } from './detector.js';
import { DETECTORS } from './detectors.js';
import { FAKE } from './fake-credentials.test-support.js';
import { createTextRedactor, redactText } from './redact-text.js';

const DOT_ENV = [
  '# local settings',
  'DEBUG=true',
  'PORT=8080',
  'DATABASE_PASSWORD=hunter2-not-real',
  `STRIPE_SECRET_KEY=${FAKE.stripeLive}`,
  'export SESSION_SECRET="not a real secret"',
  'DATABASE_URL=postgres://app:pg-pass-not-real@db:5432/app',
  '',
].join('\n');

describe('.env content', () => {
  it('removes every secret value and keeps the keys, whatever the classification', () => {
    const r = redactText(DOT_ENV);
    for (const secret of ['hunter2-not-real', FAKE.stripeLive, 'not a real secret', 'pg-pass-not-real']) expect(r.text).not.toContain(secret);
    expect(r.text).toContain('DATABASE_PASSWORD=[redacted:secret]');
    expect(r.text).toContain('STRIPE_SECRET_KEY=[redacted:secret]');
    expect(r.text).toContain('export SESSION_SECRET="[redacted:secret]"');
    expect(r.text).toContain('DATABASE_URL=postgres://[redacted:secret]@db:5432/app');
    expect(r.text).toContain('DEBUG=true');
    expect(r.text).toContain('PORT=8080');
    expect(r.count).toBe(4);
    expect(r.types).toEqual(['secret']);
  });

  it('on a secret_file call, every value goes, DEBUG=true included', () => {
    const r = redactText(DOT_ENV, { dataClasses: ['secret_file'] });
    expect(r.text).toContain('DEBUG=[redacted:secret]');
    expect(r.text).toContain('PORT=[redacted:secret]');
    expect(r.text).not.toContain('true');
    expect(r.text).not.toContain('8080');
    expect(r.text).toContain('# local settings');
    expect(r.count).toBe(6);
  });

  it('secret-file mode covers JSON credentials and .netrc lines', () => {
    const json = '{"type":"service_account","client_email":"svc","project_id":"demo-123"}';
    expect(redactText(json, { dataClasses: ['secret_file'] }).text).toBe(
      '{"type":"[redacted:secret]","client_email":"[redacted:secret]","project_id":"[redacted:secret]"}',
    );
    expect(redactText(json).text).toBe(json);
    const netrc = 'machine api.example.com login octocat password not-real-pw';
    expect(redactText(netrc, { dataClasses: ['secret_file'] }).text).toBe('machine api.example.com login [redacted:secret] password [redacted:secret]');
  });

  it('other data classes do not turn on secret-file mode', () => {
    expect(redactText('DEBUG=true', { dataClasses: ['phi'] }).text).toBe('DEBUG=true');
  });
});

describe('markers', () => {
  it('redacting redacted text finds nothing new', () => {
    const once = redactText(DOT_ENV, { dataClasses: ['secret_file'] });
    const twice = redactText(once.text, { dataClasses: ['secret_file'] });
    expect(twice).toEqual({ text: once.text, count: 0, types: [] });
  });

  it('a marker next to real residue is still redacted', () => {
    const r = redactText('PASSWORD=[redacted:secret] and-more-secret-text');
    expect(r.text).toBe('PASSWORD=[redacted:secret]');
    expect(r.count).toBe(1);
  });

  it('returns the same text and zero counts when nothing matches', () => {
    expect(redactText('nothing to see here')).toEqual({ text: 'nothing to see here', count: 0, types: [] });
    expect(redactText('')).toEqual({ text: '', count: 0, types: [] });
  });

  it('types are sorted and unique, counts are per span', () => {
    const r = redactText('a@example.com b@example.com 123-45-6789 ' + FAKE.githubPat);
    expect(r.types).toEqual(['email', 'secret', 'ssn']);
    expect(r.count).toBe(4);
  });
});

describe('failure', () => {
  it('a throwing detector fails closed with ERR_PROTECT_FAILED and no payload in the error', () => {
    const broken: DetectorSpec = {
      id: 'broken',
      type: 'secret',
      basis: 'structure',
      description: 'throws',
      examples: { positive: [], negative: [] },
      find: (text) => {
        throw new Error(`cannot handle ${text}`);
      },
    };
    const redactor = createTextRedactor([...DETECTORS, broken]);
    let caught: unknown;
    try {
      redactor.redact('my secret payload');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CustosError);
    const err = caught as CustosError;
    expect(err.code).toBe('ERR_PROTECT_FAILED');
    expect(err.detail).toEqual({ detector: 'broken' });
    expect(err.message).not.toContain('payload');
    expect(err.cause).toBeUndefined();
  });

  it('a detector with neither pattern nor find is rejected at construction', () => {
    expect(() => createTextRedactor([{ id: 'empty', type: 'x', basis: 'structure', description: '', examples: { positive: [], negative: [] } }])).toThrow(
      CustosError,
    );
  });
});

describe('performance', () => {
  it('redacts 100 KB of mixed text in a few milliseconds', () => {
    const chunk =
      'Patient note: seen today, follow-up in 2 weeks. Contact jane@example.com or (415) 555-0100. ' +
      'Ref 2024-05-01, order 998877, api_key=abc123, card 4111 1111 1111 1111, MRN 00123456.\n';
    const text = chunk.repeat(Math.ceil(100_000 / chunk.length));
    redactText(text); // warm up
    const runs = 5;
    const cpu = process.cpuUsage(); // CPU time of this test process (pool: forks), which the machine's load distorts far less than wall time
    for (let i = 0; i < runs; i++) redactText(text);
    const used = process.cpuUsage(cpu);
    const perRunMs = (used.user + used.system) / 1000 / runs;
    expect(redactText(text).count).toBeGreaterThan(1000);
    expect(perRunMs).toBeLessThan(250); // about 10 ms measured; generous for a loaded 2-core CI machine; `npm run bench -- protect` measures throughput
  });

  it('stays linear on adversarial input (long runs without delimiters, keyword floods)', () => {
    for (const text of [
      'a'.repeat(100_000),
      '1'.repeat(100_000),
      'a@'.repeat(50_000),
      'x='.repeat(50_000),
      '-----BEGIN RSA PRIVATE KEY-----' + 'A'.repeat(100_000),
      'key'.repeat(33_000), // one key 100k long, a secret word at every third character
      'password_token_'.repeat(7_000),
      'apikey=a'.repeat(12_500),
      'token:\n'.repeat(14_000),
      'age '.repeat(25_000),
      'patient portal ://'.repeat(5_500),
      'x123456789012\n'.repeat(7_000), // a card shape on every line, no digit run (glued to a letter)
      '- export pat: '.repeat(7_000), // one line: a key at every word, each walked back to what precedes it
    ]) {
      // CPU time of this process (pool: forks), not wall time: about 5–140 ms each here; a quadratic walk of 100k characters takes seconds.
      const cpu = process.cpuUsage();
      redactText(text, { dataClasses: ['secret_file'] });
      const used = process.cpuUsage(cpu);
      expect((used.user + used.system) / 1000).toBeLessThan(500);
    }
  });
});

describe('line detectors', () => {
  const seen: string[] = [];
  const spec: DetectorSpec = {
    id: 'test-line',
    type: 'test',
    basis: 'context',
    description: 'the word after "mark", only on lines holding "mark"',
    keywords: ['mark'],
    mode: 'line',
    find: (line) => {
      seen.push(line);
      const at = line.indexOf('mark ');
      return at < 0 ? [] : [{ start: at + 5, end: at + 9 }];
    },
    examples: { positive: [], negative: [] },
  };

  it('run once per line that holds a keyword, with spans placed in the whole text', () => {
    seen.length = 0;
    const text = 'none here\nmark abcd and MARK efgh\nnothing\r\nlast mark wxyz';
    const r = createTextRedactor([spec]).redact(text);
    expect(seen).toEqual(['mark abcd and MARK efgh', 'last mark wxyz']);
    expect(r.text).toBe('none here\nmark [redacted:test] and MARK efgh\nnothing\r\nlast mark [redacted:test]');
  });

  it('do not run on a text without the keyword', () => {
    seen.length = 0;
    expect(createTextRedactor([spec]).redact('nothing to see\nhere').count).toBe(0);
    expect(seen).toEqual([]);
  });
});
