/**
 * Runs one sink: reads the trail from the sink's cursor, delivers a batch, and only then
 * moves the cursor. A failed delivery is retried, whole, with capped exponential backoff
 * until the destination takes it; rows written meanwhile wait in the trail, not in memory.
 */
import type { AuditRecord, AuditStore } from '../kernel/index.js';
import type { ChainHead } from '../audit/index.js';
import type { CursorStore } from './cursor.js';
import { deliveryFailed, failureReason } from './format.js';
import type { Sink, SinkCursor, SinkStatus } from './types.js';

export interface TrailReader {
  read: AuditStore['read'];
  head?(): Promise<ChainHead>;
}

export interface SinkRunnerOptions {
  readonly sink: Sink;
  readonly store: TrailReader;
  readonly cursors: CursorStore;
  readonly batchSize: number;
  /** Wait between polls once caught up (default 1000 ms). */
  readonly pollMs?: number;
  /** Backoff after a failure: min doubles per consecutive failure up to max (default 500 ms … 30 s). */
  readonly retry?: { readonly minMs: number; readonly maxMs: number };
  readonly now?: () => Date;
}

export interface SinkRunner {
  /** Delivers at most one batch; resolves with how many records the destination took. Throws on a failed delivery. */
  runOnce(): Promise<number>;
  start(): void;
  /** Stops the loop (an in-flight delivery finishes or fails first) and closes the sink. */
  stop(): Promise<void>;
  status(): Promise<SinkStatus>;
}

async function readBatch(store: TrailReader, fromSeq: number, limit: number): Promise<AuditRecord[]> {
  const batch: AuditRecord[] = [];
  for await (const record of store.read({ fromSeq, limit })) {
    // Only a contiguous run after the cursor is delivered: a gap is never skipped over.
    if (record.seq !== fromSeq + batch.length) break;
    batch.push(record);
    if (batch.length >= limit) break;
  }
  return batch;
}

/** The cursor must name a row of this trail: a cursor past the head, or on another hash, stops the sink. */
async function checkCursor(store: TrailReader, cursor: SinkCursor): Promise<string | undefined> {
  if (cursor.seq === 0) return undefined;
  for await (const record of store.read({ fromSeq: cursor.seq, limit: 1 })) {
    return record.seq === cursor.seq && record.hash === cursor.hash ? undefined : 'cursor_not_in_trail';
  }
  return 'cursor_not_in_trail';
}

function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export function createSinkRunner(options: SinkRunnerOptions): SinkRunner {
  const { sink, store, cursors, batchSize } = options;
  const pollMs = options.pollMs ?? 1000;
  const retry = options.retry ?? { minMs: 500, maxMs: 30_000 };
  const now = options.now ?? (() => new Date());
  let cursor = cursors.load(sink.name);
  let state: SinkStatus['state'] = 'idle';
  let checked = false;
  const abort = new AbortController();
  let loop: Promise<void> | undefined;

  function recordFailure(reason: string): void {
    cursor = { ...cursor, failures: cursor.failures + 1, last_error: { reason, at: now().toISOString() }, updated_at: now().toISOString() };
    cursors.save(cursor);
  }

  async function runOnce(): Promise<number> {
    if (!checked) {
      const problem = await checkCursor(store, cursor);
      if (problem) {
        recordFailure(problem);
        throw deliveryFailed(problem);
      }
      checked = true;
    }
    const batch = await readBatch(store, cursor.seq + 1, batchSize);
    if (batch.length === 0) return 0;
    state = 'delivering';
    try {
      await sink.deliver(batch);
    } catch (err) {
      state = 'retrying';
      recordFailure(failureReason(err));
      throw err;
    }
    const last = batch[batch.length - 1]!;
    cursor = { sink: sink.name, seq: last.seq, hash: last.hash, updated_at: now().toISOString(), failures: 0 };
    cursors.save(cursor);
    state = 'idle';
    return batch.length;
  }

  async function run(): Promise<void> {
    while (!abort.signal.aborted) {
      let wait = 0;
      try {
        const delivered = await runOnce();
        if (delivered === 0) wait = pollMs;
      } catch {
        wait = Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(cursor.failures - 1, 20));
      }
      if (wait > 0) await interruptibleSleep(wait, abort.signal);
    }
  }

  return {
    runOnce,
    start() {
      loop ??= run();
    },
    async stop() {
      abort.abort();
      await loop;
      state = 'stopped';
      await sink.close();
    },
    async status() {
      const head = store.head ? (await store.head()).seq : cursor.seq;
      return {
        name: sink.name,
        type: sink.type,
        state,
        cursor: cursor.seq,
        head,
        lag: Math.max(0, head - cursor.seq),
        failures: cursor.failures,
        ...(cursor.last_error ? { last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED' as const, ...cursor.last_error } } : {}),
      };
    },
  };
}
