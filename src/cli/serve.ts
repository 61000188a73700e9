/** `custos serve` and `custos quickstart`, loaded when one of them runs. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runQuickstart, startCustos } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import type { CommandContext } from './context.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function stopOnSignal(close: () => Promise<void>): void {
  const stop = (): void => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export async function serve(ctx: CommandContext, opts: { config: string; check?: boolean }): Promise<void> {
  const config = loadConfig(opts.config);
  if (opts.check) {
    ctx.out(`${config.source}: ok`);
    return;
  }
  const custos = await startCustos(config);
  ctx.out(`custos listening on ${custos.url} (MCP at ${custos.mcpUrl}); policy bundle sha256:${custos.bundleHash}`);
  stopOnSignal(custos.close);
}

export async function quickstart(ctx: CommandContext, opts: { port: number; idpPort: number; demo: boolean; store?: string }): Promise<void> {
  const store = opts.store?.startsWith('sqlite:') ? `sqlite:${path.resolve(opts.store.slice('sqlite:'.length))}` : opts.store;
  const handle = await runQuickstart({ root: repoRoot, port: opts.port, idpPort: opts.idpPort, demo: opts.demo, store, print: ctx.out });
  stopOnSignal(handle.close);
}
