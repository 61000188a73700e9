/** Percentiles and a side-by-side table for benchmarks. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export function summarize(samplesMs: readonly number[]): Summary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export function formatMs(v: number): string {
  return `${v.toFixed(3)} ms`;
}

export async function time<T>(fn: () => Promise<T>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The middle and the range of one figure measured in several runs. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
  return { median, min: s[0] ?? Number.NaN, max: s[s.length - 1] ?? Number.NaN };
}

/** `1.23` for one run, `1.23 (1.10–1.40)` (median, then min–max) for several. */
export function formatSpread(values: readonly number[], digits = 2): string {
  const { median, min, max } = spread(values);
  const f = (v: number): string => v.toFixed(digits);
  return values.length > 1 ? `${f(median)} (${f(min)}–${f(max)})` : f(median);
}
