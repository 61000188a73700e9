/** The pipeline observer: each stage's time to the metrics' histogram and, when tracing is on, to a span. */
import type { CallObservation, PipelineObserver } from '../kernel/index.js';
import type { Metrics } from './metrics.js';
import type { CallTracer } from './tracing.js';

export function createPipelineObserver(parts: { readonly metrics?: Metrics; readonly tracer?: CallTracer }): PipelineObserver | undefined {
  const { metrics, tracer } = parts;
  if (!metrics && !tracer) return undefined;
  return {
    begin(call): CallObservation {
      const span = tracer?.begin(call);
      return {
        traceId: span?.traceId,
        traceparent: span?.traceparent,
        stage(name, startMs, endMs, failed) {
          metrics?.observeStage(name, (endMs - startMs) / 1000);
          span?.stage(name, startMs, endMs, failed);
        },
        end: (decision) => span?.end(decision),
      };
    },
  };
}
