/**
 * `npm run bench -- protect`: the protect module against the open-source scanners, on one
 * labelled corpus (test/fixtures/redaction-corpus.ts, the tuning and the held-out seed).
 *  1. throughput: MB/s on a mixed 1 MB corpus in 4 KB chunks, all detectors on, and the p50/p99 per chunk,
 *     beside the two scanners on the first 256 KB of the same chunks;
 *  2. MB/s on adversarial inputs (long runs without delimiters, keyword floods, unterminated blocks), the worst reported;
 *  3. recall and precision per type and the share of clean lines altered, side by side with
 *     `secretlint` (recommended preset) and `redact-pii` (SyncRedactor, defaults) on the same lines.
 * A value counts as found when it is gone from the output (type-agnostic, so the scanners'
 * own replacement tokens count); precision counts every replacement that hit no labelled value.
 * BENCH_BASELINE_ROOT=DIR (opt-in, another checkout after `npm run build`): its `dist/protect`
 * redacts the same chunks, the two alternating round by round in this process, to weigh a change.
 */
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import { SyncRedactor } from 'redact-pii';
import { redactText } from '../src/protect/index.js';
import type { CorpusLine } from '../test/fixtures/redaction-corpus.js';
import { chunkText, generateCorpus, HELD_OUT_SEED, mixedCorpus, TUNING_SEED } from '../test/fixtures/redaction-corpus.js';
import { summarize } from './stats.js';

const MB = 1024 * 1024;
const QUALITY_LINES = Number(process.env.BENCH_LINES ?? 3000);

type Redact = (t: string) => unknown;

interface Throughput {
  readonly wallMbs: number;
  readonly cpuMbs: number;
  readonly p50: number;
  readonly p99: number;
}

/** Redacts every chunk `rounds` times after one warm-up round (so patterns are compiled and optimised). */
async function measureChunks(redact: Redact, parts: readonly string[], rounds: number): Promise<Throughput> {
  for (const p of parts) await redact(p);
  const samples: number[] = [];
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const p of parts) {
      const t = process.hrtime.bigint();
      const out = redact(p);
      if (out instanceof Promise) await out;
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const bytes = rounds * parts.reduce((n, p) => n + p.length, 0);
  const s = summarize(samples);
  return { wallMbs: bytes / MB / seconds, cpuMbs: bytes / MB / ((used.user + used.system) / 1e6), p50: s.p50, p99: s.p99 };
}

async function throughput(): Promise<void> {
  const text = mixedCorpus(TUNING_SEED, MB);
  const parts = chunkText(text, 4096);
  const rounds = 3;
  // The scanners are one to two orders of magnitude slower: they get the first 256 KB, one round.
  const slice = parts.slice(0, 64);
  const rows = [
    ['custos', await measureChunks((t) => redactText(t), parts, rounds), `${parts.length} chunks × ${rounds}`],
    ['secretlint', await measureChunks(secretlint, slice, 1), `${slice.length} chunks × 1`],
    ['redact-pii', await measureChunks(redactPii, slice, 1), `${slice.length} chunks × 1`],
  ] as const;
  console.log(`\nthroughput, mixed corpus (30% positives) in ~4 KB chunks, every detector on`);
  console.log(`  ${'system'.padEnd(12)}${'MB/s wall'.padStart(11)}${'MB/s CPU'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}  input`);
  for (const [name, t, input] of rows) {
    console.log(
      `  ${name.padEnd(12)}${t.wallMbs.toFixed(2).padStart(11)}${t.cpuMbs.toFixed(2).padStart(10)}${t.p50.toFixed(3).padStart(9)}${t.p99.toFixed(3).padStart(9)}  ${input}`,
    );
  }
  console.log(
    `  custos / secretlint: ${(rows[0][1].cpuMbs / rows[1][1].cpuMbs).toFixed(0)}× per CPU second; custos / redact-pii: ${(rows[0][1].cpuMbs / rows[2][1].cpuMbs).toFixed(0)}×`,
  );
  console.log(
    `  load average during the run: ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores (wall-clock figures shrink with the load; CPU-second figures much less)`,
  );
  const whole = process.hrtime.bigint();
  redactText(text);
  const wholeSeconds = Number(process.hrtime.bigint() - whole) / 1e9;
  console.log(`  custos: ${(text.length / MB / wholeSeconds).toFixed(1)} MB/s as one 1 MB string (wall)`);
}

const ADVERSARIAL: ReadonlyArray<readonly [string, () => string]> = [
  ['1 MB of one letter', () => 'a'.repeat(MB)],
  ['1 MB of digits', () => '7'.repeat(MB)],
  ['digits and dashes', () => '1-'.repeat(MB / 2)],
  ['@ flood', () => 'a@'.repeat(MB / 2)],
  ['key=value flood', () => 'x='.repeat(MB / 2)],
  ['label flood (patient)', () => 'patient '.repeat(MB / 8)],
  ['prefix flood (sk-)', () => 'sk-'.repeat(MB / 3)],
  ['dotted digits', () => '1.'.repeat(MB / 2)],
  ['colons (IPv6 shape)', () => 'a:'.repeat(MB / 2)],
  ['unterminated PEM', () => `-----BEGIN RSA PRIVATE KEY-----${'A'.repeat(MB)}`],
  ['base64 run', () => 'QUJD'.repeat(MB / 4)],
  ['percent run', () => '%41'.repeat(MB / 3)],
  ['secret-word flood (key)', () => 'key'.repeat(MB / 3)],
  ['secret keys with values', () => 'apikey=a'.repeat(MB / 8)],
  ['lines of token:', () => 'token:\n'.repeat(MB / 7)],
  ['lines of 4 digits', () => '1234\n'.repeat(MB / 5)],
  ['lines of card shapes', () => 'x123456789012\n'.repeat(MB / 14)],
  ['list keys (- export pat:)', () => '- export pat: '.repeat(MB / 14)],
];

function adversarial(): void {
  console.log('\nadversarial inputs (1 MB each, every detector on, secret-file mode)');
  let worst = Infinity;
  for (const [name, make] of ADVERSARIAL) {
    const text = make();
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    redactText(text, { dataClasses: ['secret_file'] });
    const mbs = text.length / MB / (Number(process.hrtime.bigint() - t) / 1e9);
    const used = process.cpuUsage(cpu);
    const cpuMbs = text.length / MB / ((used.user + used.system) / 1e6);
    worst = Math.min(worst, cpuMbs);
    console.log(`  ${name.padEnd(24)} ${mbs.toFixed(1).padStart(6)} MB/s wall, ${cpuMbs.toFixed(1).padStart(6)} MB/s per CPU second`);
  }
  console.log(`  worst: ${worst.toFixed(1)} MB/s per CPU second`);
}

const REDACT_PII_TOKENS =
  /\b(?:PERSON_NAME|PHONE_NUMBER|EMAIL_ADDRESS|US_SOCIAL_SECURITY_NUMBER|CREDIT_CARD_NUMBER|IP_ADDRESS|STREET_ADDRESS|ZIPCODE|URL|DIGITS|USERNAME|PASSWORD|CREDENTIALS)\b/g;

interface Quality {
  readonly recall: Map<string, [number, number]>;
  found: number;
  labels: number;
  spurious: number;
  cleanAltered: number;
  clean: number;
  seconds: number;
}

/** Type-agnostic scoring: a label is found when its value is gone; a replacement that removed no label is spurious. */
async function score(lines: readonly CorpusLine[], redact: (t: string) => Promise<{ text: string; replacements: number }>): Promise<Quality> {
  const q: Quality = { recall: new Map(), found: 0, labels: 0, spurious: 0, cleanAltered: 0, clean: 0, seconds: 0 };
  const start = process.hrtime.bigint();
  for (const line of lines) {
    const out = await redact(line.text);
    if (line.labels.length === 0) {
      q.clean++;
      if (out.text !== line.text) q.cleanAltered++;
      q.spurious += out.replacements;
      continue;
    }
    let hit = 0;
    for (const l of line.labels) {
      const entry = q.recall.get(l.type) ?? [0, 0];
      entry[1]++;
      q.labels++;
      if (!out.text.includes(l.value)) {
        entry[0]++;
        q.found++;
        hit++;
      }
      q.recall.set(l.type, entry);
    }
    q.spurious += Math.max(0, out.replacements - hit);
  }
  q.seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return q;
}

const custos = async (t: string): Promise<{ text: string; replacements: number }> => {
  const r = redactText(t);
  return { text: r.text, replacements: r.count };
};

const piiRedactor = new SyncRedactor();
const redactPii = async (t: string): Promise<{ text: string; replacements: number }> => {
  const text = piiRedactor.redact(t);
  return { text, replacements: text === t ? 0 : (text.match(REDACT_PII_TOKENS) ?? []).length || 1 };
};

const secretlint = async (t: string): Promise<{ text: string; replacements: number }> => {
  const result = await lintSource({
    source: { content: t, filePath: '/corpus/line.txt', contentType: 'text' },
    options: { config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] }, noPhysicFilePath: true },
  });
  const ranges = result.messages.map((m) => m.range).sort((a, b) => b[0] - a[0]);
  let text = t;
  for (const [s, e] of ranges) text = `${text.slice(0, s)}[redacted:secret]${text.slice(e)}`;
  return { text, replacements: ranges.length };
};

async function quality(): Promise<void> {
  for (const [name, seed] of [
    ['tuning seed', TUNING_SEED],
    ['held-out seed', HELD_OUT_SEED],
  ] as const) {
    const lines = generateCorpus(seed, QUALITY_LINES);
    const systems = [
      ['custos', await score(lines, custos)],
      ['secretlint', await score(lines, secretlint)],
      ['redact-pii', await score(lines, redactPii)],
    ] as const;
    const bytes = lines.reduce((n, l) => n + l.text.length + 1, 0);
    console.log(`\nquality, ${name} (${seed}), ${lines.length} lines; recall per type (value removed)`);
    const types = [...systems[0][1].recall.keys()].sort();
    console.log(`  ${'type'.padEnd(12)}${systems.map(([n]) => n.padStart(12)).join('')}`);
    for (const type of types) {
      console.log(
        `  ${type.padEnd(12)}${systems
          .map(([, q]) => {
            const [f, n] = q.recall.get(type) ?? [0, 0];
            return (n ? (f / n).toFixed(3) : '-').padStart(12);
          })
          .join('')}`,
      );
    }
    const row = (label: string, f: (q: Quality) => string): void => console.log(`  ${label.padEnd(12)}${systems.map(([, q]) => f(q).padStart(12)).join('')}`);
    row('recall', (q) => (q.found / q.labels).toFixed(3));
    row('precision', (q) => (q.found + q.spurious ? q.found / (q.found + q.spurious) : 1).toFixed(3));
    row('clean alt.', (q) => `${((100 * q.cleanAltered) / q.clean).toFixed(1)}%`);
    row('KB/s', (q) => (bytes / 1024 / q.seconds).toFixed(0));
  }
}

/** CPU ms per MB of `parts` for this build and the baseline's, alternating (order flipped each round), median of `rounds`. */
async function againstBaseline(root: string, parts: readonly string[], rounds: number): Promise<void> {
  const entry = pathToFileURL(path.resolve(root, 'dist/protect/index.js')).href;
  const base = (await import(entry)) as { redactText: Redact };
  const variants: ReadonlyArray<readonly [string, Redact]> = [
    ['this build', (t) => redactText(t)],
    ['baseline', base.redactText],
  ];
  const ms = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  for (let r = -1; r < rounds; r++) {
    for (const [name, redact] of r % 2 === 0 ? variants : [...variants].reverse()) {
      const cpu = process.cpuUsage();
      for (const p of parts) redact(p);
      const used = process.cpuUsage(cpu);
      if (r >= 0) ms.get(name)!.push((used.user + used.system) / 1000 / (bytes / MB));
    }
  }
  const median = (name: string): number => summarize(ms.get(name)!).p50;
  console.log(`
against the baseline build in ${root} (${rounds} alternating rounds of the same chunks, median CPU ms per MB)`);
  for (const [name] of variants) console.log(`  ${name.padEnd(12)}${median(name).toFixed(1).padStart(8)} ms/MB`);
  console.log(`  baseline / this build: ${(median('baseline') / median('this build')).toFixed(3)}× (load ${loadavg()[0]!.toFixed(1)})`);
}

export async function run(): Promise<void> {
  const baselineRoot = process.env.BENCH_BASELINE_ROOT;
  if (baselineRoot) await againstBaseline(baselineRoot, chunkText(mixedCorpus(TUNING_SEED, MB), 4096), Number(process.env.BENCH_ROUNDS ?? 12));
  await throughput();
  adversarial();
  await quality();
}
