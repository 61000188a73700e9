import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runQuickstart, startCustos } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import type { CommandContext } from './program.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function stopOnSignal(close: () => Promise<void>): void {
  const stop = (): void => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function registerServeCommands(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('Run the gateway from a YAML config (validated before anything starts).')
    .requiredOption('-c, --config <file>', 'the config file (see docs/config.md)')
    .option('--check', 'validate the config and exit')
    .action(async (opts: { config: string; check?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.check) {
        ctx.out(`${config.source}: ok`);
        return;
      }
      const custos = await startCustos(config);
      ctx.out(`custos listening on ${custos.url} (MCP at ${custos.mcpUrl}); policy bundle sha256:${custos.bundleHash}`);
      stopOnSignal(custos.close);
    });

  program
    .command('quickstart')
    .description('Run the quick start (what `npm start` runs): a dev-only OIDC provider, Custos and the filesystem MCP server, then a demo.')
    .option('--port <port>', 'Custos port', (v) => Number(v), 8787)
    .option('--idp-port <port>', 'dev identity provider port', (v) => Number(v), 8786)
    .option('--store <uri>', 'audit store (default sqlite:./data/audit.sqlite)')
    .option('--no-demo', 'skip the demo calls')
    .action(async (opts: { port: number; idpPort: number; demo: boolean; store?: string }) => {
      const store = opts.store?.startsWith('sqlite:') ? `sqlite:${path.resolve(opts.store.slice('sqlite:'.length))}` : opts.store;
      const handle = await runQuickstart({ root: repoRoot, port: opts.port, idpPort: opts.idpPort, demo: opts.demo, store, print: ctx.out });
      stopOnSignal(handle.close);
    });
}
