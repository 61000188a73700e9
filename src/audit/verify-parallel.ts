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
import { hash } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import { canonicalTextScan, scanCanonicalText } from './canonical-text.js';
import { hashRowLeaf } from './merkle.js';

/** What a worker says of one chunk. Not clean: some row needs the sequential verifier (a break, a tombstone, a form not shown canonical). */
export type ChunkCheck =
  | { readonly clean: false }
  | {
      readonly clean: true;
      /** The rows' Merkle leaves, 32 bytes each, in order. */
      readonly leaves: Uint8Array;
      readonly first: { readonly seq: number; readonly prevHash: string };
      readonly last: { readonly seq: number; readonly hash: string };
      /** Indexes (in the chunk) of `checkpoint` and `admin` rows: the verifier reads those itself. */
      readonly special: readonly number[];
    };

/**
 * Checks a chunk as the sequential verifier checks a `custos.audit/v1` row whose text is shown
 * canonical (verify-chain.ts `checkText`), plus the links inside the chunk, from one scan of
 * each text (canonical-text.ts): a row the scan does not show valid and canonical makes the
 * chunk not clean, and the sequential verifier then names what is wrong. Self-contained: it
 * runs in the workers from its source, with the functions it is given.
 */
export function checkChunk(
  lines: readonly string[],
  schema: string,
  scan: (
    text: string,
  ) => { schema?: unknown; seq?: unknown; prev_hash?: unknown; hash?: unknown; event?: unknown; hashFrom: number; hashTo: number } | undefined,
  sha256Hex: (text: string) => string,
  rowLeaf: (hashHex: string) => Uint8Array,
): ChunkCheck {
  const hex64 = /^[0-9a-f]{64}$/;
  const leaves = new Uint8Array(32 * lines.length);
  const special: number[] = [];
  let seq = 0;
  let head = '';
  let prevHash = '';
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!;
    // One pass over the text: valid JSON in canonical form, and the members the chain needs (no parse, no re-serialising).
    const r = scan(text);
    if (r === undefined || r.schema !== schema) return { clean: false };
    if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || typeof r.prev_hash !== 'string' || typeof r.hash !== 'string') return { clean: false };
    if (!hex64.test(r.hash) || (i > 0 && (r.seq !== seq + 1 || r.prev_hash !== head))) return { clean: false };
    if (r.hashFrom < 0) return { clean: false };
    if (sha256Hex(r.prev_hash + text.slice(0, r.hashFrom) + text.slice(r.hashTo)) !== r.hash) return { clean: false };
    leaves.set(rowLeaf(r.hash), 32 * i);
    if (r.event === 'checkpoint' || r.event === 'admin') special.push(i);
    if (i === 0) prevHash = r.prev_hash;
    seq = r.seq;
    head = r.hash;
  }
  if (lines.length === 0) return { clean: false };
  return { clean: true, leaves, first: { seq: seq - lines.length + 1, prevHash }, last: { seq, hash: head }, special };
}

/** The worker's loop: one chunk per message, answered with its check (leaves transferred). */
function runChunkWorker(
  port: { on(event: 'message', fn: (m: { id: number; lines: string[] }) => void): void; postMessage(m: unknown, transfer?: unknown[]): void },
  check: (lines: string[]) => { clean: boolean; leaves?: Uint8Array },
): void {
  port.on('message', ({ id, lines }) => {
    const result = check(lines);
    port.postMessage({ id, result }, result.leaves ? [result.leaves.buffer] : []);
  });
}

/** hashRowLeaf (merkle.ts) for 64 hex digits, the only form a clean row has, in the worker. */
const rowLeafSource = "(hex) => { const input = Buffer.alloc(33); input.write(hex, 1, 'hex'); return hash('sha256', input, 'buffer'); };";

function workerSource(): string {
  return [
    "const { parentPort } = require('node:worker_threads');",
    "const { hash } = require('node:crypto');",
    `const rowLeaf = ${rowLeafSource}`,
    `const scan = (${canonicalTextScan.toString()})();`,
    `const checkChunk = ${checkChunk.toString()};`,
    `const runChunkWorker = ${runChunkWorker.toString()};`,
    `runChunkWorker(parentPort, (lines) => checkChunk(lines, ${JSON.stringify(AUDIT_SCHEMA)}, scan, (t) => hash('sha256', t), rowLeaf));`,
  ].join('\n');
}

/** Checks chunks on `threads` workers; `check` resolves in any order, the caller awaits in its own. */
export interface ChunkPool {
  readonly threads: number;
  check(lines: string[]): Promise<ChunkCheck>;
  close(): Promise<void>;
}

export function createChunkPool(threads: number): ChunkPool {
  const waiting = new Map<number, { resolve(c: ChunkCheck): void; reject(e: Error): void }>();
  let nextId = 0;
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(workerSource(), { eval: true });
    worker.on('message', ({ id, result }: { id: number; result: ChunkCheck }) => {
      waiting.get(id)?.resolve(result);
      waiting.delete(id);
    });
    worker.on('error', (err) => {
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    });
    return worker;
  });
  return {
    threads,
    check: (lines) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        workers[id % workers.length]!.postMessage({ id, lines });
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Threads for verification by default: this thread alone on two cores or fewer (measured on
 * this project's 2-core machine: the workers cost about twice the CPU per row, so they gain
 * nothing there), else one per core, at most four.
 */
export function verifyThreads(cores = os.availableParallelism()): number {
  return cores <= 2 ? 1 : Math.min(4, cores);
}

/** The same check on this thread: verifyExport's chunks when it has no pool of workers (and tests). */
export function checkChunkHere(lines: readonly string[]): ChunkCheck {
  return checkChunk(lines, AUDIT_SCHEMA, scanCanonicalText, (t) => hash('sha256', t), hashRowLeaf);
}
