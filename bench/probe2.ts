import path from 'node:path';
import { startHarness } from '../test/e2e/harness.js';
import { summarize, time } from './stats.js';

export async function run(): Promise<void> {
  const h = await startHarness({ tap: false });
  const c = await h.connect(await h.token('alice'), 'bench');
  const args = { path: path.join(h.workspace, 'notes/handbook.md') };
  const pipeline = (h.custos as unknown as { pipeline: { run: (...a: unknown[]) => Promise<unknown>; authorize: (...a: unknown[]) => Promise<unknown>; complete: (...a: unknown[]) => Promise<unknown> } }).pipeline;
  const spans: Record<string, number[]> = { run: [], forward: [], authorize: [], complete: [] };
  for (const k of ['authorize', 'complete'] as const) {
    const orig = pipeline[k];
    pipeline[k] = async (...a: unknown[]) => { const t = performance.now(); try { return await orig(...a); } finally { spans[k]!.push(performance.now() - t); } };
  }
  const origRun = pipeline.run;
  pipeline.run = async (call: unknown, fwd: unknown) => {
    const t = performance.now();
    try {
      return await origRun(call, async (c2: unknown) => { const t2 = performance.now(); try { return await (fwd as (x: unknown) => Promise<unknown>)(c2); } finally { spans.forward!.push(performance.now() - t2); } });
    } finally { spans.run!.push(performance.now() - t); }
  };
  const all: number[] = [];
  for (let i = 0; i < 600; i++) all.push(await time(() => c.callTool({ name: 'filesystem__read_text_file', arguments: args })));
  console.log('total', summarize(all.slice(100)).p50.toFixed(3));
  for (const [k, v] of Object.entries(spans)) console.log(k, summarize(v.slice(100)).p50.toFixed(3));
  await h.close();
}
