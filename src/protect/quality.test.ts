/**
 * Quality in the suite: recall and precision per type on a seeded, labelled corpus (prose, JSON,
 * logs, env files, CSV, code, hard negatives), on the tuning seed and on a held-out seed.
 * Bars: recall 0.99 for checksum-, prefix- and structure-backed types, 0.95 for context-backed
 * ones; at most 0.5% of clean lines altered.
 */
import { describe, expect, it } from 'vitest';
import { generateCorpus, HELD_OUT_SEED, TUNING_SEED } from '../../test/fixtures/redaction-corpus.js';
import { scoreCorpus } from '../../test/fixtures/score-redaction.js';
import { DETECTORS } from './detectors.js';
import { redactText } from './redact-text.js';

/** The bar for a type: its detectors' weakest basis decides. */
function recallBar(type: string): number {
  const bases = DETECTORS.filter((d) => d.type === type).map((d) => d.basis);
  return bases.length > 0 && bases.every((b) => b !== 'context') ? 0.99 : 0.95;
}

describe.each([
  ['tuning seed', TUNING_SEED],
  ['held-out seed', HELD_OUT_SEED],
])('labelled corpus, %s', (_name, seed) => {
  const corpus = generateCorpus(seed, 4000);
  const score = scoreCorpus(corpus, (t) => redactText(t).text);

  it('reports recall and precision per type', () => {
    console.log(
      `${_name} (${seed}): ${score.types.map((t) => `${t.type} r=${t.recall.toFixed(3)} p=${t.precision.toFixed(3)}`).join(', ')}; clean altered ${score.cleanAltered}/${score.cleanLines}`,
    );
    expect(score.types.length).toBeGreaterThanOrEqual(20);
  });

  it.each(score.types.filter((t) => t.labels > 0).map((t) => [t.type, t] as const))('%s meets its recall bar', (type, t) => {
    expect(t.recall, score.examples.filter((e) => e.includes(`missed ${type}`)).join('\n')).toBeGreaterThanOrEqual(recallBar(type));
  });

  it('alters at most 0.5% of clean lines', () => {
    expect(score.cleanAlteredShare, score.examples.filter((e) => e.startsWith('altered')).join('\n')).toBeLessThanOrEqual(0.005);
  });
});
