/**
 * Every `custos` command: its flags and help, and an action that imports its implementation
 * only when the command runs. So `custos redact` loads the protect module and nothing of the
 * MCP SDK, Cedar, the identity provider or the database drivers (a test checks this).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { registerEvidenceCommands } from './evidence-commands.js';
import type { SearchFlags } from './search.js';
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
  readonly anchor: string[];
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

  withStoreOptions(program.command('migrate'))
    .description(
      "Apply the shared PostgreSQL store's versioned migrations (also applied at start); additive only, so replicas of the previous version keep running.",
    )
    .action(async (opts: StoreOptions) => (await import('./migrate.js')).migrate(ctx, opts));

  program
    .command('tls-audit')
    .description(
      'Report the TLS posture of every configured destination (issuers, HTTP upstreams, model providers): protocol, cipher, chain, expiry, pin match.',
    )
    .requiredOption('-c, --config <file>', 'the config file (see docs/config.md)')
    .option('--json', 'one JSON array instead of text')
    .option('--warn-days <days>', 'fail when a certificate expires within this many days', (v) => Number(v), 30)
    .option('--timeout-ms <ms>', 'handshake timeout per destination', (v) => Number(v), 5000)
    .action(async (opts: { config: string; json?: boolean; warnDays: number; timeoutMs: number }) => (await import('./tls-audit.js')).tlsAudit(ctx, opts));

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
      'Redact secrets (cloud, source-host, payment, AI-provider keys and more, private keys, connection strings, `KEY=value` secrets), personal identifiers and the HIPAA Safe Harbor identifiers text can show (names, dates tied to a person, addresses, SSN, MRN, NPI, card, e-mail, phone and more; src/protect/README.md lists them) from a file or stdin and print the result (markers [redacted:TYPE]).',
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
      "Verify the hash chain: exit 0 when intact, 1 naming the first broken seq. With checkpoint public keys (--pubkey, and the public half of --config's audit.checkpoints.signingKey), every signed checkpoint in the store too. With --export, verify an exported trail offline (no database): the chain, every checkpoint's signature and tree root, consistency between checkpoints, and name what is wrong (field_changed, row_deleted, rows_swapped, row_inserted, truncated, checkpoint_forged, checkpoint_root_mismatch, checkpoint_inconsistent).",
    )
    .option('--expect-head <seq:hash>', 'a head (seq and hash) known from elsewhere, e.g. an earlier export or the SIEM: the chain must reach it', parseHead)
    .option('--export <file>', 'verify this JSONL export (`custos audit export`) offline instead of a store')
    .option('--pubkey <file>', 'a checkpoint public key (PEM); repeat for keys rotated out (--config adds its own signing key)', collect, [])
    .option(
      '--checkpoint <file>',
      'a checkpoint held outside the export (JSON: a checkpoint, or a proof from `audit prove`): the export must reach and agree with it',
    )
    .option(
      '--anchor <dir:PATH|sink>',
      'an external anchor of signed checkpoints (a directory, or the name of a directory or s3 sink of --config): the trail (or --export) must reach and agree with every one, so a trail cut short or re-chained whole is caught; repeatable; needs --pubkey',
      collect,
      [],
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

  withStoreOptions(audit.command('backup'))
    .description(
      'Back up the trail (its canonical rows and a manifest with their SHA-256 and head), the SQLite session store (online backup) and the keys by reference only (the references the config names; never a key or a secret) into a new directory.',
    )
    .requiredOption('-o, --out <dir>', 'a new (or empty) directory')
    .option('--sessions <uri>', 'the session store (default: the one of --config)')
    .action(async (opts: StoreOptions & { out: string; sessions?: string }) => (await import('./backup.js')).backupAudit(ctx, opts));

  audit
    .command('restore')
    .description(
      'Restore a backup into a new, empty store: the backup is verified whole, each row is chained again and must get the same hash, and the head must match the manifest. Then verify it against the anchor: `custos audit verify --store URI --anchor ... --pubkey ...`.',
    )
    .requiredOption('--from <dir>', 'the backup directory')
    .requiredOption('--store <uri>', 'the new trail: sqlite:PATH or a postgres:// URL (must be empty)')
    .option('--sessions <uri>', 'where to restore the session store (sqlite:PATH, must not exist)')
    .option('-c, --config <file>', "seal the restored rows (and sessions) under this config's keys, as the running Custos writes them")
    .action(async (opts: { from: string; store: string; sessions?: string; config?: string }) => (await import('./backup.js')).restoreAudit(ctx, opts));

  audit
    .command('search')
    .description(
      'Search the trail of a running Custos (GET /v1/audit) as an auditor: every matching row as one JSON line, in seq order, all pages. Needs a token with a role of audit.search.roles; the search itself is a row.',
    )
    .requiredOption('--url <url>', 'the Custos base URL, e.g. http://127.0.0.1:8787')
    .option('--token <token>', 'the auditor access token (default: $CUSTOS_TOKEN)')
    .option('--user <sub|email>', 'user.sub or user.email')
    .option('--agent <name>', 'agent.name')
    .option('--tier <tier>', 'agent.tier')
    .option('--tool <name|server/name>', 'tool.name, or server/name')
    .addOption(new Option('--decision <decision>', 'policy.decision').choices(['allow', 'deny', 'confirm']))
    .option('--data-class <class>', 'one of data_classes, e.g. phi')
    .option('--resource <path|uri>', 'a path or URI the call named (equal, or ending in /PATH)')
    .option('--event <event>', 'intent, result, deny, admin, …')
    .option('--from <time>', 'RFC 3339: rows at or after')
    .option('--to <time>', 'RFC 3339: rows before')
    .option('--request-id <id>', 'request_id')
    .option('--after-seq <seq>', 'start after this seq', (v) => Number(v))
    .option('--limit <n>', 'rows per page (1..1000)', (v) => Number(v))
    .action(async (opts: SearchFlags) => (await import('./search.js')).searchAudit(ctx, opts));

  audit
    .command('disclosures')
    .description(
      "The HIPAA accounting of disclosures (164.528) for one patient, from a running Custos: every allowed access to the patient's records (audit.search.patientPaths): who, when, through which agent. Needs an auditor token; the report is a row.",
    )
    .requiredOption('--url <url>', 'the Custos base URL')
    .option('--token <token>', 'the auditor access token (default: $CUSTOS_TOKEN)')
    .requiredOption('--patient <id>', 'the patient identifier ({patient} in audit.search.patientPaths)')
    .option('--from <time>', 'RFC 3339')
    .option('--to <time>', 'RFC 3339')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { url: string; token?: string; patient: string; from?: string; to?: string; json?: boolean }) =>
      (await import('./search.js')).disclosuresAudit(ctx, opts),
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
    .command('init')
    .description("Write a starter bundle (schema, catalog, policies) into a new DIR from the configured upstreams' tool lists; never overwrites.")
    .argument('<dir>', 'the new bundle directory (must not exist)')
    .requiredOption('--from-upstreams', "class the tools the config's upstreams list (annotations, then names)")
    .requiredOption('-c, --config <file>', 'the config file whose upstreams are listed')
    .action(async (dir: string, opts: { config: string }) => (await import('./policy.js')).initBundle(ctx, dir, opts));

  policy
    .command('validate')
    .description('Load a bundle (manifest, schema, policies, catalog, tests) and report every problem at once, each with its file and line.')
    .argument('<dir>', 'bundle directory')
    .action(async (dir: string) => (await import('./policy.js')).validateBundle(ctx, dir));

  policy
    .command('test')
    .description("Run the bundle's test cases (tests/*.yaml: a request and the decision it expects); exit 1 naming each case that fails.")
    .argument('<dir>', 'bundle directory')
    .action(async (dir: string) => (await import('./policy.js')).testBundle(ctx, dir));

  policy
    .command('sign')
    .description('Approve a bundle: an Ed25519 signature over its hash, written to DIR/.approvals/ID.sig (outside the hashed files).')
    .argument('<dir>', 'bundle directory')
    .requiredOption('--key <file>', "the approver's Ed25519 private key (PKCS#8 PEM)")
    .requiredOption('--id <id>', "the approver's id, as in policy.approvers")
    .action(async (dir: string, opts: { key: string; id: string }) => (await import('./policy.js')).signBundle(ctx, dir, opts));

  policy
    .command('keygen')
    .description("Make an approver's Ed25519 key pair: OUT.pem (private) and OUT.pub.pem (for policy.approvers).")
    .requiredOption('--out <prefix>', 'path prefix of the two files (never overwritten)')
    .action(async (opts: { out: string }) => (await import('./policy.js')).keygen(ctx, opts));

  withStoreOptions(policy.command('diff'))
    .description(
      "What changes from bundle OLD to NEW: files, policies, and the recorded calls whose decision would change (replayed from each row's decision input).",
    )
    .argument('<old>', 'the bundle in force (directory)')
    .argument('<new>', 'the candidate (directory)')
    .option('--limit <n>', 'replay the last N recorded calls', parseSeq, 1000)
    .option('--json', 'print JSON')
    .action(async (oldDir: string, newDir: string, opts: StoreOptions & { limit: number; json?: boolean }) =>
      (await import('./policy.js')).diffBundle(ctx, oldDir, newDir, opts),
    );

  withStoreOptions(policy.command('log'))
    .description('The activation history from the trail: each bundle activated or refused, when, old and new hash, version, author and approvers.')
    .option('--json', 'one JSON object per line')
    .action(async (opts: StoreOptions & { json?: boolean }) => (await import('./policy.js')).policyLog(ctx, opts));

  withStoreOptions(policy.command('rollback'))
    .description('Authorize going back to exactly the (older) bundle in DIR: an audited row; Custos activates it when its source offers it.')
    .argument('<dir>', 'the bundle to go back to')
    .requiredOption('--by <name>', "who authorizes the rollback (recorded as the row's user)")
    .option('--reason <text>', 'why')
    .action(async (dir: string, opts: StoreOptions & { by: string; reason?: string }) => (await import('./policy.js')).rollbackBundle(ctx, dir, opts));
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
    .action(async (grantId: string, opts: AdminFlags & { note?: string }) => (await import('./review.js')).closeReview(ctx, grantId, opts));
}

interface AdminFlags {
  readonly url: string;
  readonly token?: string;
}

/** A command that asks a running Custos as an admin. */
function withAdminOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--url <url>', 'the Custos base URL, e.g. http://127.0.0.1:8787')
    .option('--token <token>', "an admin's bearer token (default: $CUSTOS_TOKEN)");
}

function registerMonitorCommands(program: Command, ctx: CommandContext): void {
  const alerts = program.command('alerts').description('Alerts raised by the monitor and the pipeline (alert rows of the trail).');
  withStoreOptions(alerts.command('list'))
    .description('List open alerts from the trail; --all includes acknowledged ones.')
    .option('--all', 'include acknowledged alerts')
    .option('--json', 'one JSON object per line')
    .action(async (opts: StoreOptions & { all?: boolean; json?: boolean }) => (await import('./monitor.js')).listAlerts(ctx, opts));
  withAdminOptions(alerts.command('ack'))
    .description('Acknowledge an alert (by its seq) with a note, on a running Custos: an admin row.')
    .argument('<seq>', "the alert row's seq", parseSeq)
    .requiredOption('--note <text>', 'what was found or done')
    .action(async (seq: number, opts: AdminFlags & { note: string }) => (await import('./monitor.js')).ackAlert(ctx, seq, opts));

  const inventory = withStoreOptions(program.command('inventory'))
    .description(
      'The MCP servers (serverInfo name and version, transport, tools with the hash of their approved definition) and the agents seen, from the trail.',
    )
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'csv']).default('text'))
    .action(async (opts: StoreOptions & { format: 'text' | 'json' | 'csv' }) => (await import('./monitor.js')).showInventory(ctx, opts));
  withAdminOptions(inventory.command('approve'))
    .description(
      "Approve a tool's current definition after it changed (drift quarantine), on a running Custos: an admin row; the tool is listed and callable again.",
    )
    .argument('<server>', 'the upstream')
    .argument('<tool>', "the tool's name at the upstream")
    .action(async (server: string, tool: string, opts: AdminFlags) => (await import('./monitor.js')).approveTool(ctx, server, tool, opts));

  const kill = program.command('kill').description('Kill switches: stop one agent, tool, upstream or user at once, on every replica.');
  withAdminOptions(kill.command('set'))
    .description('Stop agent:NAME, tool:SERVER/NAME, upstream:SERVER or user:SUB; the next call is denied (kill_switch) on every replica.')
    .argument('<target>', 'agent:NAME, tool:SERVER/NAME, upstream:SERVER or user:SUB')
    .requiredOption('--reason <text>', 'why (on the admin row and on every denied row)')
    .action(async (target: string, opts: AdminFlags & { reason: string }) => (await import('./monitor.js')).setKill(ctx, target, opts));
  withAdminOptions(kill.command('lift'))
    .description('Lift a kill switch by its id.')
    .argument('<id>', 'the kill switch id')
    .requiredOption('--reason <text>', 'why')
    .action(async (id: string, opts: AdminFlags & { reason: string }) => (await import('./monitor.js')).liftKill(ctx, id, opts));
  withAdminOptions(kill.command('list'))
    .description('The kill switches in force.')
    .option('--json', 'one JSON object per line')
    .action(async (opts: AdminFlags & { json?: boolean }) => (await import('./monitor.js')).listKills(ctx, opts));
}

export function registerCommands(program: Command, ctx: CommandContext): void {
  registerServeCommands(program, ctx);
  registerToolCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerReviewCommands(program, ctx);
  registerMonitorCommands(program, ctx);
  registerEvidenceCommands(program, ctx);
}
