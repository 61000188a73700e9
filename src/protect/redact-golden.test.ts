/**
 * Golden output: the text redactor's results (text, count, types, rule tallies, allowed) on the
 * seeded corpus, in 4 KB chunks and whole, plain and in secret-file mode, with an allow list and
 * with pseudonyms, plus every detector's own examples and edge cases (PEM keys, JSON, markers,
 * floods), hashed into one SHA-256. Speed work must leave it unchanged: the digest below is of
 * the output of main at 0e646fb (before the fourth speed round).
 *
 * A change meant to alter output updates the digest (the failure prints the new one) and says
 * why in its commit. GOLDEN_BASELINE_ROOT=DIR (another checkout after `npm run build`) also
 * compares result by result with DIR/dist/protect, naming the first input that differs.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkText, generateCorpus, HELD_OUT_SEED, mixedCorpus, TUNING_SEED } from '../../test/fixtures/redaction-corpus.js';
import { DETECTORS } from './detectors.js';
import { createTextRedactor } from './redact-text.js';
import type { TextRedactOptions, TextRedactor } from './redact-text.js';

const GOLDEN_SHA256 = 'bc26aea9a9cad2ad408c25622584333e2411e551adaa55dcde639e264a493169';

const KB = 1024;

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n/ygWyF8PbnGy0AHB7MhgwMV\n-----END RSA PRIVATE KEY-----';

const EDGE_CASES: readonly string[] = [
  '',
  PEM,
  `note\n${PEM}\nafter, and an unterminated one: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE`,
  JSON.stringify({ patient: 'Patient: John Smith', dob: 'DOB: 04/12/1961', key: `secret=${'Zx9'.repeat(12)}`, pem: PEM }, null, 2),
  '[redacted:secret] [redacted:ssn] 123-45-6789 [redacted:card]',
  'password: <REDACTED>\ntoken = os.environ["GITHUB_TOKEN"]\nsha 4111111111111111a uuid 123e4567-e89b-12d3-a456-426614174000',
  'sk-'.repeat(2000),
  'key'.repeat(2000),
  'token:\n'.repeat(500),
  'x123456789012\n'.repeat(300),
  '- export pat: '.repeat(300),
  'apikey=a'.repeat(500),
  'patient '.repeat(500),
  '1-'.repeat(2000),
  'a:'.repeat(2000),
];

type Redact = (text: string, options?: TextRedactOptions) => unknown;

/** Every input with the options it is redacted under, in a fixed order. */
function cases(): Array<readonly [string, TextRedactOptions | undefined, 'plain' | 'allow']> {
  const out: Array<readonly [string, TextRedactOptions | undefined, 'plain' | 'allow']> = [];
  const secretFile: TextRedactOptions = { dataClasses: ['secret_file'] };
  const pseudonym: TextRedactOptions = { pseudonym: (type, original) => `[redacted:${type}#${original.length}]` };
  for (const seed of [TUNING_SEED, HELD_OUT_SEED]) {
    const text = mixedCorpus(seed, 256 * KB);
    for (const part of chunkText(text, 4 * KB)) {
      out.push([part, undefined, 'plain'], [part, secretFile, 'plain'], [part, undefined, 'allow']);
    }
    out.push([text, undefined, 'plain'], [text, pseudonym, 'plain']);
    for (const line of generateCorpus(seed, 1500)) out.push([line.text, undefined, 'plain']);
  }
  for (const d of DETECTORS) {
    for (const e of d.examples.positive) out.push([typeof e === 'string' ? e : e[0], secretFile, 'plain']);
    for (const e of d.examples.negative) out.push([e, undefined, 'plain']);
  }
  for (const e of EDGE_CASES) out.push([e, undefined, 'plain'], [e, secretFile, 'plain']);
  return out;
}

/** Values the allow-list redactor keeps: every seventh labelled value of the tuning corpus. */
const ALLOW = generateCorpus(TUNING_SEED, 12_000, 0.3)
  .flatMap((l) => l.labels)
  .filter((_, i) => i % 7 === 0)
  .map((l) => l.value);

function digest(plain: Redact, allow: Redact): string {
  const hash = createHash('sha256');
  for (const [text, options, which] of cases()) hash.update(`${JSON.stringify((which === 'allow' ? allow : plain)(text, options))}\n`);
  return hash.digest('hex');
}

describe('golden output', () => {
  const plain: TextRedactor = createTextRedactor(DETECTORS);
  const allow: TextRedactor = createTextRedactor(DETECTORS, { allow: ALLOW });

  it('exercises the allow list', () => {
    expect(allow.redact(mixedCorpus(TUNING_SEED, 16 * KB)).allowed).toBeGreaterThan(0);
  });

  it('is byte-identical to the recorded output (text, count, types, rules, allowed)', () => {
    expect(digest(plain.redact, allow.redact)).toBe(GOLDEN_SHA256);
  });

  it.runIf(process.env.GOLDEN_BASELINE_ROOT)('matches the baseline build result by result', async () => {
    const root = path.resolve(process.env.GOLDEN_BASELINE_ROOT!, 'dist/protect');
    const base = (await import(pathToFileURL(`${root}/redact-text.js`).href)) as { createTextRedactor: typeof createTextRedactor };
    const { DETECTORS: baseDetectors } = (await import(pathToFileURL(`${root}/detectors.js`).href)) as { DETECTORS: typeof DETECTORS };
    const basePlain = base.createTextRedactor(baseDetectors);
    const baseAllow = base.createTextRedactor(baseDetectors, { allow: ALLOW });
    for (const [text, options, which] of cases()) {
      const [ours, theirs] = which === 'allow' ? [allow, baseAllow] : [plain, basePlain];
      expect(ours.redact(text, options), text.slice(0, 200)).toEqual(theirs.redact(text, options));
    }
    console.log(`baseline digest ${digest(basePlain.redact, baseAllow.redact)}`);
  });
});
