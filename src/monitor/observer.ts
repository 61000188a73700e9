/**
 * The pipeline observer: each stage's time to the metrics' histogram and, when tracing is on, to
 * a span. On the call's path it only picks the trace ids (they go on the rows and the
 * `traceparent`) and notes the stages' times; the histogram and the call's trace record are
 * filled after the answer (`afterAnswer`), with the times noted.
 */
import type { CallObservation, PipelineObserver } from '../kernel/index.js';
import { afterAnswer } from './after-answer.js';
import type { Metrics } from './metrics.js';
import type { CallTracer } from './tracing.js';

export function createPipelineObserver(parts: { readonly metrics?: Metrics; readonly tracer?: CallTracer }): PipelineObserver | undefined {
  const { metrics, tracer } = parts;
  if (!metrics && !tracer) return undefined;
  return {
    begin(call): CallObservation {
      const span = tracer?.begin(call);
      const stages: Array<[string, number, number, boolean | undefined]> = [];
      return {
        traceId: span?.traceId,
        traceparent: span?.traceparent,
        stage: (name, startMs, endMs, failed) => void stages.push([name, startMs, endMs, failed]),
        end(decision) {
          const endMs = performance.now();
          afterAnswer(() => {
            for (const [name, startMs, stageEndMs, failed] of stages) {
              metrics?.observeStage(name, (stageEndMs - startMs) / 1000);
              span?.stage(name, startMs, stageEndMs, failed);
            }
            span?.end(decision, endMs);
          });
        },
      };
    },
  };
}
