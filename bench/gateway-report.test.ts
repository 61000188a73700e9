import { describe, expect, it } from 'vitest';
import type { RunResult } from './gateway-report.js';
import { BEGIN_MARK, END_MARK, compareLine, renderReport, replaceGatewayBlock, SECTION_HEADING } from './gateway-report.js';
import { formatSpread, spread } from './stats.js';

const s = (p50: number, p90 = p50 * 2, p99 = p50 * 4) => ({ n: 1000, p50, p90, p99, mean: p50 });
const targets = [
  { key: 'direct', label: 'direct' },
  { key: 'custos', label: 'Custos' },
];

function runOf(direct: number, custos: number, found = 10): RunResult {
  return {
    sequential: new Map([
      ['direct', s(direct)],
      ['custos', s(custos)],
    ]),
    concurrent: new Map([['custos', { callsPerSec: 100 * custos, latency: s(custos), errors: 0, answered: 10, intentRowsFound: found }]]),
    sequentialTrail: { answered: 5, found: 5 },
  };
}

describe('gateway benchmark report', () => {
  it('gives the median and the min–max of several runs', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3]).median).toBe(2.5);
    expect(formatSpread([1.234])).toBe('1.23');
    expect(formatSpread([3, 1, 2])).toBe('2.00 (1.00–3.00)');
  });

  it('computes the time added over direct within each run, then takes the median of those', () => {
    // run by run: 5-1 = 4, 9-3 = 6, 6-1 = 5; the median of the differences is 5, not median(custos)-median(direct) = 6-1
    const report = renderReport({ targets, runs: [runOf(1, 5), runOf(3, 9), runOf(1, 6)], setting: ['setting line'] });
    expect(report).toContain('| Custos | 6.00 (5.00–9.00) | 12.00 (10.00–18.00) | 24.00 (20.00–36.00) | 5.00 (4.00–6.00) |');
    expect(report).toContain('| direct | 1.00 (1.00–3.00) |');
    expect(report).toContain('setting line');
    expect(report).toContain('45 of 45 answered calls found, every answered call has its intent row');
  });

  it('says loudly when an answered call has no intent row', () => {
    const report = renderReport({ targets, runs: [runOf(1, 5, 8)], setting: [] });
    expect(report).toContain('13 of 15 answered calls found, **2 answered calls have no intent row**');
  });

  it('gives the CPU per call of each target with a process, and the monitor cost as on ÷ off per run', () => {
    const cpuRun = (on: number, off: number, p50On: number, p50Off: number): RunResult => ({
      sequential: new Map([
        ['custos', s(p50On)],
        ['custos-unmonitored', s(p50Off)],
      ]),
      sequentialCpu: new Map([
        ['custos', on],
        ['custos-unmonitored', off],
      ]),
      concurrent: new Map(),
    });
    const runs = [cpuRun(2.1, 2.0, 10, 10), cpuRun(2.2, 2.0, 9, 10), cpuRun(2.04, 2.0, 12, 10)];
    const both = [...targets, { key: 'custos-unmonitored', label: 'Custos, monitor off' }];
    const report = renderReport({ targets: both, runs, setting: [] });
    expect(report).toContain('| 2.100 (2.040–2.200) |');
    expect(compareLine(runs, 'custos', 'custos-unmonitored', 'Monitor')).toContain(
      'Monitor, per run: CPU per call 5.0 (2.0–10.0) % sequential; sequential p50 0.0 (-10.0–20.0) %.',
    );
    expect(compareLine([runOf(1, 2)], 'custos', 'custos-unmonitored', 'Monitor')).toBeUndefined();
  });

  it('replaces the whole old gateway section the first time, keeping the other sections', () => {
    const doc = `# Performance\n\nintro\n\n${SECTION_HEADING}\n\nold figures\n\n## \`npm run bench -- identity\`\n\nidentity figures\n`;
    const out = replaceGatewayBlock(doc, 'NEW');
    expect(out).toBe(
      `# Performance\n\nintro\n\n${SECTION_HEADING}\n\n${BEGIN_MARK}\nNEW\n${END_MARK}\n\n## \`npm run bench -- identity\`\n\nidentity figures\n`,
    );
  });

  it('then replaces only what is between the markers, keeping the prose around them', () => {
    const doc = `${SECTION_HEADING}\n\nprose before\n\n${BEGIN_MARK}\nOLD\n${END_MARK}\n\nprose after\n\n## next\n`;
    expect(replaceGatewayBlock(doc, 'NEW')).toBe(`${SECTION_HEADING}\n\nprose before\n\n${BEGIN_MARK}\nNEW\n${END_MARK}\n\nprose after\n\n## next\n`);
  });

  it('appends the section when the document has none', () => {
    expect(replaceGatewayBlock('# Performance\n', 'NEW')).toBe(`# Performance\n\n${SECTION_HEADING}\n\n${BEGIN_MARK}\nNEW\n${END_MARK}\n`);
  });
});
