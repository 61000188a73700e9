/** `custos audit verify`, `prove`, `export` and `sinks`, loaded when one of them runs. */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import {
  checkpointSignerOf,
  createAuditStore,
  isCheckpoint,
  loadVerifyKeys,
  proveInclusion,
  verifyChain,
  verifyExport,
  verifyExportFile,
} from '../audit/index.js';
import type { AuditStoreAdmin, ChainHead, Checkpoint, ExportReport, ExportVerifyOptions, VerifyReport } from '../audit/index.js';
import { CustosError } from '../kernel/index.js';
import { carries, formatRecord, readSinkStatus } from '../export/index.js';
import type { ExportFormat } from '../export/index.js';
import type { ResolvedConfig } from '../config/index.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';
import { verifyChainAndCheckpoints } from './verify-once.js';

export interface VerifyAuditOptions extends StoreOptions {
  readonly expectHead?: ChainHead;
  readonly export?: string;
  readonly pubkey?: readonly string[];
  readonly checkpoint?: string;
  readonly anchor?: readonly string[];
}

/**
 * The hash chain of the store (or --export); with checkpoint public keys (--pubkey, and the
 * public half of --config's `audit.checkpoints.signingKey`), the signed checkpoints too. The
 * config file is loaded once, and the store read once.
 */
export async function verifyAudit(ctx: CommandContext, opts: VerifyAuditOptions): Promise<void> {
  const config = opts.config === undefined ? undefined : (await import('../config/index.js')).loadConfig(opts.config);
  const keys = await verifyKeysOf(opts, config);
  if (opts.export !== undefined || opts.anchor?.length || keys.size > 0) return verifyWithKeys(ctx, opts, keys, config);
  const report = await verifyStoreChain(opts, config);
  if (report.ok) {
    ctx.out(`audit trail intact: ${report.count} records${report.head ? `, head seq ${report.head.seq} hash ${report.head.hash}` : ''}${reached(opts)}`);
  } else {
    reportBrokenChain(ctx, report);
  }
}

async function verifyStoreChain(opts: VerifyAuditOptions, config: ResolvedConfig | undefined): Promise<VerifyReport> {
  const store = await openStore(opts, { readonly: true }, config);
  try {
    return await verifyChain(store.readRaw(), opts.expectHead ? { expectHead: opts.expectHead } : {});
  } finally {
    await store.close();
  }
}

const reached = (opts: VerifyAuditOptions): string => (opts.expectHead ? `, reaches the expected head seq ${opts.expectHead.seq}` : '');

function reportBrokenChain(ctx: CommandContext, report: VerifyReport): void {
  ctx.err(`audit trail BROKEN at seq ${report.firstBrokenSeq}: ${report.reason} (${report.count} records read before it verified)`);
  ctx.exitCode = 1;
}

/** Checkpoint public keys by id: each --pubkey file, and the public half of --config's signing key. */
async function verifyKeysOf(opts: VerifyAuditOptions, config: ResolvedConfig | undefined): Promise<Map<string, KeyObject>> {
  const keys = loadVerifyKeys((opts.pubkey ?? []).map((f) => readText(f, 'the public key file')));
  const signingKey = config?.audit.checkpoints.signingKey;
  if (config === undefined || signingKey === undefined) return keys;
  const { createKeyRegistry } = await import('../keys/index.js');
  const registry = createKeyRegistry(config.keys);
  try {
    const { keyId, publicKey } = checkpointSignerOf(signingKey, (id) => registry.signingKey(id));
    return keys.set(keyId, publicKey);
  } finally {
    registry.close();
  }
}

export interface ExportOptions extends StoreOptions {
  readonly format: ExportFormat;
  readonly since?: { seq: number } | { time: number };
  readonly from?: number;
}

/**
 * Streams the trail to stdout in seq order; stops reading as soon as the reader has gone
 * (`| head`). `--since TIME` starts at the first row whose time is at or after it (rows of
 * several replicas may interleave their times, so the scan starts at seq 1).
 */
export async function exportAudit(ctx: CommandContext, opts: ExportOptions): Promise<void> {
  const store = await openStore(opts);
  const fromSeq = opts.since && 'seq' in opts.since ? opts.since.seq : (opts.from ?? 1);
  const since = opts.since && 'time' in opts.since ? opts.since.time : undefined;
  let started = since === undefined;
  try {
    for await (const record of store.read({ fromSeq })) {
      started ||= Date.parse(record.time) >= since!;
      if (started && carries(record, opts.format)) await ctx.write(`${formatRecord(record, opts.format)}\n`);
    }
  } finally {
    await store.close();
  }
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `${what} ${file} cannot be read`, { cause: err });
  }
}

/** A checkpoint file: a checkpoint object, or a proof (`audit prove`) carrying one. */
function readCheckpoint(file: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(readText(file, 'the checkpoint file'));
  } catch (err) {
    if (err instanceof CustosError) throw err;
    throw new CustosError('ERR_CONFIG_INVALID', `the checkpoint file ${file} is not JSON`, { cause: err });
  }
  const candidate = isCheckpoint(value) ? value : (value as { checkpoint?: unknown } | null)?.checkpoint;
  if (!isCheckpoint(candidate)) throw new CustosError('ERR_CONFIG_INVALID', `the checkpoint file ${file} holds no checkpoint`);
  const { tree_size, root_hash, key_id, signature } = candidate;
  return { tree_size, root_hash, key_id, signature };
}

/** verifyExportFile, a file it cannot read named as such (never a pass). */
async function verifyExportFileOrFail(file: string, options: ExportVerifyOptions): Promise<ExportReport> {
  try {
    return await verifyExportFile(file, options);
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `the export ${file} cannot be read`, { cause: err });
  }
}

async function* storeLines(store: AuditStoreAdmin): AsyncGenerator<string> {
  for await (const row of store.readRaw()) yield row.json;
}

/**
 * Offline (--export FILE) or against the store, with the public keys: the chain, the
 * checkpoints in it, a checkpoint held elsewhere (--checkpoint) and every checkpoint of
 * the external anchors (--anchor), which catch a trail cut short or re-chained whole.
 */
async function verifyWithKeys(
  ctx: CommandContext,
  opts: VerifyAuditOptions,
  keys: ReadonlyMap<string, KeyObject>,
  config: ResolvedConfig | undefined,
): Promise<void> {
  if (keys.size === 0)
    throw new CustosError(
      'ERR_CONFIG_INVALID',
      'audit verify --export or --anchor needs at least one --pubkey (or a --config with audit.checkpoints.signingKey)',
    );
  const checkpoint = opts.checkpoint === undefined ? undefined : readCheckpoint(opts.checkpoint);
  const anchored: Checkpoint[] = [];
  for (const spec of opts.anchor ?? []) anchored.push(...(await readAnchorCheckpoints(spec, config)));
  const options = { keys, anchored, ...(checkpoint ? { checkpoint } : {}) };
  if (opts.export !== undefined) {
    printExportReport(ctx, await verifyExportFileOrFail(opts.export, options), anchored.length, 'export intact (offline)');
    return;
  }
  const store = await openStore(opts, { readonly: true }, config);
  try {
    if (opts.expectHead) {
      // The head written down earlier: the chain pass checks it (its break reported first), the signed pass the rest.
      const verified = await verifyChainAndCheckpoints(store.readRaw(), opts.expectHead, options);
      if ('broken' in verified) return reportBrokenChain(ctx, verified.broken);
      printExportReport(ctx, verified.signed, anchored.length, 'audit trail intact', reached(opts));
    } else {
      printExportReport(ctx, await verifyExport(storeLines(store), options), anchored.length, 'audit trail intact');
    }
  } finally {
    await store.close();
  }
}

/** `dir:PATH`, or the name of a `directory` or `s3` sink of the config (--config). */
async function readAnchorCheckpoints(spec: string, config: ResolvedConfig | undefined): Promise<Checkpoint[]> {
  const { readDirectoryAnchor, readS3Anchor } = await import('../export/index.js');
  let contents;
  if (spec.startsWith('dir:')) {
    try {
      contents = readDirectoryAnchor(spec.slice(4));
    } catch (err) {
      throw new CustosError('ERR_CONFIG_INVALID', `the anchor directory ${spec.slice(4)} cannot be read`, { cause: err });
    }
  } else {
    if (config === undefined) throw new CustosError('ERR_CONFIG_INVALID', `--anchor ${spec}: give dir:PATH, or a sink name with --config`);
    const sink = config.export.sinks.find((s) => s.name === spec);
    if (!sink || (sink.type !== 'directory' && sink.type !== 's3'))
      throw new CustosError('ERR_CONFIG_INVALID', `--anchor ${spec}: no directory or s3 sink of that name in export.sinks`);
    contents = sink.type === 's3' ? await readS3Anchor(sink) : readDirectoryAnchor(sink.path);
  }
  if (contents.problems.length) throw new CustosError('ERR_AUDIT_CHAIN_BROKEN', `the anchor ${spec} holds unreadable objects: ${contents.problems.join('; ')}`);
  const checkpoints = contents.records.filter((r) => r.event === 'checkpoint' && isCheckpoint(r.checkpoint)).map((r) => r.checkpoint!);
  if (checkpoints.length === 0) throw new CustosError('ERR_CONFIG_INVALID', `the anchor ${spec} holds no checkpoint yet`);
  return checkpoints;
}

function printExportReport(ctx: CommandContext, report: ExportReport, anchored: number, intact: string, suffix = ''): void {
  if (!report.ok) {
    for (const f of report.findings) ctx.err(`TAMPERED ${f.kind}${f.seq === undefined ? '' : ` at seq ${f.seq}`}: ${f.message}`);
    ctx.err(
      `${intact.startsWith('export') ? 'export' : 'audit trail'} BROKEN: ${report.findings.length} finding(s); ${report.rows} rows verified before the first break`,
    );
    ctx.exitCode = 1;
    return;
  }
  const latest = report.latest
    ? `, ${report.checkpoints} signed checkpoint(s), the latest over rows 1..${report.latest.tree_size} root ${report.latest.root_hash} key ${report.latest.key_id}`
    : ', no checkpoint: rows cut off the end cannot be detected without one (--checkpoint)';
  const anchors = anchored > 0 ? `, reaches and agrees with ${anchored} anchored checkpoint(s)` : '';
  ctx.out(`${intact}: ${report.rows} rows${report.head ? `, head seq ${report.head.seq} hash ${report.head.hash}` : ''}${latest}${anchors}${suffix}`);
}

/** Prints the inclusion proof of one row against the latest checkpoint. */
export async function proveAudit(ctx: CommandContext, seq: number, opts: StoreOptions): Promise<void> {
  const store = await openStore(opts, { readonly: true });
  try {
    const result = await proveInclusion(store, seq);
    if (result.ok) {
      ctx.out(JSON.stringify(result.proof, null, 2));
      return;
    }
    ctx.err(
      result.reason === 'no_such_row'
        ? `no row with seq ${seq} in the trail`
        : `row ${seq} is not covered by a checkpoint yet${result.latestTreeSize === undefined ? ' (the trail has none: set audit.checkpoints)' : ` (the latest covers rows 1..${result.latestTreeSize})`}`,
    );
    ctx.exitCode = 1;
  } finally {
    await store.close();
  }
}

/** `custos audit sinks`: each sink's cursor against the trail's head, from the persisted cursors. */
export async function sinkStatus(ctx: CommandContext, opts: { config: string; json?: boolean }): Promise<void> {
  const { loadConfig } = await import('../config/index.js');
  const config = loadConfig(opts.config);
  const store = await createAuditStore(config.audit.store, { readonly: true });
  let head: number;
  try {
    head = (await store.head()).seq;
  } finally {
    await store.close();
  }
  const statuses = readSinkStatus(config.export.stateDir, config.export.sinks, head);
  if (opts.json) ctx.out(JSON.stringify(statuses, null, 2));
  else if (statuses.length === 0) ctx.out('no sinks configured (export.sinks)');
  for (const s of opts.json ? [] : statuses) {
    const error = s.last_error ? `, last error ${s.last_error.code} ${s.last_error.reason} at ${s.last_error.at} (${s.failures} failures in a row)` : '';
    ctx.out(`${s.name} (${s.type}): ${s.state}, delivered through seq ${s.cursor} of ${s.head}, lag ${s.lag}${error}`);
  }
  if (statuses.some((s) => s.failures > 0)) ctx.exitCode = 1;
}
