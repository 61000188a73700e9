/**
 * The span exporter's thread: it receives finished calls as plain records (ids, names, epoch
 * times) in batches and turns them into OpenTelemetry spans (the SDK's tracer with the ids the
 * call thread chose, a BatchSpanProcessor, the OTLP/HTTP exporter). Span objects, the OTLP
 * encoding and the HTTP client never run on the thread that answers calls. Runs as the source
 * of a worker (`Function.prototype.toString`), so it names nothing outside its parameters.
 */
import type { MessagePort } from 'node:worker_threads';
import type * as Api from '@opentelemetry/api';
import type * as Exporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as Sdk from '@opentelemetry/sdk-trace-base';

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
  /** Where each OpenTelemetry package resolves (the worker's `require`). */
  readonly modules: { readonly api: string; readonly sdk: string; readonly exporter: string; readonly resources: string };
}

/** Messages to the thread: a batch of calls, or `close` (export what is buffered, answer `closed`). */
export type TraceWorkerMessage = { readonly calls: readonly CallRecord[] } | { readonly close: true };

export function runTraceWorker(port: MessagePort, settings: TraceWorkerSettings, load: (path: string) => unknown, randomHex: (bytes: number) => string): void {
  const api = load(settings.modules.api) as typeof Api;
  const sdk = load(settings.modules.sdk) as typeof Sdk;
  const { OTLPTraceExporter } = load(settings.modules.exporter) as typeof Exporter;
  const { resourceFromAttributes } = load(settings.modules.resources) as typeof Resources;
  // The ids of the next span to start: the call thread chose the call span's, so its rows and traceparent name it.
  let nextTraceId: string | undefined;
  let nextSpanId: string | undefined;
  const take = (id: string | undefined, bytes: number): string => id ?? randomHex(bytes);
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    idGenerator: {
      generateTraceId: () => {
        const id = take(nextTraceId, 16);
        nextTraceId = undefined;
        return id;
      },
      generateSpanId: () => {
        const id = take(nextSpanId, 8);
        nextSpanId = undefined;
        return id;
      },
    },
    spanProcessors: [
      new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url: settings.endpoint, headers: { ...settings.headers } }), {
        scheduledDelayMillis: 500,
        maxQueueSize: 65536,
        maxExportBatchSize: 4096,
      }),
    ],
  });
  const tracer = provider.getTracer('custos');

  function emit(call: CallRecord): void {
    const parent = call.parentSpanId
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: call.traceId, spanId: call.parentSpanId, traceFlags: 1, isRemote: true })
      : api.ROOT_CONTEXT;
    nextTraceId = call.traceId;
    nextSpanId = call.spanId;
    const span = tracer.startSpan(call.name, { kind: api.SpanKind.INTERNAL, startTime: call.start, attributes: call.attributes }, parent);
    nextTraceId = nextSpanId = undefined;
    const context = api.trace.setSpan(api.ROOT_CONTEXT, span);
    for (const [name, start, end, failed] of call.stages) {
      const child = tracer.startSpan(name, { startTime: start, attributes: { 'custos.stage': name } }, context);
      if (failed) child.setStatus({ code: api.SpanStatusCode.ERROR });
      child.end(end);
    }
    if (call.decision) span.setAttributes({ 'custos.decision': call.decision.decision, 'custos.reasons': [...call.decision.reasons] });
    else span.setStatus({ code: api.SpanStatusCode.ERROR });
    span.end(call.end);
  }

  port.on('message', (msg: TraceWorkerMessage) => {
    if ('calls' in msg) for (const call of msg.calls) emit(call);
    else
      void provider
        .shutdown()
        .catch(() => undefined)
        .then(() => port.postMessage('closed'));
  });
}
