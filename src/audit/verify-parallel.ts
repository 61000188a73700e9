/**
 * The verifier's per-row work on worker threads. The chain link is sequential, but each row's
 * own checks (parse, canonical form, hash over its text, its Merkle leaf) and the links between
 * the rows of one chunk are not: a worker checks a chunk of lines and answers whether every row
 * in it is plainly sound ("clean") with its leaves and its first and last links. The main thread
 * joins the chunks (each must follow the one before) and walks any chunk that is not clean one row
 * at a time with the sequential verifier, so every finding and report is exactly the sequential
 * one. The worker code is shipped as source (`Function.prototype.toString`), like the SQLite
 * writer's, so the same code runs from dist/ and from the TypeScript sources under test.
 */
import * as nodeBuffer from 'node:buffer';
import { hash } from 'node:crypto';
import { readSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import { canonicalTextScan, scanCanonicalText } from './canonical-text.js';

/** What a worker says of one chunk. Not clean: some row needs the sequential verifier (a break, a tombstone, a form not shown canonical). */
export type ChunkCheck =
  | { readonly clean: false }
  | {
      readonly clean: true;
      /** The rows in the chunk (0: a byte range in which no line starts). */
      readonly rows: number;
      /** The rows' Merkle leaves, 32 bytes each, in order. */
      readonly leaves: Uint8Array;
      readonly first: { readonly seq: number; readonly prevHash: string };
      readonly last: { readonly seq: number; readonly hash: string };
      /** The texts of its `checkpoint` and `admin` rows: the verifier reads those itself. */
      readonly special: readonly string[];
      /** Its last (at most three) lines: where a break in the next chunk is named from. */
      readonly tail: readonly string[];
    };

type Scan = (
  text: string,
) => { schema?: unknown; seq?: unknown; prev_hash?: unknown; hash?: unknown; event?: unknown; hashFrom: number; hashTo: number } | undefined;

/**
 * Checks a chunk as the sequential verifier checks a `custos.audit/v1` row whose text is shown
 * canonical (verify-chain.ts `checkText`), plus the links inside the chunk, from one scan of
 * each text (canonical-text.ts): a row the scan does not show valid and canonical makes the
 * chunk not clean, and the sequential verifier then names what is wrong. `rowHash(i, text, prevHash, from, to)`
 * is SHA-256(prevHash ‖ text without [from, to)) as 32 latin1 characters (over the file's bytes
 * when it has them; a string digest costs no ArrayBuffer); `leafInto` checks it against the row's
 * hash and writes its Merkle leaf. Self-contained: it runs in the workers from its source, with
 * the functions it is given.
 */
export function checkChunk(
  lines: readonly string[],
  schema: string,
  scan: Scan,
  rowHash: (i: number, text: string, prevHash: string, from: number, to: number) => string,
  leafInto: LeafInto,
): ChunkCheck {
  const leaves = new Uint8Array(32 * lines.length);
  const special: string[] = [];
  let seq = 0;
  let head = '';
  let prevHash = '';
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!;
    // One pass over the text: valid JSON in canonical form, and the members the chain needs (no parse, no re-serialising).
    const r = scan(text);
    if (r === undefined || r.schema !== schema) return { clean: false };
    if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || typeof r.prev_hash !== 'string' || typeof r.hash !== 'string') return { clean: false };
    if (r.hash.length !== 64 || (i > 0 && (r.seq !== seq + 1 || r.prev_hash !== head))) return { clean: false };
    if (r.hashFrom < 0) return { clean: false };
    if (!leafInto(rowHash(i, text, r.prev_hash, r.hashFrom, r.hashTo), r.hash, leaves, i)) return { clean: false };
    if (r.event === 'checkpoint' || r.event === 'admin') special.push(text);
    if (i === 0) prevHash = r.prev_hash;
    seq = r.seq;
    head = r.hash;
  }
  if (lines.length === 0) return { clean: false };
  return {
    clean: true,
    rows: lines.length,
    leaves,
    first: { seq: seq - lines.length + 1, prevHash },
    last: { seq, hash: head },
    special,
    tail: lines.slice(-3),
  };
}

/** The bytes of the lines of an export file whose first byte lies in [from, to): `bytes[start, end)`, split at `\n` by the caller. */
export interface RangeBytes {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/**
 * Reads the lines of the file open as `fd` (`size` bytes) that begin in [from, to): a line begins
 * at 0 or after a `\n`, so every line belongs to exactly one range, however the file is cut.
 * Self-contained (it runs in the workers from its source).
 */
export function readRange(
  fd: number,
  from: number,
  to: number,
  size: number,
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number,
  held: { bytes: Uint8Array },
): RangeBytes {
  const begin = from === 0 ? 0 : from - 1; // the byte before the range says whether a line begins at `from`
  // The thread's read buffer is reused from range to range (a range is checked before the next is read).
  const want = Math.min(size, to + 65536) - begin;
  if (held.bytes.length < want) held.bytes = new Uint8Array(Math.max(want, 2 * held.bytes.length));
  let bytes = held.bytes.subarray(0, want);
  let length = 0;
  const fill = (): void => {
    while (length < bytes.length) {
      const n = readSync(fd, bytes, length, bytes.length - length, begin + length);
      if (n === 0) throw new Error('the export file ended while it was read (was it cut meanwhile?)');
      length += n;
    }
  };
  fill();
  const start = from === 0 ? 0 : bytes.indexOf(0x0a) + 1;
  if (start === 0 && from !== 0) return { bytes, start: 0, end: 0 };
  if (begin + start >= to) return { bytes, start, end: start };
  // The range ends after the first `\n` at or past its last byte (the line begun before `to` ends there), or at the end of the file.
  let search = Math.max(start, to - 1 - begin);
  for (;;) {
    const nl = bytes.indexOf(0x0a, search);
    if (nl >= 0) return { bytes, start, end: nl + 1 };
    if (begin + length >= size) return { bytes, start, end: length };
    search = length;
    const grown = new Uint8Array(Math.min(size - begin, 2 * bytes.length));
    grown.set(bytes);
    bytes = grown;
    held.bytes = grown;
    fill();
  }
}

/**
 * Checks the lines of a byte range of the export file (readRange) with `checkChunk`: lines split
 * at `\n`, empty lines skipped (as the line reader does); a line with a `\r` or invalid UTF-8 is
 * not shown clean (the sequential verifier then reads the range as the line reader would). The
 * row hash of an ASCII line is taken over its bytes, copied once into one reused buffer.
 */
export function checkRange(
  range: RangeBytes,
  schema: string,
  scan: Scan,
  sha256: (data: Uint8Array | string) => string,
  leafInto: LeafInto,
  text: {
    decode(bytes: Uint8Array, from: number, to: number, encoding?: 'utf8' | 'latin1'): string;
    isAscii(bytes: Uint8Array): boolean;
    isUtf8(bytes: Uint8Array): boolean;
  },
): ChunkCheck {
  const { bytes, start, end } = range;
  if (start === end)
    return { clean: true, rows: 0, leaves: new Uint8Array(0), first: { seq: 0, prevHash: '' }, last: { seq: 0, hash: '' }, special: [], tail: [] };
  const allAscii = text.isAscii(bytes.subarray(start, end));
  // An ASCII range is decoded once, its lines cut from it (no copy per line).
  const whole = allAscii ? text.decode(bytes, start, end, 'latin1') : '';
  const lines: string[] = [];
  /** Where each line begins in `bytes`, or −1 for a line that is not ASCII (hashed from its text). */
  const at: number[] = [];
  for (let s = start; s < end;) {
    // The newline looked for in the decoded text when there is one (a string search is faster than a typed array's).
    let e = allAscii ? whole.indexOf('\n', s - start) + start : bytes.indexOf(0x0a, s);
    if (e < start || e < 0 || e > end) e = end;
    if (e > s) {
      const ascii = allAscii || text.isAscii(bytes.subarray(s, e));
      if (!ascii && !text.isUtf8(bytes.subarray(s, e))) return { clean: false };
      at.push(ascii ? s : -1);
      lines.push(allAscii ? whole.slice(s - start, e - start) : text.decode(bytes, s, e));
    }
    s = e + 1;
  }
  let scratch = new Uint8Array(4096);
  const rowHash = (i: number, line: string, prevHash: string, from: number, to: number): string => {
    const offset = at[i]!;
    if (offset < 0 || prevHash.length !== 64) return sha256(prevHash + line.slice(0, from) + line.slice(to));
    const length = 64 + line.length - (to - from);
    if (scratch.length < length) scratch = new Uint8Array(2 * length);
    for (let k = 0; k < 64; k += 1) scratch[k] = prevHash.charCodeAt(k);
    scratch.set(bytes.subarray(offset, offset + from), 64);
    scratch.set(bytes.subarray(offset + to, offset + line.length), 64 + from);
    return sha256(scratch.subarray(0, length));
  };
  return checkChunk(lines, schema, scan, rowHash, leafInto);
}

/** A chunk to check: lines held in memory, or a byte range of an export file open as `fd` (readRange). */
export type ChunkTask = { readonly lines: readonly string[] } | { readonly fd: number; readonly from: number; readonly to: number; readonly size: number };

/** The worker's loop: one task per message, answered with its check (leaves transferred). */
function runChunkWorker(
  port: { on(event: 'message', fn: (m: { id: number; task: ChunkTask }) => void): void; postMessage(m: unknown, transfer?: unknown[]): void },
  check: (task: ChunkTask) => { clean: boolean; leaves?: Uint8Array },
): void {
  port.on('message', ({ id, task }) => {
    let result;
    try {
      result = check(task);
    } catch (err) {
      port.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    port.postMessage({ id, result }, result.leaves && result.leaves.length > 0 ? [result.leaves.buffer] : []);
  });
}

/** Whether a row's digest (32 latin1 characters) is its `hash` (64 lower-case hex digits); if so its Merkle leaf is written at `leaves[32i]`. */
type LeafInto = (digest: string, hashHex: string, leaves: Uint8Array, i: number) => boolean;

/** LeafInto for one thread: the leaf of merkle.ts hashRowLeaf, SHA-256(0x00 ‖ digest), through one reused buffer and string digests. */
function leafWriter(sha256: (data: Uint8Array) => string, bufferOf: (u: Uint8Array) => Buffer): LeafInto {
  const input = bufferOf(new Uint8Array(33));
  let view: { of: Uint8Array; buffer: Buffer } = { of: new Uint8Array(0), buffer: bufferOf(new Uint8Array(0)) }; // the chunk's leaves as a Buffer, made once per chunk
  return (digest, hashHex, leaves, i) => {
    input.write(digest, 1, 'latin1');
    if (input.toString('hex', 1, 33) !== hashHex) return false;
    if (view.of !== leaves) view = { of: leaves, buffer: bufferOf(leaves) };
    view.buffer.write(sha256(input), 32 * i, 'latin1');
    return true;
  };
}

type TextHelpers = Parameters<typeof checkRange>[5];

/** The text helpers checkRange takes, from node:buffer. */
function textHelpers(buffer: {
  isAscii(b: Uint8Array): boolean;
  isUtf8(b: Uint8Array): boolean;
  Buffer: { from(a: ArrayBufferLike, o: number, l: number): { toString(e: 'utf8' | 'latin1'): string } };
}): TextHelpers {
  return {
    decode: (bytes, from, to, encoding = 'utf8') => buffer.Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString(encoding),
    isAscii: (b) => buffer.isAscii(b),
    isUtf8: (b) => buffer.isUtf8(b),
  };
}

/** The check of one task, on this thread or in a worker, from the functions it is given. */
function checkTask(
  task: ChunkTask,
  schema: string,
  scan: Scan,
  sha256: (data: Uint8Array | string) => string,
  leafInto: LeafInto,
  text: TextHelpers,
  readSync: Parameters<typeof readRange>[4],
  held: { bytes: Uint8Array },
): ChunkCheck {
  if ('lines' in task) return checkChunk(task.lines, schema, scan, (_i, line, prev, from, to) => sha256(prev + line.slice(0, from) + line.slice(to)), leafInto);
  return checkRange(readRange(task.fd, task.from, task.to, task.size, readSync, held), schema, scan, sha256, leafInto, text);
}

function workerSource(): string {
  return [
    "const { parentPort } = require('node:worker_threads');",
    "const { hash } = require('node:crypto');",
    "const { readSync } = require('node:fs');",
    "const buffer = require('node:buffer');",
    `const checkChunk = ${checkChunk.toString()};`,
    `const readRange = ${readRange.toString()};`,
    `const checkRange = ${checkRange.toString()};`,
    `const checkTask = ${checkTask.toString()};`,
    `const leafWriter = ${leafWriter.toString()};`,
    `const textHelpers = ${textHelpers.toString()};`,
    `const runChunkWorker = ${runChunkWorker.toString()};`,
    `const scan = (${canonicalTextScan.toString()})();`,
    "const sha256 = (data) => hash('sha256', data, 'binary');",
    'const leafInto = leafWriter(sha256, (u) => Buffer.from(u.buffer, u.byteOffset, u.length));',
    'const text = textHelpers(buffer);',
    'const held = { bytes: new Uint8Array(0) };',
    `runChunkWorker(parentPort, (task) => checkTask(task, ${JSON.stringify(AUDIT_SCHEMA)}, scan, sha256, leafInto, text, readSync, held));`,
  ].join('\n');
}

/**
 * Checks chunks on `threads` threads: this one and `threads` − 1 workers (this thread checks a
 * chunk between the workers' answers, so one worker fewer is started and the first chunks are
 * checked while the workers start). A worker holds up to two chunks, so it is not idle while this
 * thread checks one. `check` resolves in any order; the caller awaits in its own.
 */
export interface ChunkPool {
  readonly threads: number;
  check(task: ChunkTask): Promise<ChunkCheck>;
  close(): Promise<void>;
}

export function createChunkPool(threads: number): ChunkPool {
  const waiting = new Map<number, { resolve(c: ChunkCheck): void; reject(e: Error): void }>();
  const queue: Array<{ id: number; task: ChunkTask }> = [];
  let nextId = 0;
  let failed: Error | undefined;
  let hereBusy = false;
  const settle = (id: number, result: ChunkCheck | undefined, error?: string): void => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (error !== undefined) w?.reject(new Error(`a verification thread failed: ${error}`));
    else w?.resolve(result!);
  };
  const fail = (err: Error): void => {
    failed ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const workers = Array.from({ length: Math.max(1, threads - 1) }, () => {
    const worker = { thread: new Worker(workerSource(), { eval: true }), holding: 0 };
    worker.thread.on('message', ({ id, result, error }: { id: number; result?: ChunkCheck; error?: string }) => {
      worker.holding -= 1;
      settle(id, result, error);
      dispatch();
    });
    worker.thread.on('error', fail);
    return worker;
  });
  const runHere = (): void => {
    const next = queue.shift();
    if (!next) {
      hereBusy = false;
      return;
    }
    try {
      settle(next.id, checkTaskHere(next.task));
    } catch (err) {
      settle(next.id, undefined, err instanceof Error ? err.message : String(err));
    }
    setImmediate(runHere); // the workers' answers are taken between two chunks
  };
  function dispatch(): void {
    for (const worker of workers) {
      while (worker.holding < 2 && queue.length > 0) {
        worker.holding += 1;
        worker.thread.postMessage(queue.shift()!);
      }
    }
    if (threads > 1 && !hereBusy && queue.length > 0) {
      hereBusy = true;
      setImmediate(runHere);
    }
  }
  return {
    threads,
    check: (task) =>
      new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        queue.push({ id, task });
        dispatch();
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.thread.terminate()));
    },
  };
}

/**
 * Threads for verification by default, this one included: one per core, at most four (on one
 * core, this thread alone). Measured on this project's 2-core machine (docs/performance.md, audit
 * trail fifth pass): this thread and one worker cost within 10 % of this thread's CPU per row of
 * an export file, and gained 1.7× in wall time when the second core was free.
 */
export function verifyThreads(cores = os.availableParallelism()): number {
  return cores <= 1 ? 1 : Math.min(4, cores);
}

const sha256Here = (data: Uint8Array | string): string => hash('sha256', data, 'binary');
const leafHere = leafWriter(sha256Here, (u) => Buffer.from(u.buffer, u.byteOffset, u.length));
const textHere = textHelpers(nodeBuffer);
/** This thread's read buffer (readRange). */
const heldHere = { bytes: new Uint8Array(0) };

/** The same check on this thread: verifyExport's chunks when it has no pool of workers (and tests). */
export function checkTaskHere(task: ChunkTask): ChunkCheck {
  return checkTask(task, AUDIT_SCHEMA, scanCanonicalText, sha256Here, leafHere, textHere, readSync, heldHere);
}

/** checkTaskHere of lines held in memory. */
export function checkChunkHere(lines: readonly string[]): ChunkCheck {
  return checkTaskHere({ lines });
}

/** The lines of a byte range of the export file, read and split on this thread as the CLI's line reader splits a file (a chunk that was not clean is walked from them). */
export function rangeLines(fd: number, from: number, to: number, size: number): string[] {
  const { bytes, start, end } = readRange(fd, from, to, size, readSync, heldHere);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start)
    .toString('utf8')
    .split(/\r\n|\n|\r/)
    .filter((line) => line.length > 0);
}
