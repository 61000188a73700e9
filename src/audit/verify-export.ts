/**
 * Verifies an exported trail offline, with nothing but the export (JSONL lines) and the
 * checkpoint public keys: the hash chain, each checkpoint row's signature, its tree root
 * recomputed from the rows, consistency between consecutive checkpoints (RFC 9162
 * consistency proofs), and, when a checkpoint held elsewhere is given, that the export
 * reaches it and agrees with it. What is wrong is named, not just located.
 */
import type { KeyObject } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditRecord } from '../kernel/index.js';
import { verifyCheckpointSignature } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { LeafTree, hashRowLeaf, verifyConsistency } from './merkle.js';
import { purgedRanges } from './retention-format.js';
import type { ChainHead, VerifyReport } from './types.js';
import { ChainWalk } from './verify-chain.js';
import { checkTaskHere, createChunkPool, rangeLines, verifyThreads } from './verify-parallel.js';
import type { ChunkCheck, ChunkPool } from './verify-parallel.js';

export type FindingKind =
  | 'field_changed' // a row's content no longer matches its hash (or was re-hashed: the next row no longer follows it)
  | 'row_deleted' // a seq is missing
  | 'rows_swapped' // a row stands where another seq belongs, and that seq comes later
  | 'row_inserted' // a row that does not belong: two rows claim one seq, or a row the next one skips over
  | 'truncated' // the export stops before a checkpoint's tree size
  | 'checkpoint_forged' // a checkpoint whose signature does not verify, whose key is unknown, or that covers itself
  | 'checkpoint_root_mismatch' // a validly signed checkpoint whose root the rows no longer give (the chain was rebuilt)
  | 'checkpoint_inconsistent' // a checkpoint that is not an extension of the one before it
  | 'purge_unrecorded' // a purged row (tombstone) that no later retention purge row lists
  | 'purge_unsigned' // a retention purge row that no verified checkpoint covers (anyone with write access could have appended it)
  | 'chain_broken'; // any other break of the chain

export interface Finding {
  readonly kind: FindingKind;
  /** The seq the finding is about, when it is about one row. */
  readonly seq?: number;
  readonly message: string;
}

export interface ExportVerifyOptions {
  /** Checkpoint public keys by key id (several during a rotation). */
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** A checkpoint held outside the export (an earlier `prove`): the export must reach and agree with it. */
  readonly checkpoint?: Checkpoint;
  /**
   * Checkpoints held outside the trail (an external anchor: `custos audit verify --anchor`):
   * each must verify, be reached by the export, and agree with its rows.
   */
  readonly anchored?: readonly Checkpoint[];
  /** Threads that check rows, this one included (1: this thread only; 2: this thread and one worker). Default: `verifyThreads()` (one per core, at most four). */
  readonly threads?: number;
}

export interface ExportReport {
  readonly ok: boolean;
  /** Rows whose chain verified. */
  readonly rows: number;
  readonly head?: ChainHead;
  /** Checkpoints whose signature and root verified (in the export, given and anchored). */
  readonly checkpoints: number;
  /** The latest verified checkpoint (in the export, given or anchored). */
  readonly latest?: Checkpoint;
  readonly findings: readonly Finding[];
}

type Lines = AsyncIterable<string> | Iterable<string>;

/**
 * Verifies the lines in one streaming pass, each parsed once: the chain, then the Merkle
 * tree over the verified rows for every checkpoint. Chunks of rows are checked on worker
 * threads (verify-parallel.ts) and joined here; only when the chain breaks are the lines after
 * the break kept, to name what happened. Lines held in memory are copied to the workers
 * (structured clone): an export in a file is verified faster by verifyExportFile.
 */
export async function verifyExport(lines: Lines, options: ExportVerifyOptions): Promise<ExportReport> {
  return verifyChunks(options, (poolFor) => lineJobs(lines, poolFor));
}

/**
 * verifyExport of a JSONL export file, its lines read as the CLI's line reader reads them (split
 * at `\n`, `\r\n` or `\r`, empty lines skipped). The file is cut into byte ranges at line
 * starts, and each worker reads its own ranges and checks their bytes (no row text copied between
 * threads, a row's hash taken over its bytes); a file that is not a regular file (a pipe) is read
 * as a stream of lines.
 */
export async function verifyExportFile(file: string, options: ExportVerifyOptions): Promise<ExportReport> {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return await verifyExport(streamLines(file), options);
    return await verifyChunks(options, (poolFor) => fileJobs(fd, stat.size, poolFor));
  } finally {
    closeSync(fd);
  }
}

async function* streamLines(file: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) if (line.length > 0) yield line;
}

/** A chunk of the export: its check (started when the walk takes it on), and its lines (read only to walk it row by row). */
interface ChunkJob {
  start(): Promise<ChunkCheck>;
  lines(): readonly string[];
}

type PoolFor = () => ChunkPool | undefined;

async function verifyChunks(options: ExportVerifyOptions, jobsOf: (poolFor: PoolFor) => AsyncIterable<ChunkJob> | Iterable<ChunkJob>): Promise<ExportReport> {
  // Built as the rows verify (a chunk's leaves while the workers check the next ones).
  const leaves = new LeafTree();
  const checkpointRows: AuditRecord[] = [];
  const purgeRows: AuditRecord[] = [];
  const keep = (record: AuditRecord): void => {
    if (record.event === 'checkpoint') checkpointRows.push(record);
    else if (purgedRanges(record)) purgeRows.push(record);
  };
  const walk = new ChainWalk({
    onRecord: (record) => {
      leaves.append(hashRowLeaf(record.hash));
      keep(record);
    },
  });
  const threads = options.threads ?? verifyThreads();
  let pool: ChunkPool | undefined;
  // Threads only for an export of more than one chunk: a short one is done before they would start.
  const poolFor = (): ChunkPool | undefined => (pool ??= threads > 1 ? createChunkPool(threads) : undefined);
  let tail: Tail;
  try {
    tail = await walkChunks(
      jobsOf(poolFor),
      () => (pool ? 2 * pool.threads : 0),
      walk,
      (check) => {
        const special = check.special.map((text) => JSON.parse(text) as AuditRecord);
        if (!walk.advance(check.rows, check.first, check.last, special)) return false;
        leaves.append(check.leaves);
        special.forEach(keep);
        return true;
      },
    );
  } finally {
    await pool?.close();
  }
  const chain = walk.finish();
  const findings: Finding[] = [];
  if (!chain.ok) findings.push(classifyBreak(chain, { lines: tail.lines, offset: chain.count - (tail.walked - 1) }));
  const checked = checkCheckpoints(checkpointRows, leaves, options.keys, findings);
  let latest = checked.latest;
  let count = checked.count;
  const held = [...(options.anchored ?? []), ...(options.checkpoint ? [options.checkpoint] : [])];
  for (const c of held) {
    const given = checkGiven(c, leaves, chain.ok, options.keys, latest, findings);
    if (given) {
      latest = given;
      count += 1;
    }
  }
  for (const record of purgeRows) {
    if ((latest?.tree_size ?? 0) < record.seq)
      findings.push({
        kind: 'purge_unsigned',
        seq: record.seq,
        message: `the retention purge at seq ${record.seq} is under no signed checkpoint: it cannot be told from a purge appended by someone with write access`,
      });
  }
  const base = { ok: findings.length === 0, rows: chain.count, checkpoints: count, findings };
  return { ...base, ...(chain.head ? { head: chain.head } : {}), ...(latest ? { latest } : {}) };
}

/** The last (at most three) lines walked, the breaking one last, then every line not walked. */
interface Tail {
  readonly lines: readonly string[];
  readonly walked: number;
}

type CleanChunk = Extract<ChunkCheck, { clean: true }>;

const CHUNK_ROWS = 4096;
/** The byte ranges a file is cut into (about 2,300 rows of 0.9 KB). */
const CHUNK_BYTES = 2 * 1024 * 1024;

/** Lines held in memory, in chunks of CHUNK_ROWS; the pool (if any) from the first full chunk on. */
async function* lineJobs(lines: Lines, poolFor: PoolFor): AsyncGenerator<ChunkJob> {
  let chunk: string[] = [];
  let pool: ChunkPool | undefined;
  const job = (rows: string[]): ChunkJob => {
    pool ??= rows.length === CHUNK_ROWS ? poolFor() : undefined;
    const p = pool;
    // Without workers the chunk is checked here, the same way: cheaper per row than stepping the walk through it.
    return { start: () => (p ? p.check({ lines: rows }) : Promise.resolve(checkTaskHere({ lines: rows }))), lines: () => rows };
  };
  if (Symbol.iterator in lines) {
    for (const line of lines) {
      if (chunk.push(line) < CHUNK_ROWS) continue;
      yield job(chunk);
      chunk = [];
    }
  } else {
    for await (const line of lines) {
      if (chunk.push(line) < CHUNK_ROWS) continue;
      yield job(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) yield job(chunk);
}

/** An export file in byte ranges of CHUNK_BYTES; the pool (if any) when there is more than one. */
function* fileJobs(fd: number, size: number, poolFor: PoolFor): Generator<ChunkJob> {
  const pool = size > CHUNK_BYTES ? poolFor() : undefined;
  for (let from = 0; from < size; from += CHUNK_BYTES) {
    const task = { fd, from, to: Math.min(size, from + CHUNK_BYTES), size };
    yield { start: () => (pool ? pool.check(task) : Promise.resolve(checkTaskHere(task))), lines: () => rangeLines(fd, task.from, task.to, size) };
  }
}

/**
 * Walks the chunks in order, up to `ahead()` of them checked ahead (on the pool's threads). A
 * clean chunk is handed to `take` (false: it does not join the head); any other chunk is walked
 * row by row here.
 */
async function walkChunks(
  jobs: AsyncIterable<ChunkJob> | Iterable<ChunkJob>,
  ahead: () => number,
  walk: ChainWalk,
  take: (check: CleanChunk) => boolean,
): Promise<Tail> {
  const queued: Array<{ job: ChunkJob; check?: Promise<ChunkCheck> }> = [];
  let recent: readonly string[] = [];
  let broken: { tail: string[]; walked: number } | undefined;
  const settle = async (): Promise<void> => {
    const { job, check } = queued.shift()!;
    if (broken) {
      broken.tail.push(...job.lines());
      return;
    }
    const result = await check;
    if (result?.clean && (result.rows === 0 || take(result))) {
      recent = [...recent, ...result.tail].slice(-3);
      return;
    }
    const chunk = job.lines();
    for (let i = 0; i < chunk.length; i += 1) {
      if (walk.step(chunk[i]!)) continue;
      const before = [...recent, ...chunk.slice(0, i)].slice(-2);
      broken = { tail: [...before, ...chunk.slice(i)], walked: before.length + 1 };
      return;
    }
    recent = [...recent, ...chunk].slice(-3);
  };
  const push = async (job: ChunkJob): Promise<void> => {
    const check = broken ? undefined : job.start();
    check?.catch(() => undefined); // awaited in settle, in order
    queued.push({ job, ...(check ? { check } : {}) });
    while (queued.length > ahead()) await settle();
  };
  if (Symbol.iterator in jobs) for (const job of jobs) await push(job);
  else for await (const job of jobs) await push(job);
  while (queued.length > 0) await settle();
  return broken ? { lines: broken.tail, walked: broken.walked } : { lines: recent, walked: recent.length };
}

function seqOf(line: string | undefined): number | undefined {
  try {
    const seq = (JSON.parse(line ?? '') as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lines around a break: `lines[i]` is line number `offset + i` of the export (0-based),
 * from up to two verified lines before the break to the end.
 */
export interface BreakWindow {
  readonly lines: readonly string[];
  readonly offset: number;
}

/** Names the first break verifyChain found, from the shape of the lines around it. */
export function classifyBreak(report: VerifyReport, window: BreakWindow): Finding {
  const at = report.firstBrokenSeq ?? report.count + 1;
  const line = (n: number): string | undefined => window.lines[n - window.offset];
  const after = window.lines.slice(report.count - window.offset).map(seqOf);
  const found = after[0];
  // The verified prefix holds seqs 1..count once each; the rest is in `after`.
  const claimsOf = (seq: number): number => (seq >= 1 && seq <= report.count ? 1 : 0) + after.filter((s) => s === seq).length;
  for (const seq of new Set([at, found])) {
    if (seq === undefined) continue;
    const claims = claimsOf(seq);
    if (claims > 1) return { kind: 'row_inserted', seq, message: `${claims} rows claim seq ${seq}: a row was inserted` };
  }
  switch (report.reason) {
    case 'seq_gap':
      return after.slice(1).includes(at)
        ? { kind: 'rows_swapped', seq: at, message: `seq ${found ?? '?'} stands where seq ${at} belongs and seq ${at} comes later: rows were swapped` }
        : { kind: 'row_deleted', seq: at, message: `seq ${at} is missing: the row was deleted` };
    case 'prev_hash_mismatch':
      return classifyUnlinked(at, line(report.count), line(report.count - 2));
    case 'purge_unrecorded':
      return {
        kind: 'purge_unrecorded',
        seq: at,
        message: `row ${at} is purged but no retention purge row after it lists it: its body was removed outside a purge`,
      };
    case 'hash_mismatch':
    case 'non_canonical':
    case 'unparseable':
    case 'malformed':
    case 'schema_mismatch':
    case 'undecryptable':
      return { kind: 'field_changed', seq: at, message: `row ${at} was changed after it was written: its content no longer gives its hash (${report.reason})` };
    default:
      return { kind: 'chain_broken', seq: at, message: `the chain breaks at seq ${at} (${report.reason ?? 'unknown'})` };
  }
}

/** Row `at` does not follow row at-1: either at-1 was inserted (row `at` follows at-2) or at-1 was changed and re-hashed. */
function classifyUnlinked(at: number, breaking: string | undefined, twoBefore: string | undefined): Finding {
  const prevHash = (JSON.parse(breaking ?? '{}') as Partial<AuditRecord>).prev_hash;
  const beforePrevious = twoBefore === undefined ? undefined : (JSON.parse(twoBefore) as AuditRecord).hash;
  if (beforePrevious !== undefined && prevHash === beforePrevious) {
    return { kind: 'row_inserted', seq: at - 1, message: `row ${at - 1} was inserted: row ${at} follows row ${at - 2}` };
  }
  return { kind: 'field_changed', seq: at - 1, message: `row ${at - 1} was changed and re-hashed: row ${at} no longer follows it` };
}

interface CheckedCheckpoints {
  readonly count: number;
  readonly latest?: Checkpoint;
}

function checkCheckpoints(records: readonly AuditRecord[], leaves: LeafTree, keys: ExportVerifyOptions['keys'], findings: Finding[]): CheckedCheckpoints {
  let latest: Checkpoint | undefined;
  let count = 0;
  for (const record of records) {
    if (record.event !== 'checkpoint') continue;
    const c = record.checkpoint;
    const sig = verifyCheckpointSignature(c, keys);
    if (!sig.ok || !c) {
      findings.push({
        kind: 'checkpoint_forged',
        seq: record.seq,
        message: `the checkpoint at seq ${record.seq} is forged: ${sig.ok ? 'malformed' : sig.reason}`,
      });
      continue;
    }
    if (c.tree_size >= record.seq) {
      findings.push({
        kind: 'checkpoint_forged',
        seq: record.seq,
        message: `the checkpoint at seq ${record.seq} claims rows up to ${c.tree_size}, past itself`,
      });
      continue;
    }
    if (!rootMatches(c, leaves, record.seq, findings) || !consistent(latest, c, leaves, record.seq, findings)) continue;
    latest = !latest || c.tree_size >= latest.tree_size ? c : latest;
    count += 1;
  }
  return latest ? { count, latest } : { count };
}

function rootMatches(c: Checkpoint, leaves: LeafTree, seq: number | undefined, findings: Finding[]): boolean {
  if (leaves.root(c.tree_size).toString('hex') === c.root_hash) return true;
  const where = seq === undefined ? 'the checkpoint given' : `the checkpoint at seq ${seq}`;
  findings.push({
    kind: 'checkpoint_root_mismatch',
    ...(seq === undefined ? {} : { seq }),
    message: `${where} signs a root over rows 1..${c.tree_size} that the rows no longer give: rows before it were rewritten`,
  });
  return false;
}

function consistent(before: Checkpoint | undefined, c: Checkpoint, leaves: LeafTree, seq: number | undefined, findings: Finding[]): boolean {
  if (!before) return true;
  const [first, second] = before.tree_size <= c.tree_size ? [before, c] : [c, before];
  const proof = leaves.consistencyProof(first.tree_size, second.tree_size);
  if (verifyConsistency(first.tree_size, second.tree_size, Buffer.from(first.root_hash, 'hex'), Buffer.from(second.root_hash, 'hex'), proof)) return true;
  findings.push({
    kind: 'checkpoint_inconsistent',
    ...(seq === undefined ? {} : { seq }),
    message: `checkpoint of size ${c.tree_size} is not consistent with the checkpoint of size ${before.tree_size}`,
  });
  return false;
}

/** The checkpoint held elsewhere: signed, reached by the export, and agreeing with its rows. */
function checkGiven(
  c: Checkpoint,
  leaves: LeafTree,
  chainOk: boolean,
  keys: ExportVerifyOptions['keys'],
  latest: Checkpoint | undefined,
  findings: Finding[],
): Checkpoint | undefined {
  const sig = verifyCheckpointSignature(c, keys);
  if (!sig.ok) {
    findings.push({ kind: 'checkpoint_forged', message: `the checkpoint given is forged: ${sig.reason}` });
    return undefined;
  }
  if (c.tree_size > leaves.size) {
    if (chainOk)
      findings.push({
        kind: 'truncated',
        seq: leaves.size + 1,
        message: `the export ends at seq ${leaves.size} but the checkpoint given covers rows 1..${c.tree_size}: rows were cut off the end`,
      });
    return undefined;
  }
  if (!rootMatches(c, leaves, undefined, findings)) return undefined;
  if (!consistent(latest, c, leaves, undefined, findings)) return undefined;
  return latest && latest.tree_size > c.tree_size ? latest : c;
}
