import { describe, expect, it } from 'vitest';
import { createPrefilter } from './prefilter.js';

describe('keyword prefilter', () => {
  it('records every start of an anchored keyword, overlapping ones included, case-folded', () => {
    const pf = createPrefilter([{ text: 'aa', positions: 'all', wordStart: false }]);
    expect(pf.scan('AaAa').positions[0]).toEqual([0, 1, 2]);
  });

  it('records only the first start on each line for a line keyword', () => {
    const pf = createPrefilter([{ text: '@', positions: 'line', wordStart: false }]);
    expect(pf.scan('a@b@c\n@@\n\nx@').positions[0]).toEqual([1, 6, 11]);
  });

  it('records only whether a gate keyword occurred', () => {
    const pf = createPrefilter([
      { text: 'vin', positions: 'none', wordStart: false },
      { text: 'dea', positions: 'none', wordStart: false },
    ]);
    const hits = pf.scan('driving a vehicle, VIN below');
    expect(hits.positions[0]).toBeUndefined();
    expect([...hits.seen]).toEqual([1, 0]);
    expect(hits.found).toEqual([0]);
  });

  it('counts a word-start keyword only where no letter, digit or _ precedes it', () => {
    const pf = createPrefilter([{ text: 'sk-', positions: 'all', wordStart: true }]);
    expect(pf.scan('sk- ask- _sk- (sk-').positions[0]).toEqual([0, 15]);
  });

  it('finds keywords that share prefixes and suffixes (failure links)', () => {
    const pf = createPrefilter([
      { text: 'patient', positions: 'all', wordStart: false },
      { text: 'pat', positions: 'all', wordStart: false },
      { text: 'tie', positions: 'all', wordStart: false },
    ]);
    const hits = pf.scan('xpatpatient');
    expect(hits.positions).toEqual([[4], [1, 4], [6]]);
  });

  it('treats characters outside ASCII as no keyword character', () => {
    const pf = createPrefilter([{ text: 'ab', positions: 'all', wordStart: false }]);
    expect(pf.scan('a\u0101b aé ab').positions[0]).toEqual([7]);
  });

  it('refuses a keyword outside ASCII', () => {
    expect(() => createPrefilter([{ text: 'é', positions: 'all', wordStart: false }])).toThrow(/ASCII/);
  });
});
