/** The flags and help of `custos evidence` and `custos evidence verify`; the work is in evidence.ts, loaded when they run. */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import type { EvidenceFlags } from './evidence.js';

const FRAMEWORK_CHOICES = ['soc2', 'hipaa', 'pci', 'gdpr', 'euaiact', 'nist'];

function parseTime(value: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new InvalidArgumentError('expected an RFC 3339 time, e.g. 2026-01-01T00:00:00Z.');
  return new Date(t);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerEvidenceCommands(program: Command, ctx: CommandContext): void {
  const evidence = program
    .command('evidence')
    .description(
      "Write an evidence pack for an auditor into a new directory: the control matrix, sample rows per control, the control tests' results, the chain verification with checkpoints, proofs and anchor, policy history, retention, inventory, alerts, TLS audit, SIEM status, identity configuration and flow diagram, the nineteen checklist boxes, report.html and report.pdf, and a signed manifest (docs/evidence.md).",
    )
    // Not commander-mandatory (that would bind `evidence verify` too): writeEvidence checks them.
    .option('-c, --config <file>', 'the config file of the deployment (required)')
    .addOption(new Option('--framework <name>', 'the framework (required)').choices(FRAMEWORK_CHOICES))
    .option('--from <time>', 'RFC 3339: rows at or after', parseTime)
    .option('--to <time>', 'RFC 3339: rows before', parseTime)
    .option('-o, --out <dir>', 'a new (or empty) directory (required)')
    .option('--no-pdf', 'skip report.pdf (no Chromium needed)')
    .option('--no-tls', 'skip the TLS probe of the configured destinations')
    .action(async (opts: Partial<EvidenceFlags>) => (await import('./evidence.js')).writeEvidence(ctx, opts));
  evidence
    .command('verify')
    .description('Check an evidence pack offline: the manifest signature, every file against its SHA-256, and no file added; each problem names the file.')
    .argument('<dir>', 'the pack')
    .option('--pubkey <file>', 'the deployment checkpoint public key (PEM) to check the signature against; repeatable', collect, [])
    .action(async (dir: string, opts: { pubkey: string[] }) => (await import('./evidence.js')).verifyEvidence(ctx, dir, opts));
}
