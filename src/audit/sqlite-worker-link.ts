/**
 * The main-thread end of the SQLite writer thread: starts it, sends requests and matches
 * replies. Nothing here touches SQLite, so nothing here can block the event loop.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { renderTombstone } from './retention-format.js';
import { sealRecordText } from './seal-format.js';
import { renderChainedRecord } from './chain-hash.js';
import { OPEN_REPLY_ID, runSqliteWorker } from './sqlite-worker.js';
import type { SqliteWorkerConfig, WorkerFailure, WorkerReply, WorkerRequest } from './sqlite-worker.js';

/** Distributes the Omit over the union, so each request keeps its own fields. */
type RequestBody<R> = R extends unknown ? Omit<R, 'id'> : never;

export interface WorkerLink {
  /** Sends a request; rejects with the worker's failure, or with `{ timedOut: true }` after `timeoutMs`. */
  request<T>(body: RequestBody<WorkerRequest>, timeoutMs?: number): Promise<T>;
  /** Asks the thread to close the database, then ends it. */
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The thread's source: the functions of sqlite-worker.ts, seal-format.ts and retention-format.ts and a call joining them to their dependencies. */
function workerSource(): string {
  return [
    "'use strict';",
    "const { parentPort, workerData } = require('node:worker_threads');",
    renderChainedRecord.toString(),
    sealRecordText.toString(),
    renderTombstone.toString(),
    runSqliteWorker.toString(),
    "runSqliteWorker(parentPort, workerData.config, require(workerData.betterSqlite3), require('node:crypto'), require('node:fs'), renderChainedRecord, sealRecordText, renderTombstone);",
  ].join('\n');
}

/** Starts the writer thread; resolves once the database is open, rejects with the open failure. */
export async function startSqliteWorker(config: SqliteWorkerConfig): Promise<WorkerLink> {
  const worker = new Worker(workerSource(), { eval: true, workerData: { config, betterSqlite3: require.resolve('better-sqlite3') } });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: WorkerFailure): void; timer?: NodeJS.Timeout }>();
  let nextId = OPEN_REPLY_ID + 1;
  let exited: WorkerFailure | undefined;

  const settle = (id: number): ReturnType<typeof waiting.get> => {
    const entry = waiting.get(id);
    waiting.delete(id);
    if (entry?.timer) clearTimeout(entry.timer);
    if (waiting.size === 0) worker.unref(); // an idle store does not keep the process alive
    return entry;
  };
  const failAll = (error: WorkerFailure): void => {
    exited = error;
    for (const id of [...waiting.keys()]) settle(id)?.reject(error);
  };
  worker.on('message', (msg: WorkerReply) => {
    if ('batch' in msg) {
      for (const [id, json] of msg.batch) settle(id)?.resolve(json);
      return;
    }
    const entry = settle(msg.id);
    if (msg.ok) entry?.resolve(msg.value);
    else entry?.reject(msg.error);
  });
  worker.on('error', (err) => failAll({ code: 'CUSTOS_WORKER_FAILED', message: `The audit writer thread failed: ${err.name}.` }));
  worker.on('exit', () => failAll(exited ?? { code: 'CUSTOS_CLOSED', message: 'The audit store is closed.' }));

  // Requests go to the thread as one message (an array) per batch: one structured clone and one wake-up
  // of the thread for all. A request made while none other is waiting (one caller: nothing to group)
  // goes once the tick's microtasks are done; one made while others wait for the thread waits, by
  // setImmediate, for the rest of this turn of the event loop, so the requests of every session whose
  // I/O arrived in the same turn go together.
  let outbox: WorkerRequest[] = [];
  const flush = (): void => {
    const requests = outbox;
    outbox = [];
    if (exited) return;
    try {
      worker.postMessage(requests.length === 1 ? requests[0] : requests);
    } catch {
      // Not sent (a value the thread cannot receive): each of its requests fails, never the process.
      for (const { id } of requests) settle(id)?.reject({ code: 'CUSTOS_UNSENDABLE', message: 'The request could not be sent to the audit writer.' });
    }
  };
  const post = (request: WorkerRequest): void => {
    if (outbox.push(request) !== 1) return;
    if (waiting.size > 1) setImmediate(flush);
    else queueMicrotask(flush);
  };

  function send<T>(id: number, body: RequestBody<WorkerRequest> | undefined, timeoutMs?: number): Promise<T> {
    if (exited) return Promise.reject(exited);
    return new Promise<T>((resolve, reject) => {
      const entry: { resolve(value: unknown): void; reject(error: WorkerFailure): void; timer?: NodeJS.Timeout } = {
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(
          () => settle(id)?.reject({ code: 'CUSTOS_STALLED', message: 'The audit writer did not answer in time.', timedOut: true }),
          timeoutMs,
        );
      }
      waiting.set(id, entry);
      worker.ref();
      if (body) post({ ...body, id } as WorkerRequest);
    });
  }

  await send(OPEN_REPLY_ID, undefined);
  return {
    request: (body, timeoutMs) => send(nextId++, body, timeoutMs),
    async close() {
      if (!exited) await send(nextId++, { op: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}
