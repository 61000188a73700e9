/**
 * OpenTelemetry traces of governed calls: one `execute_tool {tool}` span per call (GenAI
 * semantic conventions: gen_ai.operation.name, gen_ai.tool.name, gen_ai.tool.call.id) with a
 * child span per pipeline stage, exported over OTLP/HTTP when `monitor.tracing.endpoint` is
 * set. A call that came with a W3C traceparent joins its trace; the trace id goes on the
 * call's rows either way, and the forward stage hands `traceparent` on to HTTP upstreams.
 *
 * The thread that answers calls only chooses the ids and notes each stage's times in a plain
 * record; finished calls go in batches (every `FLUSH_MS`, or `FLUSH_CALLS` at once) to the
 * exporter's thread (trace-worker.ts), which writes them as OTLP/JSON spans and exports them.
 * A batch the thread cannot take (it failed) is dropped: traces never hold up or fail a call.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { CallObservation, Decision, ToolCall } from '../kernel/index.js';
import { runTraceWorker } from './trace-worker.js';
import type { CallRecord, TraceWorkerMessage, TraceWorkerSettings } from './trace-worker.js';

export interface TracingSettings {
  /** The OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  readonly endpoint: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly serviceName: string;
}

export interface CallTracer {
  /** Starts the call's span; its stages become child spans. `end` may be told when the call ended (performance.now() ms). */
  begin(call: ToolCall): CallObservation & { readonly traceparent: string; end(decision: Decision | undefined, atMs?: number): void };
  /** Exports what is buffered and stops. */
  close(): Promise<void>;
}

/** A batch a second (the SDK's batch processor waited 500 ms more than the 200 ms batches before it): fewer thread wake-ups and requests per call. */
const FLUSH_MS = 1000;
const FLUSH_CALLS = 512;
const CLOSE_TIMEOUT_MS = 5000;

/** Epoch milliseconds of a performance.now() reading. */
const epochMs = (ms: number): number => performance.timeOrigin + ms;

function workerSource(): string {
  return [
    "'use strict';",
    "const { parentPort, workerData } = require('node:worker_threads');",
    runTraceWorker.toString(),
    "runTraceWorker(parentPort, workerData, { crypto: require('node:crypto'), http: require('node:http'), https: require('node:https') });",
  ].join('\n');
}

/** Random ids, taken from a pooled buffer (one `randomBytes` per 512 calls). */
function createIds(): { hex(bytes: number): string } {
  let pool = Buffer.alloc(0);
  let at = 0;
  return {
    hex(bytes) {
      if (at + bytes > pool.length) {
        pool = randomBytes(4096);
        at = 0;
      }
      at += bytes;
      return pool.toString('hex', at - bytes, at);
    },
  };
}

export function createCallTracer(settings: TracingSettings): CallTracer {
  const workerData: TraceWorkerSettings = {
    endpoint: settings.endpoint,
    headers: { ...settings.headers },
    serviceName: settings.serviceName,
  };
  const worker = new Worker(workerSource(), { eval: true, workerData });
  worker.unref();
  let alive = true;
  worker.on('error', () => (alive = false));
  worker.on('exit', () => (alive = false));
  const ids = createIds();
  let batch: CallRecord[] = [];
  let timer: NodeJS.Timeout | undefined;

  function send(message: TraceWorkerMessage): void {
    if (alive) worker.postMessage(message);
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const calls = batch;
    batch = [];
    send({ calls });
  }

  function finished(call: CallRecord): void {
    batch.push(call);
    if (batch.length >= FLUSH_CALLS) flush();
    else if (!timer) {
      timer = setTimeout(flush, FLUSH_MS);
      timer.unref();
    }
  }

  return {
    begin(call) {
      const traceId = call.traceId ?? ids.hex(16);
      const spanId = ids.hex(8);
      const start = epochMs(performance.now());
      const stages: Array<[string, number, number, boolean]> = [];
      return {
        traceId,
        traceparent: `00-${traceId}-${spanId}-01`,
        stage(name, startMs, endMs, failed) {
          stages.push([name, epochMs(startMs), epochMs(endMs), failed === true]);
        },
        end(decision: Decision | undefined, atMs: number = performance.now()) {
          finished({
            traceId,
            spanId,
            ...(call.traceId ? { parentSpanId: ids.hex(8) } : {}),
            name: `execute_tool ${call.tool.name}`,
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': call.tool.name,
              'gen_ai.tool.call.id': call.requestId,
              'custos.tool.server': call.tool.server,
              'custos.call.kind': call.kind,
              'custos.agent.name': call.agent.name,
              'custos.agent.tier': call.agent.tier,
            },
            start,
            end: epochMs(atMs),
            ...(decision ? { decision: { decision: decision.decision, reasons: [...decision.reasons] } } : {}),
            stages,
          });
        },
      };
    },
    async close() {
      flush();
      if (!alive) return;
      const closed = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        t.unref();
        worker.once('message', () => (clearTimeout(t), resolve()));
        worker.once('exit', () => (clearTimeout(t), resolve()));
      });
      send({ close: true });
      await closed;
      await worker.terminate();
    },
  };
}
