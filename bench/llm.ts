/**
 * `npm run bench -- llm`: the latency the model-provider proxy adds, side by side in one run:
 * the local provider (test/e2e/model-provider.ts, OpenAI chat completions) called directly,
 * and the same request through Custos' `/llm/openai/v1/chat/completions` (authentication,
 * the pipeline with redaction of the prompt, intent and result rows on SQLite, the answer
 * redacted). Not streamed: per request. Streamed: the whole stream and, divided by its
 * events, per chunk. Sequential requests; BENCH_N (default 200) each, after BENCH_WARMUP (20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { extendQuickstartBundle, startHarness } from '../test/e2e/harness.js';
import { startModelProvider } from '../test/e2e/model-provider.js';
import { formatMs, summarize, time } from './stats.js';
import type { Summary } from './stats.js';

const N = Number(process.env.BENCH_N ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const WORDS = 50;

const PROMPT = `Patient SSN 123-45-6789, contact jane.doe@example.com. ${Array.from({ length: WORDS - 5 }, (_, i) => `word${i}`).join(' ')}`;

async function post(url: string, token: string | undefined, stream: boolean): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ model: 'bench', stream, messages: [{ role: 'user', content: PROMPT }] }),
  });
  if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
  const text = await response.text();
  return stream ? text.split('\n\n').filter((e) => e.startsWith('data:')).length : 1;
}

async function measure(url: string, token: string | undefined, stream: boolean): Promise<{ summary: Summary; events: number }> {
  let events = 0;
  for (let i = 0; i < WARMUP; i++) await post(url, token, stream);
  const samples: number[] = [];
  for (let i = 0; i < N; i++) samples.push(await time(async () => void (events = await post(url, token, stream))));
  return { summary: summarize(samples), events };
}

export async function run(): Promise<void> {
  const provider = await startModelProvider({ record: false });
  const bundle = extendQuickstartBundle(mkdtempSync(path.join(tmpdir(), 'custos-bench-llm-')), {
    policies: {
      'models.cedar': '@id("models")\npermit (principal, action == Custos::Action::"model_request", resource) when { resource.server == "openai" };\n',
    },
  });
  const h = await startHarness({
    bundleDir: bundle,
    tap: false,
    configure: (raw) => ({ ...raw, llm: { providers: [{ name: 'openai', api: 'openai', url: provider.url }], pseudonyms: { enabled: true } } }),
  });
  try {
    const token = await h.token('alice');
    const direct = `${provider.url}/v1/chat/completions`;
    const proxied = `${h.custos.url}/llm/openai/v1/chat/completions`;
    const rows: Array<[string, Summary, Summary, number]> = [];
    for (const stream of [false, true]) {
      const d = await measure(direct, undefined, stream);
      const c = await measure(proxied, token, stream);
      rows.push([stream ? `streamed (${c.events} events)` : 'not streamed', d.summary, c.summary, c.events]);
    }
    console.log(
      `Model-provider proxy, OpenAI chat completions, ${N} sequential requests each after ${WARMUP} warm-up; prompt of ${WORDS} words with an SSN and an email`,
    );
    console.log('| request | direct p50 | direct p99 | via Custos p50 | via Custos p99 | added p50 | ratio p50 | added per chunk p50 |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [label, d, c, events] of rows) {
      const added = c.p50 - d.p50;
      const perChunk = label.startsWith('streamed') ? formatMs(added / events) : '—';
      console.log(
        `| ${label} | ${formatMs(d.p50)} | ${formatMs(d.p99)} | ${formatMs(c.p50)} | ${formatMs(c.p99)} | ${formatMs(added)} | ${(c.p50 / d.p50).toFixed(2)}× | ${perChunk} |`,
      );
    }
  } finally {
    await h.close();
    await provider.close();
    rmSync(bundle, { recursive: true, force: true });
  }
}
