/**
 * The trail watch: the running server verifies its own hash chain (CC7.2, HIPAA 164.312(c)(1)).
 * Every `everyMs` the rows appended since the last verified head are verified as a suffix of it
 * (cheap); every `fullEveryMs`, and first shortly after start, the whole trail from genesis with
 * the head verified before as `expectHead`, so an edited old row, a cut-off tail or a rebuilt
 * chain is found too. A failure is reported once per distinct failure (its first bad seq and
 * reason), and the watch keeps its last good head: it never accepts a broken chain. A store
 * that cannot be read is not a failure: logged, and tried again at the next pass.
 *
 * One pass at a time, off the main thread: the rows are checked on a worker thread of the audit
 * module's off-thread verifier (verify-watch.ts), which reads a trail stored in the clear itself
 * through its own read-only connection (`direct`: SQLite or PostgreSQL); the rows of an encrypted
 * trail are read here (`readRaw`, page by page,
 * with a turn of the event loop every `YIELD_EVERY_ROWS` rows) and handed over in chunks. This
 * thread only joins the thread's verdicts, and steps through a chunk the thread did not show clean.
 */
import type { AuditStoreAdmin, ChainHead, DirectTrail, OffThreadStats, RawRow, VerifyReport } from '../audit/index.js';
import { createOffThreadVerifier } from '../audit/index.js';
import type { Clock, Logger } from '../kernel/index.js';

export interface TrailWatchSettings {
  /** Verify the rows appended since the last verified head this often, in ms; 0: no incremental passes. */
  readonly everyMs: number;
  /** Verify the whole trail this often, in ms; 0: only once, shortly after start. Both 0: no watch. */
  readonly fullEveryMs: number;
  /** The first pass (a full one) this long after start; default the shorter of the interval and 10 s. */
  readonly firstDelayMs?: number;
}

export type TrailWatchScope = 'incremental' | 'full';

/** What a failed verification reports (the `chain_verification_failed` alert's `detail`). */
export interface TrailWatchFailure {
  readonly scope: TrailWatchScope;
  readonly first_bad_seq: number;
  readonly reason: string;
  /** The last head the watch verified (it keeps it), or null before any. */
  readonly verified_seq: number | null;
  readonly verified_hash: string | null;
  /** Rows that verified in this pass before the break. */
  readonly rows_verified: number;
}

/** Timers the watch runs on (injected in tests). */
export interface WatchScheduler {
  after(ms: number, run: () => void): { cancel(): void };
}

export interface TrailWatchDeps {
  readonly store: Pick<AuditStoreAdmin, 'readRaw'>;
  /** The trail, when the verification thread may read it itself (its own read-only connection): not an encrypted trail (its rows are opened by the store). */
  readonly direct?: DirectTrail;
  readonly settings: TrailWatchSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A new distinct failure: the monitor's `chainVerificationFailed`. */
  readonly onFailure: (failure: TrailWatchFailure) => Promise<void>;
  readonly scheduler?: WatchScheduler;
}

export interface TrailWatchStatus {
  /** The last row the watch verified (absent before the first pass). */
  readonly verified?: ChainHead;
  /** Passes so far, by scope and outcome (`ok`, `failed`, `unavailable`: the store could not be read). */
  readonly passes: Readonly<Record<`${TrailWatchScope}_${'ok' | 'failed' | 'unavailable'}`, number>>;
  /** Where the rows were checked: on the verification thread, or stepped on this one; and whether the thread runs. */
  readonly checked?: OffThreadStats;
}

export interface TrailWatch {
  start(): void;
  /** One pass now (the kind that is due), as the timer runs it. */
  pass(): Promise<void>;
  /** Resolves once the pass the timer started (if any) is done and the next one planned. */
  idle(): Promise<void>;
  status(): TrailWatchStatus;
  close(): Promise<void>;
}

const YIELD_EVERY_ROWS = 500;
const FIRST_DELAY_MAX_MS = 10_000;

const realScheduler: WatchScheduler = {
  after(ms, run) {
    const t = setTimeout(run, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export function createTrailWatch(deps: TrailWatchDeps): TrailWatch {
  const { everyMs, fullEveryMs } = deps.settings;
  const scheduler = deps.scheduler ?? realScheduler;
  const interval = everyMs > 0 ? everyMs : fullEveryMs;
  let head: ChainHead | undefined;
  let lastFullAt: number | undefined;
  let timer: { cancel(): void } | undefined;
  let running: Promise<void> | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let closed = false;
  const raised = new Set<string>();
  const verifier = createOffThreadVerifier();
  const passes = { incremental_ok: 0, incremental_failed: 0, incremental_unavailable: 0, full_ok: 0, full_failed: 0, full_unavailable: 0 };

  function plan(ms: number): void {
    if (closed) return;
    timer = scheduler.after(ms, () => {
      timer = undefined;
      ticking = pass().finally(() => plan(interval));
    });
  }

  function fullDue(): boolean {
    if (!head || lastFullAt === undefined) return true;
    return fullEveryMs > 0 && deps.clock.now().getTime() - lastFullAt >= fullEveryMs;
  }

  /** The rows from `fromSeq`, with a turn of the event loop every YIELD_EVERY_ROWS rows; stops once closed. */
  async function* rowsFrom(fromSeq: number): AsyncGenerator<RawRow> {
    let n = 0;
    for await (const row of deps.store.readRaw(fromSeq)) {
      if (closed) return;
      yield row;
      if (++n % YIELD_EVERY_ROWS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async function verify(scope: TrailWatchScope): Promise<void> {
    const before = head;
    const startedAt = deps.clock.now().getTime();
    const direct = deps.direct ? { direct: deps.direct } : {};
    let report: VerifyReport;
    try {
      report =
        scope === 'full' || !before
          ? await verifier.verify({ readRaw: rowsFrom, fromSeq: 1, ...direct }, before ? { expectHead: before } : {})
          : await verifier.verify({ readRaw: rowsFrom, fromSeq: before.seq + 1, ...direct }, { after: before });
    } catch (err) {
      if (closed) return; // the thread ended at shutdown
      passes[`${scope}_unavailable`] += 1;
      deps.logger.warn({ err: (err as { code?: string }).code ?? 'error', scope }, 'trail watch: the trail could not be read; verified again at the next pass');
      return;
    }
    if (closed) return; // a read cut short at shutdown proves nothing
    if (scope === 'full') lastFullAt = startedAt;
    if (report.ok) {
      passes[`${scope}_ok`] += 1;
      if (report.head) head = report.head;
      return;
    }
    passes[`${scope}_failed`] += 1;
    head ??= report.head; // the first pass: its intact prefix is what is verified; never past a break
    await fail(scope, report, before);
  }

  async function fail(scope: TrailWatchScope, report: VerifyReport, before: ChainHead | undefined): Promise<void> {
    const failure: TrailWatchFailure = {
      scope,
      first_bad_seq: report.firstBrokenSeq ?? 0,
      reason: report.reason ?? 'unknown',
      verified_seq: before?.seq ?? report.head?.seq ?? null,
      verified_hash: before?.hash ?? report.head?.hash ?? null,
      rows_verified: report.count,
    };
    const key = `${failure.reason}|${failure.first_bad_seq}`;
    const fields = { scope, first_bad_seq: failure.first_bad_seq, reason: failure.reason };
    if (raised.has(key)) {
      deps.logger.warn(fields, 'trail watch: the audit trail still does not verify (alerted before)'); // raised once
      return;
    }
    deps.logger.error(fields, 'trail watch: the audit trail does not verify');
    raised.add(key);
    try {
      await deps.onFailure(failure);
    } catch (err) {
      raised.delete(key); // not raised: tried again at the next pass
      deps.logger.error({ err: (err as { code?: string }).code ?? 'error' }, 'trail watch: the alert could not be written');
    }
  }

  function pass(): Promise<void> {
    running ??= (async () => {
      if (fullDue()) await verify('full');
      else if (everyMs > 0) await verify('incremental');
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    start() {
      if (interval <= 0 || timer || closed) return;
      plan(deps.settings.firstDelayMs ?? Math.min(interval, FIRST_DELAY_MAX_MS));
    },
    pass,
    idle: () => ticking,
    status: () => ({ ...(head ? { verified: head } : {}), passes: { ...passes }, checked: verifier.stats() }),
    async close() {
      closed = true;
      timer?.cancel();
      await verifier.close(); // a pass in flight ends with its thread
      await ticking;
    },
  };
}
