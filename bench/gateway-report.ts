/**
 * The tables of `npm run bench -- gateway`, and their place in docs/performance.md: the
 * generated block sits between two markers inside the gateway section, so the prose around it
 * (and every other section) is kept.
 */
import type { Summary } from './stats.js';
import { formatSpread } from './stats.js';

export interface ConcurrentResult {
  readonly callsPerSec: number;
  readonly latency: Summary;
  readonly errors: number;
  readonly answered: number;
  /** Custos only: answered calls whose intent row is in the trail (matched by trace id). */
  readonly intentRowsFound?: number;
  readonly firstError?: string;
  /** CPU (user + system, every thread) of the target's process per answered call, in ms. */
  readonly cpuMsPerCall?: number;
}

/** One run: per target, the sequential latency summary and the concurrent result. */
export interface RunResult {
  readonly sequential: ReadonlyMap<string, Summary>;
  /** Per target with a process of its own: its CPU per call in ms over the sequential phase. */
  readonly sequentialCpu?: ReadonlyMap<string, number>;
  readonly concurrent: ReadonlyMap<string, ConcurrentResult>;
  /** Custos only, sequential phase: answered calls and those whose intent row was found. */
  readonly sequentialTrail?: { readonly answered: number; readonly found: number };
}

export interface TargetInfo {
  readonly key: string;
  readonly label: string;
}

export const SECTION_HEADING = '## `npm run bench -- gateway`';
export const BEGIN_MARK = '<!-- bench:gateway:begin (written by `npm run bench -- gateway`) -->';
export const END_MARK = '<!-- bench:gateway:end -->';

const collect = <T>(runs: readonly RunResult[], pick: (r: RunResult) => T | undefined): T[] => runs.map(pick).filter((v): v is T => v !== undefined);

function sequentialTable(targets: readonly TargetInfo[], runs: readonly RunResult[]): string[] {
  const lines = ['| target | p50 ms | p90 ms | p99 ms | added over direct p50 | p90 | p99 | CPU ms per call |', '|---|---|---|---|---|---|---|---|'];
  for (const t of targets) {
    const mine = collect(runs, (r) => r.sequential.get(t.key));
    if (mine.length === 0) continue;
    const added = (q: 'p50' | 'p90' | 'p99'): string => {
      if (t.key === 'direct') return '—';
      const diffs = collect(runs, (r) => {
        const a = r.sequential.get(t.key);
        const d = r.sequential.get('direct');
        return a && d ? a[q] - d[q] : undefined;
      });
      return diffs.length ? formatSpread(diffs) : 'n/a';
    };
    const cell = (q: 'p50' | 'p90' | 'p99'): string => formatSpread(mine.map((s) => s[q]));
    const cpu = cpuCell(collect(runs, (r) => r.sequentialCpu?.get(t.key)));
    lines.push(`| ${t.label} | ${cell('p50')} | ${cell('p90')} | ${cell('p99')} | ${added('p50')} | ${added('p90')} | ${added('p99')} | ${cpu} |`);
  }
  return lines;
}

function concurrentTable(targets: readonly TargetInfo[], runs: readonly RunResult[]): string[] {
  const lines = ['| target | calls/s | p50 ms | p99 ms | errors | CPU ms per call |', '|---|---|---|---|---|---|'];
  for (const t of targets) {
    const mine = collect(runs, (r) => r.concurrent.get(t.key));
    if (mine.length === 0) continue;
    const errors = mine.map((c) => c.errors).join(', ');
    lines.push(
      `| ${t.label} | ${formatSpread(
        mine.map((c) => c.callsPerSec),
        0,
      )} | ${formatSpread(mine.map((c) => c.latency.p50))} | ${formatSpread(mine.map((c) => c.latency.p99))} | ${errors} | ${cpuCell(mine.map((c) => c.cpuMsPerCall).filter((v): v is number => v !== undefined))} |`,
    );
  }
  return lines;
}

const cpuCell = (values: readonly number[]): string => (values.length ? formatSpread(values, 3) : '—');

/**
 * Two targets of one run side by side: per run, target `a` ÷ target `b` − 1 of the CPU per call
 * and of the sequential p50, then their median and spread. CPU per call holds on a loaded
 * machine; the p50 ratio needs a quiet one.
 */
export function compareLine(runs: readonly RunResult[], a: string, b: string, what: string): string | undefined {
  const ratio = (pick: (r: RunResult, key: string) => number | undefined): number[] =>
    collect(runs, (r) => {
      const on = pick(r, a);
      const off = pick(r, b);
      return on !== undefined && off !== undefined && off > 0 ? on / off : undefined;
    });
  const seqCpu = ratio((r, k) => r.sequentialCpu?.get(k));
  if (seqCpu.length === 0) return undefined;
  const p50 = ratio((r, k) => r.sequential.get(k)?.p50);
  const concCpu = ratio((r, k) => r.concurrent.get(k)?.cpuMsPerCall);
  const pct = (xs: number[]): string =>
    formatSpread(
      xs.map((x) => (x - 1) * 100),
      1,
    );
  return (
    `${what}, per run: CPU per call ${pct(seqCpu)} % sequential` +
    (concCpu.length ? `, ${pct(concCpu)} % with concurrent sessions` : '') +
    `; sequential p50 ${pct(p50)} %.`
  );
}

/** "every answered call has its intent row" over all runs, or what is missing. */
export function trailLine(runs: readonly RunResult[]): string | undefined {
  const seq = collect(runs, (r) => r.sequentialTrail);
  const conc = collect(runs, (r) => {
    const c = r.concurrent.get('custos');
    return c?.intentRowsFound !== undefined ? { answered: c.answered, found: c.intentRowsFound } : undefined;
  });
  const all = [...seq, ...conc];
  if (all.length === 0) return undefined;
  const answered = all.reduce((n, x) => n + x.answered, 0);
  const found = all.reduce((n, x) => n + x.found, 0);
  const verdict = found === answered ? 'every answered call has its intent row' : `**${answered - found} answered calls have no intent row**`;
  return `Custos trail check (trace id of each answered call looked up among the intent rows after each phase): ${found} of ${answered} answered calls found, ${verdict}.`;
}

export interface ReportContext {
  readonly targets: readonly TargetInfo[];
  readonly runs: readonly RunResult[];
  /** Lines describing when, where and how (date, machine, load, parameters, versions). */
  readonly setting: readonly string[];
}

export function renderReport(ctx: ReportContext): string {
  const n = ctx.runs.length;
  const how = n > 1 ? `median of ${n} interleaved runs, (min–max) across them` : 'one run';
  const trail = trailLine(ctx.runs);
  const monitor = compareLine(
    ctx.runs,
    'custos',
    'custos-unmonitored',
    "Monitor's cost (issue 13: rules, metrics and tracing on ÷ `monitor.enabled: false` − 1)",
  );
  const baseline = compareLine(ctx.runs, 'custos', 'custos-base', 'This build against the baseline build (`custos` ÷ `custos-base` − 1)');
  return [
    ...ctx.setting,
    '',
    `**Sequential** (one session per target, calls interleaved across targets; ${how}):`,
    '',
    ...sequentialTable(ctx.targets, ctx.runs),
    '',
    `**Concurrent** (sessions calling in a loop, one target at a time; ${how}; errors per run):`,
    '',
    ...concurrentTable(ctx.targets, ctx.runs),
    ...(trail ? ['', trail] : []),
    ...(monitor ? ['', monitor] : []),
    ...(baseline ? ['', baseline] : []),
  ].join('\n');
}

/** Puts `block` between the markers of the gateway section (creating the section or the markers when absent). */
export function replaceGatewayBlock(doc: string, block: string): string {
  const marked = `${BEGIN_MARK}\n${block}\n${END_MARK}`;
  const begin = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (begin !== -1 && end > begin) return doc.slice(0, begin) + marked + doc.slice(end + END_MARK.length);
  const start = doc.indexOf(SECTION_HEADING);
  if (start === -1) return `${doc.trimEnd()}\n\n${SECTION_HEADING}\n\n${marked}\n`;
  const next = doc.indexOf('\n## ', start + SECTION_HEADING.length);
  const rest = next === -1 ? '\n' : `\n${doc.slice(next + 1)}`;
  return `${doc.slice(0, start)}${SECTION_HEADING}\n\n${marked}\n${rest}`;
}
