import path from 'node:path';
import type { Command } from 'commander';
import { createAuditStore, exportJsonl, verifyStore } from '../audit/index.js';
import { loadConfig } from '../config/index.js';
import { CustosError } from '../kernel/index.js';
import type { CommandContext } from './program.js';

interface StoreOptions {
  store?: string;
  config?: string;
}

/** --store wins, then the store of --config, then the quick start's sqlite:./data/audit.sqlite. */
function resolveStore(opts: StoreOptions): string {
  if (opts.store) {
    return opts.store.startsWith('sqlite:') && opts.store !== 'sqlite::memory:'
      ? `sqlite:${path.resolve(opts.store.slice('sqlite:'.length))}`
      : opts.store;
  }
  if (opts.config) return loadConfig(opts.config).audit.store;
  return `sqlite:${path.resolve('data/audit.sqlite')}`;
}

function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <uri>', 'the trail: sqlite:PATH or a postgres:// URL (default sqlite:./data/audit.sqlite)')
    .option('-c, --config <file>', 'read the store from this config file');
}

export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('Read and verify the audit trail.');

  withStoreOptions(audit.command('verify'))
    .description('Verify the hash chain: exit 0 when intact, 1 naming the first broken seq.')
    .action(async (opts: StoreOptions) => {
      const report = await verifyStore(resolveStore(opts));
      if (report.ok) {
        ctx.out(`audit trail intact: ${report.count} records${report.head ? `, head seq ${report.head.seq} hash ${report.head.hash}` : ''}`);
      } else {
        ctx.err(`audit trail BROKEN at seq ${report.firstBrokenSeq}: ${report.reason} (${report.count} records read before it verified)`);
        ctx.exitCode = 1;
      }
    });

  withStoreOptions(audit.command('export'))
    .description('Print the trail, one canonical JSON record per line, in seq order.')
    .option('-f, --format <format>', 'output format: jsonl', 'jsonl')
    .option('--from <seq>', 'first seq to print', (v) => Number(v), 1)
    .action(async (opts: StoreOptions & { format: string; from: number }) => {
      if (opts.format !== 'jsonl') throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `unknown format "${opts.format}"; supported: jsonl`);
      const store = await createAuditStore(resolveStore(opts));
      try {
        await exportJsonl(store, (line) => {
          ctx.io.stdout.write(line);
        }, { fromSeq: opts.from });
      } finally {
        await store.close();
      }
    });
}
