/**
 * The keyword-guided assignment finders (given where the secret words occur) must find exactly
 * what the full scan over every separator or line finds, whatever the text.
 */
import { describe, expect, it } from 'vitest';
import { generateCorpus, HELD_OUT_SEED, TUNING_SEED } from '../../test/fixtures/redaction-corpus.js';
import { findInlineAssignments, findLineAssignments } from './assignments.js';
import { createPrefilter } from './prefilter.js';
import { secretKeyStrength } from './secret-keys.js';

const WORDS = ['secret', 'pass', 'pwd', 'token', 'key', 'cred', 'auth', 'dsn', 'conn', 'cookie', 'private', 'pat'];
const prefilter = createPrefilter(WORDS.map((text) => ({ text, positions: 'all' as const, wordStart: false })));
const accept = (key: string): boolean => secretKeyStrength(key) !== undefined;
const inline = findInlineAssignments(accept);
const line = findLineAssignments(false, accept);

function starts(text: string): number[] {
  return prefilter
    .scan(text)
    .positions.flatMap((p) => p ?? [])
    .sort((a, b) => a - b);
}

const EDGE_CASES = [
  'password=a token=b',
  'note="x password=inside" password=outside',
  '"apiKey" : "k-1", \'secret\'\t=\tv',
  'monkey=1 keyboard=2 author=3',
  'a\rpassword: one\u2028token = two\r\nsecret=three',
  '  - export DB_PASSWORD="x\\"y"',
  'key:key:key=value',
  'token==x password:=y key=>z url=https://user:pass@host',
  'pat',
  '',
  // What may stand before a line's key, and what may not.
  'export password=x\nexportpassword=abc\n- "token": v\n-password: v\n- - token: v\nexpo token: v',
  'x password=1\n\t \'secret\' = v\npat export token=abc\nexport\ttoken = v\n"pwd"="p"',
];

describe('assignment finders guided by secret words', () => {
  it('find what the full scan finds, on the corpus (both seeds, lines alone and joined) and edge cases', () => {
    const texts = [...EDGE_CASES];
    for (const seed of [TUNING_SEED, HELD_OUT_SEED]) {
      const lines = generateCorpus(seed, 1500).map((l) => l.text);
      texts.push(...lines);
      for (let i = 0; i < lines.length; i += 25) texts.push(lines.slice(i, i + 25).join(i % 2 ? '\n' : '\r\n'));
    }
    let found = 0;
    for (const text of texts) {
      const at = starts(text);
      expect(inline(text, at)).toEqual(inline(text));
      expect(line(text, at)).toEqual(line(text));
      found += inline(text).length;
    }
    expect(found).toBeGreaterThan(500); // the comparison is not vacuous
  });

  it('hides a separator inside an accepted value in both modes', () => {
    const text = 'note="x" password="a token=b" key2=c';
    expect(inline(text, starts(text)).map((s) => text.slice(s.start, s.end))).toEqual(['a token=b']);
  });
});
