import path from 'node:path';
import { startHarness } from '../test/e2e/harness.js';
import { summarize, time } from './stats.js';

export async function run(): Promise<void> {
  const h = await startHarness({ tap: false, outOfProcess: process.env.INPROC !== '1' });
  const c = await h.connect(await h.token('alice'), 'bench');
  const d = await h.connectDirect();
  const args = { path: path.join(h.workspace, 'notes/handbook.md') };
  const m = async (label: string, fn: () => Promise<unknown>) => {
    for (let i = 0; i < 100; i++) await fn();
    const s: number[] = [];
    for (let i = 0; i < 500; i++) s.push(await time(fn));
    const r = summarize(s);
    console.log(label.padEnd(30), r.p50.toFixed(3), r.p99.toFixed(3));
  };
  await m('direct call', () => d.callTool({ name: 'read_text_file', arguments: args }));
  await m('custos tools/list', () => c.listTools());
  await m('custos ping', () => c.ping());
  await m('custos call', () => c.callTool({ name: 'filesystem__read_text_file', arguments: args }));
  const store = h.custos.store;
  const e = { schema: 'custos.audit/v1', event: 'admin', time: new Date().toISOString(), request_id: 'x', user: { sub: 's' }, policy: { decision: 'allow', bundle_hash: 'x', determining_policies: [], reasons: [] }, redactions: { count: 0, types: [] } } as const;
  await m('audit append', () => store.append(e));
  await h.close();
}
