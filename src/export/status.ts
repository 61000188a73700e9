/** Sink status read from the persisted cursors: what `custos audit sinks` shows from another process. */
import { readCursor } from './cursor.js';
import type { SinkStatus, SinkType } from './types.js';

/** One status per sink, from its cursor file and the trail's head seq. A sink with failures since its last delivery is `retrying`. */
export function readSinkStatus(stateDir: string, sinks: ReadonlyArray<{ readonly name: string; readonly type: SinkType }>, head: number): SinkStatus[] {
  return sinks.map((sink) => {
    const cursor = readCursor(stateDir, sink.name);
    return {
      name: sink.name,
      type: sink.type,
      state: cursor.failures > 0 ? 'retrying' : 'idle',
      cursor: cursor.seq,
      head,
      lag: Math.max(0, head - cursor.seq),
      failures: cursor.failures,
      ...(cursor.last_error ? { last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED' as const, ...cursor.last_error } } : {}),
    };
  });
}
