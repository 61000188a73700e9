/**
 * The span exporter's thread: it receives finished calls as plain records (ids, names, epoch
 * times) in batches, writes each batch as one OTLP/JSON `ExportTraceServiceRequest` (the call's
 * span and a child span per stage, straight from the records: no span objects, no SDK
 * pipeline) and POSTs it to the OTLP/HTTP endpoint over a kept-alive connection, one request in
 * flight at a time. Runs as the source of a worker (`Function.prototype.toString`), so it names
 * nothing outside its parameters.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeHttp from 'node:http';
import type { MessagePort } from 'node:worker_threads';

/** One finished call. Times are epoch milliseconds; `stages` is [name, start, end, failed] per stage. */
export interface CallRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** The span id of the caller's span when the call came with a traceparent. */
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly start: number;
  readonly end: number;
  /** Absent: the call failed. */
  readonly decision?: { readonly decision: string; readonly reasons: readonly string[] };
  readonly stages: ReadonlyArray<readonly [string, number, number, boolean]>;
}

export interface TraceWorkerSettings {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
}

/** Messages to the thread: a batch of calls, or `close` (export what is buffered, answer `closed`). */
export type TraceWorkerMessage = { readonly calls: readonly CallRecord[] } | { readonly close: true };

/** The Node modules the thread uses, passed in (the thread's source names nothing else). */
export interface TraceWorkerModules {
  readonly crypto: Pick<typeof NodeCrypto, 'randomBytes'>;
  readonly http: Pick<typeof NodeHttp, 'request' | 'Agent'>;
  readonly https: Pick<typeof NodeHttp, 'request' | 'Agent'>;
}

export function runTraceWorker(port: MessagePort, settings: TraceWorkerSettings, modules: TraceWorkerModules): void {
  /** Calls per request, and calls held while the endpoint is slow (older ones are dropped past it). */
  const CALLS_PER_REQUEST = 512;
  const MAX_QUEUED_CALLS = 8192;
  const REQUEST_TIMEOUT_MS = 10_000;
  const SPAN_KIND_INTERNAL = 1;
  const STATUS_ERROR = 2;
  const url = new URL(settings.endpoint);
  const client = url.protocol === 'https:' ? modules.https : modules.http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { ...settings.headers, 'content-type': 'application/json' };
  const resource = `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(settings.serviceName)}}}]},"scopeSpans":[{"scope":{"name":"custos"},"spans":[`;
  let pool = Buffer.alloc(0);
  let at = 0;
  const queue: CallRecord[] = [];
  let inFlight = false;
  let closing = false;

  /** A span id for a stage span, from a pooled buffer of random bytes. */
  function spanId(): string {
    if (at + 8 > pool.length) {
      pool = modules.crypto.randomBytes(4096);
      at = 0;
    }
    at += 8;
    return pool.toString('hex', at - 8, at);
  }

  /** Epoch milliseconds (with a fraction) as OTLP's decimal string of nanoseconds. */
  function nanos(ms: number): string {
    let whole = Math.floor(ms);
    let frac = Math.round((ms - whole) * 1e6);
    if (frac >= 1e6) {
      whole += 1;
      frac -= 1e6;
    }
    return `${whole}${String(frac).padStart(6, '0')}`;
  }

  const str = (key: string, value: string): string => `{"key":${JSON.stringify(key)},"value":{"stringValue":${JSON.stringify(value)}}}`;

  function span(fields: {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    start: number;
    end: number;
    attributes: string[];
    failed: boolean;
  }): string {
    const parent = fields.parentSpanId ? `"parentSpanId":"${fields.parentSpanId}",` : '';
    const status = fields.failed ? `{"code":${STATUS_ERROR}}` : '{}';
    return (
      `{"traceId":"${fields.traceId}","spanId":"${fields.spanId}",${parent}"name":${JSON.stringify(fields.name)},"kind":${SPAN_KIND_INTERNAL},` +
      `"startTimeUnixNano":"${nanos(fields.start)}","endTimeUnixNano":"${nanos(fields.end)}","attributes":[${fields.attributes.join(',')}],"status":${status}}`
    );
  }

  /** The call's span and one child span per stage. */
  function spansOf(call: CallRecord): string {
    const attributes = Object.entries(call.attributes).map(([k, v]) => str(k, v));
    if (call.decision) {
      attributes.push(str('custos.decision', call.decision.decision));
      const reasons = call.decision.reasons.map((r) => `{"stringValue":${JSON.stringify(r)}}`).join(',');
      attributes.push(`{"key":"custos.reasons","value":{"arrayValue":{"values":[${reasons}]}}}`);
    }
    const out = [span({ ...call, attributes, failed: !call.decision })];
    for (const [name, start, end, failed] of call.stages) {
      out.push(span({ traceId: call.traceId, spanId: spanId(), parentSpanId: call.spanId, name, start, end, attributes: [str('custos.stage', name)], failed }));
    }
    return out.join(',');
  }

  /** Sends the next request when none is in flight; a request that fails is dropped (traces are best effort). */
  function pump(): void {
    if (inFlight) return;
    if (queue.length === 0) {
      if (closing) port.postMessage('closed');
      return;
    }
    const calls = queue.splice(0, CALLS_PER_REQUEST);
    const body = `{"resourceSpans":[${resource}${calls.map(spansOf).join(',')}]}]}]}`;
    inFlight = true;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      inFlight = false;
      pump();
    };
    const req = client.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', finish);
        res.on('error', finish);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', finish);
    req.end(body);
  }

  port.on('message', (msg: TraceWorkerMessage) => {
    if ('calls' in msg) {
      queue.push(...msg.calls);
      if (queue.length > MAX_QUEUED_CALLS) queue.splice(0, queue.length - MAX_QUEUED_CALLS);
    } else closing = true;
    pump();
  });
}
