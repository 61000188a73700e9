/**
 * Every `custos` command: its flags and help, and an action that imports its implementation
 * only when the command runs. So `custos redact` loads the protect module and nothing of the
 * MCP SDK, Cedar, the identity provider or the database drivers (a test checks this).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import type { StoreOptions } from './store-uri.js';

const STORE_HELP = 'the trail: sqlite:PATH or a postgres:// URL (default sqlite:./data/audit.sqlite)';

function withStoreOptions(cmd: Command): Command {
  return cmd.option('--store <uri>', STORE_HELP).option('-c, --config <file>', 'read the store from this config file');
}

function parseSeq(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface VerifyFlags {
  readonly expectHead?: { seq: number; hash: string };
  readonly export?: string;
  readonly pubkey: string[];
  readonly checkpoint?: string;
}

function parseHead(value: string): { seq: number; hash: string } {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected SEQ:HASH, e.g. 42:<64 lowercase hex>.');
  return { seq: parseSeq(match[1]!), hash: match[2]! };
}

/** `--since`: a seq (digits) or an RFC 3339 time. */
function parseSince(value: string): { seq: number } | { time: number } {
  if (/^\d+$/.test(value)) return { seq: parseSeq(value) };
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time))
    throw new InvalidArgumentError('expected a seq (e.g. 42) or an RFC 3339 time (e.g. 2026-01-01T00:00:00Z).');
  return { time };
}

function registerServeCommands(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('Run the gateway from a YAML config (validated before anything starts).')
    .requiredOption('-c, --config <file>', 'the config file (see docs/config.md)')
    .option('--check', 'validate the config and exit')
    .action(async (opts: { config: string; check?: boolean }) => (await import('./serve.js')).serve(ctx, opts));

  program
    .command('quickstart')
    .description('Run the quick start (what `npm start` runs): a dev-only OIDC provider, Custos and the filesystem MCP server, then a demo.')
    .option('--port <port>', 'Custos port', (v) => Number(v), 8787)
    .option('--idp-port <port>', 'dev identity provider port', (v) => Number(v), 8786)
    .option('--store <uri>', 'audit store (default sqlite:./data/audit.sqlite)')
    .option('--no-demo', 'skip the demo calls')
    .action(async (opts: { port: number; idpPort: number; demo: boolean; store?: string }) => (await import('./serve.js')).quickstart(ctx, opts));
}

function registerToolCommands(program: Command, ctx: CommandContext): void {
  program
    .command('token')
    .description('Print an access token for a demo user from the dev-only identity provider of the quick start.')
    .requiredOption('-u, --user <name>', 'demo user: alice (clinician) or bob (billing clerk)')
    .option('--issuer <url>', 'the dev provider', 'http://127.0.0.1:8786')
    .option('--resource <url>', "the audience to ask for (default: the provider's Custos resource)")
    .action(async (opts: { user: string; issuer: string; resource?: string }) => (await import('./token.js')).printToken(ctx, opts));

  program
    .command('redact')
    .description(
      'Redact secrets and personal identifiers (card, SSN, MRN, email, phone) from a file or stdin and print the result (markers [redacted:TYPE]). Names and dates of birth are not detected yet.',
    )
    .argument('[file]', 'file to read (default: stdin)')
    .option('--secret-file', 'treat the input as a secrets file (every KEY=value is redacted)')
    .option('--json', 'parse the input as JSON and redact every string in it')
    .option('--summary', 'print the redaction count and types on stderr')
    .action(async (file: string | undefined, opts: { secretFile?: boolean; json?: boolean; summary?: boolean }) =>
      (await import('./redact.js')).redact(ctx, file, opts),
    );
}

function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('Read and verify the audit trail.');

  withStoreOptions(audit.command('verify'))
    .description(
      "Verify the hash chain: exit 0 when intact, 1 naming the first broken seq. With --export, verify an exported trail offline (no database): the chain, every checkpoint's signature and tree root, consistency between checkpoints, and name what is wrong (field_changed, row_deleted, rows_swapped, row_inserted, truncated, checkpoint_forged, checkpoint_root_mismatch, checkpoint_inconsistent).",
    )
    .option('--expect-head <seq:hash>', 'a head (seq and hash) known from elsewhere, e.g. an earlier export or the SIEM: the chain must reach it', parseHead)
    .option('--export <file>', 'verify this JSONL export (`custos audit export`) offline instead of a store')
    .option('--pubkey <file>', 'a checkpoint public key (PEM); repeat for keys rotated out', collect, [])
    .option(
      '--checkpoint <file>',
      'a checkpoint held outside the export (JSON: a checkpoint, or a proof from `audit prove`): the export must reach and agree with it',
    )
    .action(async (opts: StoreOptions & VerifyFlags) => (await import('./audit.js')).verifyAudit(ctx, opts));

  withStoreOptions(audit.command('prove'))
    .description('Print an inclusion proof (JSON, custos.proof/v1) that row SEQ is in the tree the latest signed checkpoint commits to.')
    .argument('<seq>', 'the row', parseSeq)
    .action(async (seq: number, opts: StoreOptions) => (await import('./audit.js')).proveAudit(ctx, seq, opts));

  withStoreOptions(audit.command('export'))
    .description('Print the trail in seq order, one record per line: the canonical custos.audit/v1 record (jsonl) or its OCSF API Activity event (ocsf).')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['jsonl', 'ocsf']).default('jsonl'))
    .option('--since <seq|time>', 'start at this seq, or at the first row at or after this RFC 3339 time', parseSince)
    .option('--from <seq>', 'first seq to print (same as --since SEQ)', parseSeq)
    .action(async (opts: StoreOptions & { format: 'jsonl' | 'ocsf'; since?: { seq: number } | { time: number }; from?: number }) =>
      (await import('./audit.js')).exportAudit(ctx, opts),
    );

  audit
    .command('purge')
    .description(
      'Remove rows past retention (audit.retention, per record class) that no legal hold covers. Without --yes, a dry run: prints what would go. With --yes, purges in batches (each recorded as a retention_purge row; the purged rows keep their hash in the chain, so what remains still verifies) and signs a checkpoint after.',
    )
    .requiredOption('-c, --config <file>', 'the config file (store, keys, retention)')
    .requiredOption('--by <name>', 'who runs the purge (recorded in the purge rows)')
    .option('--yes', 'purge for real (default: dry run)')
    .option('--json', 'print the plan as JSON')
    .action(async (opts: { config: string; by: string; yes?: boolean; json?: boolean }) => (await import('./retention.js')).purgeAudit(ctx, opts));

  const hold = audit.command('hold').description('Legal holds: rows a hold covers survive every purge. Each hold and release is a row.');
  hold
    .command('place')
    .description('Place a legal hold on the rows of a user, a tenant and/or a time range (every bound given must match).')
    .requiredOption('-c, --config <file>', 'the config file')
    .requiredOption('--by <name>', 'who places the hold')
    .requiredOption('--reason <text>', 'why (matter, ticket)')
    .option('--user <sub>', "the user's subject (user.sub)")
    .option('--tenant <id>', 'the tenant (user.tenant)')
    .option('--from <time>', 'rows at or after this RFC 3339 time')
    .option('--to <time>', 'rows before this RFC 3339 time')
    .action(async (opts: { config: string; by: string; reason: string; user?: string; tenant?: string; from?: string; to?: string }) =>
      (await import('./retention.js')).placeHold(ctx, opts),
    );
  hold
    .command('release')
    .description('Release a legal hold (its rows are purged again once past retention).')
    .argument('<hold-id>', 'the id `hold place` printed')
    .requiredOption('-c, --config <file>', 'the config file')
    .requiredOption('--by <name>', 'who releases it')
    .requiredOption('--reason <text>', 'why')
    .action(async (holdId: string, opts: { config: string; by: string; reason: string }) => (await import('./retention.js')).releaseHold(ctx, holdId, opts));
  hold
    .command('list')
    .description('The legal holds open now (from the trail).')
    .requiredOption('-c, --config <file>', 'the config file')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => (await import('./retention.js')).listHolds(ctx, opts));

  audit
    .command('sinks')
    .description("Each SIEM sink's cursor, lag and last error (from the cursors in export.stateDir): exit 1 when a sink is failing.")
    .requiredOption('-c, --config <file>', 'the config file naming the sinks and the store')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => (await import('./audit.js')).sinkStatus(ctx, opts));
}

function registerPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('Work with policy bundles.');

  policy
    .command('hash')
    .description('Print the bundle hash and its manifest (the same as `sha256sum` over the files; see docs/policy.md).')
    .argument('<dir>', 'bundle directory')
    .option('--manifest', 'also print the manifest lines')
    .action(async (dir: string, opts: { manifest?: boolean }) => (await import('./policy.js')).hashBundle(ctx, dir, opts));

  policy
    .command('validate')
    .description('Load a bundle (schema, policies, catalog) and report every problem at once.')
    .argument('<dir>', 'bundle directory')
    .action(async (dir: string) => (await import('./policy.js')).validateBundle(ctx, dir));
}

function registerReviewCommands(program: Command, ctx: CommandContext): void {
  const review = program.command('review').description('The post-hoc review queue of break-glass (emergency access) grants.');

  withStoreOptions(review.command('list'))
    .description('List grants whose review is open (from the trail); --all includes closed ones.')
    .option('--all', 'include closed reviews')
    .option('--json', 'one JSON object per line')
    .action(async (opts: StoreOptions & { all?: boolean; json?: boolean }) => (await import('./review.js')).listReviews(ctx, opts));

  review
    .command('close <grant-id>')
    .description('Close a review on a running Custos, as the reviewer whose token is given (never the grant holder).')
    .requiredOption('--url <url>', 'the Custos base URL, e.g. http://127.0.0.1:8787')
    .option('--token <token>', "the reviewer's bearer token (default: $CUSTOS_TOKEN)")
    .option('--note <text>', "the reviewer's finding")
    .action(async (grantId: string, opts: { url: string; token?: string; note?: string }) => (await import('./review.js')).closeReview(ctx, grantId, opts));
}

export function registerCommands(program: Command, ctx: CommandContext): void {
  registerServeCommands(program, ctx);
  registerToolCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerReviewCommands(program, ctx);
}
