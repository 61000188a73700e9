/**
 * OpenTelemetry traces of governed calls: one `execute_tool {tool}` span per call (GenAI
 * semantic conventions: gen_ai.operation.name, gen_ai.tool.name, gen_ai.tool.call.id) with a
 * child span per pipeline stage, exported over OTLP/HTTP when `monitor.tracing.endpoint` is
 * set. A call that came with a W3C traceparent joins its trace; the trace id goes on the
 * call's rows either way, and the forward stage hands `traceparent` on to HTTP upstreams.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { CallObservation, Decision, ToolCall } from '../kernel/index.js';

export interface TracingSettings {
  /** The OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  readonly endpoint: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly serviceName: string;
}

export interface CallTracer {
  /** Starts the call's span; its stages become child spans. */
  begin(call: ToolCall): CallObservation & { readonly traceparent: string };
  /** Exports what is buffered and stops. */
  close(): Promise<void>;
}

/** Epoch milliseconds of a performance.now() reading. */
const epochMs = (ms: number): number => performance.timeOrigin + ms;

/** A random (non-zero) span id for the remote parent of a call that named only its trace. */
function randomSpanId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[7] = bytes[7]! | 1;
  return Buffer.from(bytes).toString('hex');
}

export function createCallTracer(settings: TracingSettings, exporter?: SpanExporter): CallTracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(exporter ?? new OTLPTraceExporter({ url: settings.endpoint, headers: { ...settings.headers } }), { scheduledDelayMillis: 500 }),
    ],
  });
  const tracer: Tracer = provider.getTracer('custos');

  return {
    begin(call) {
      const parent = call.traceId
        ? trace.setSpanContext(ROOT_CONTEXT, { traceId: call.traceId, spanId: randomSpanId(), traceFlags: 1, isRemote: true })
        : ROOT_CONTEXT;
      const span: Span = tracer.startSpan(
        `execute_tool ${call.tool.name}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': call.tool.name,
            'gen_ai.tool.call.id': call.requestId,
            'custos.tool.server': call.tool.server,
            'custos.call.kind': call.kind,
            'custos.agent.name': call.agent.name,
            'custos.agent.tier': call.agent.tier,
          },
        },
        parent,
      );
      const context = trace.setSpan(ROOT_CONTEXT, span);
      const { traceId, spanId } = span.spanContext();
      return {
        traceId,
        traceparent: `00-${traceId}-${spanId}-01`,
        stage(name, startMs, endMs, failed) {
          const child = tracer.startSpan(name, { startTime: epochMs(startMs), attributes: { 'custos.stage': name } }, context);
          if (failed) child.setStatus({ code: SpanStatusCode.ERROR });
          child.end(epochMs(endMs));
        },
        end(decision: Decision | undefined) {
          if (decision) span.setAttributes({ 'custos.decision': decision.decision, 'custos.reasons': [...decision.reasons] });
          else span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    close: () => provider.shutdown(),
  };
}
