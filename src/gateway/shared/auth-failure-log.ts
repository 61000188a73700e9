/**
 * Auth failures recorded in aggregate, so a flood cannot fill the disk the trail lives on.
 * Per source and window (`windowMs`): the first failure of each reason code is written at
 * once as its own `auth_failure` row (a forged signature is not hidden behind a burst of
 * missing tokens); every other failure, and every rate-limited one, is counted, and the
 * counts are written as ONE aggregate `auth_failure` row when the window ends, or on close.
 * Bounded: at most `maxSources` sources per window (failures of any further source are
 * counted under `*`), so a window writes at most (distinct codes + 1) rows per source.
 */
import type { CallKind, Logger, Pipeline } from '../../kernel/index.js';

export interface AuthFailureEvent {
  readonly source: string;
  readonly code: string;
  readonly kind?: CallKind;
  readonly traceId?: string;
  /** The request was refused 429: counted, never written on its own. */
  readonly limited: boolean;
}

export interface AuthFailureLog {
  /** Resolves once an immediate row is written (or the failure is counted). Never throws. */
  record(event: AuthFailureEvent): Promise<void>;
  /** Writes the aggregate row of every window that has ended. */
  flushDue(): Promise<void>;
  /** Writes every pending count now; later failures are written one row each. */
  close(): Promise<void>;
}

export interface AuthFailureLogDeps {
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  readonly windowMs: number;
  readonly maxSources: number;
  readonly now: () => number;
}

/** Where failures of sources past `maxSources` are counted. */
export const OVERFLOW_SOURCE = '*';

interface Window {
  readonly start: number;
  /** Codes already written as their own row in this window. */
  readonly written: Set<string>;
  /** Counted, not yet written: code → failures. */
  readonly counts: Map<string, number>;
  limited: number;
}

function total(w: Window): number {
  let n = 0;
  for (const c of w.counts.values()) n += c;
  return n;
}

function merge(into: Window, from: Window): void {
  for (const [code, n] of from.counts) into.counts.set(code, (into.counts.get(code) ?? 0) + n);
  into.limited += from.limited;
}

export function createAuthFailureLog(deps: AuthFailureLogDeps): AuthFailureLog {
  const windows = new Map<string, Window>();
  let closed = false;

  const iso = (ms: number): string => new Date(ms).toISOString();

  function windowFor(source: string): { key: string; w: Window } {
    const key = windows.has(source) || windows.size < deps.maxSources ? source : OVERFLOW_SOURCE;
    let w = windows.get(key);
    if (!w) {
      w = { start: deps.now(), written: new Set(), counts: new Map(), limited: 0 };
      windows.set(key, w);
    }
    return { key, w };
  }

  function count(w: Window, event: AuthFailureEvent): void {
    w.counts.set(event.code, (w.counts.get(event.code) ?? 0) + 1);
    if (event.limited) w.limited += 1;
  }

  async function writeAggregate(source: string, w: Window): Promise<boolean> {
    const reasons = [...w.counts.keys()].sort();
    const written = await deps.pipeline.recordAuthFailure({
      code: reasons[0] ?? 'ERR_IDENTITY_TOKEN_MISSING',
      reasons,
      detail: {
        source,
        aggregate: {
          count: total(w),
          rate_limited: w.limited,
          reasons: Object.fromEntries([...w.counts].sort(([a], [b]) => a.localeCompare(b))),
          window_start: iso(w.start),
          window_end: iso(w.start + deps.windowMs),
        },
      },
    });
    return written !== undefined;
  }

  /** Writes the window's counts; on a store failure the counts go back to be written later. */
  async function flush(source: string, w: Window): Promise<void> {
    if (windows.get(source) === w) windows.delete(source);
    if (w.counts.size === 0) return;
    if (await writeAggregate(source, w)) return;
    deps.logger.error({ source, count: total(w) }, 'auth failure counts could not be written; kept for the next flush');
    const now = windows.get(source);
    if (now) merge(now, w);
    else windows.set(source, { ...w, written: new Set(w.written) });
  }

  async function record(event: AuthFailureEvent): Promise<void> {
    if (closed) {
      await deps.pipeline.recordAuthFailure({ code: event.code, kind: event.kind, traceId: event.traceId, detail: { source: event.source } });
      return;
    }
    const { key, w } = windowFor(event.source);
    if (event.limited || w.written.has(event.code)) {
      count(w, event);
      return;
    }
    w.written.add(event.code);
    const row = await deps.pipeline.recordAuthFailure({ code: event.code, kind: event.kind, traceId: event.traceId, detail: { source: key } });
    if (row === undefined) count(windowFor(key).w, event); // not lost: it joins the aggregate row
  }

  async function flushDue(): Promise<void> {
    const t = deps.now();
    const due = [...windows].filter(([, w]) => w.start + deps.windowMs <= t);
    for (const [source, w] of due) await flush(source, w);
  }

  async function close(): Promise<void> {
    closed = true;
    for (const [source, w] of [...windows]) await flush(source, w);
  }

  return { record, flushDue, close };
}
