/**
 * `npm run bench -- gateway`: tools/call through Custos (token verification, Cedar,
 * redaction, durable intent + result rows in SQLite with synchronous=FULL) against the
 * same call straight to the same upstream, interleaved in one run.
 */
import path from 'node:path';
import { startHarness } from '../test/e2e/harness.js';
import { formatMs, summarize, time } from './stats.js';

const WARMUP = 100;
const N = Number(process.env.BENCH_N ?? 1000);

export async function run(): Promise<void> {
  const h = await startHarness({ tap: false, outOfProcess: true });
  try {
    const viaCustos = await h.connect(await h.token('alice'), 'bench');
    const direct = await h.connectDirect();
    const args = { path: path.join(h.workspace, 'notes/handbook.md') };
    const callCustos = () => viaCustos.callTool({ name: 'filesystem__read_text_file', arguments: args });
    const callDirect = () => direct.callTool({ name: 'read_text_file', arguments: args });
    const ping = () => viaCustos.ping(); // the transport floor: HTTP + SSE + token check, no pipeline, no upstream
    for (let i = 0; i < WARMUP; i++) {
      await callCustos();
      await callDirect();
    }
    const custosMs: number[] = [];
    const directMs: number[] = [];
    const pingMs: number[] = [];
    for (let i = 0; i < N; i++) {
      pingMs.push(await time(ping));
      // alternate the order so neither side always runs on a warmer cache
      if (i % 2) {
        custosMs.push(await time(callCustos));
        directMs.push(await time(callDirect));
      } else {
        directMs.push(await time(callDirect));
        custosMs.push(await time(callCustos));
      }
    }
    const c = summarize(custosMs);
    const d = summarize(directMs);
    const p = summarize(pingMs);
    console.log(`gateway benchmark: ${N} tools/call (filesystem read_text_file), ${WARMUP} warm-up, interleaved`);
    console.log('| path | p50 | p90 | p99 | mean |');
    console.log('|---|---|---|---|---|');
    console.log(`| direct to upstream (stdio) | ${formatMs(d.p50)} | ${formatMs(d.p90)} | ${formatMs(d.p99)} | ${formatMs(d.mean)} |`);
    console.log(`| through Custos (HTTP + pipeline + durable audit) | ${formatMs(c.p50)} | ${formatMs(c.p90)} | ${formatMs(c.p99)} | ${formatMs(c.mean)} |`);
    console.log(`| MCP ping through Custos (transport floor) | ${formatMs(p.p50)} | ${formatMs(p.p90)} | ${formatMs(p.p99)} | ${formatMs(p.mean)} |`);
    console.log(`| added by Custos | ${formatMs(c.p50 - d.p50)} | ${formatMs(c.p90 - d.p90)} | ${formatMs(c.p99 - d.p99)} | ${formatMs(c.mean - d.mean)} |`);
    console.log(`ratio p50 ${(c.p50 / d.p50).toFixed(2)}x, p99 ${(c.p99 / d.p99).toFixed(2)}x`);
  } finally {
    await h.close();
  }
}
