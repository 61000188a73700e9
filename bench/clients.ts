/**
 * What `npm run bench -- gateway` and `npm run bench -- load` share for their concurrent phases:
 * the ~1 KB file every target reads, and K clients of one target calling in a loop for T seconds
 * (each warmed by one call first), with the latencies, the ids the calls returned, the errors and
 * the CPU the serving processes spent meanwhile.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where, under a target's workspace, the file the benchmarks read lives. */
export const BENCH_FILE = 'notes/bench-1k.md';

/** Writes the ~1 KB file into `workspace` and returns its path. */
export function writeBenchFile(workspace: string): string {
  const line = 'The handbook says: wash hands before and after every visit, log every device you take off the ward, and hand over in writing.\n';
  const file = path.join(workspace, BENCH_FILE);
  writeFileSync(file, line.repeat(Math.ceil(1024 / line.length)).slice(0, 1024));
  return file;
}

/** One client of a target; `call` makes one call and returns the id it can be found by in the trail (Custos), if any. */
export interface BenchClient {
  call(): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface ClientsOptions {
  readonly clients: number;
  readonly seconds: number;
  /** Runs once every client is warm, before the clock starts (e.g. to skip the rows already in the trail). */
  readonly afterWarm?: () => Promise<unknown>;
  /** The CPU the serving processes have spent so far, in ms (read before and after the loop); absent: not measured. */
  readonly cpuMs?: () => number | undefined;
  /** Runs after the loop, while the clients are still open (e.g. to sample memory). */
  readonly afterLoop?: () => void;
}

export interface ClientsRun {
  readonly latencies: readonly number[];
  /** The ids the measured calls returned (warm-up excluded). */
  readonly ids: readonly string[];
  /** The ids the warm-up calls returned. */
  readonly warmIds: readonly string[];
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedSec: number;
  /** CPU spent by the serving processes during the loop, in ms (undefined when not measured). */
  readonly cpuMs?: number;
}

/** Opens `options.clients` clients, warms each with one call, lets them call in a loop for `options.seconds`, closes them. */
export async function runClients(open: () => Promise<BenchClient>, options: ClientsOptions): Promise<ClientsRun> {
  const clients: BenchClient[] = [];
  try {
    for (let i = 0; i < options.clients; i++) clients.push(await open());
    const latencies: number[] = [];
    const ids: string[] = [];
    const warmIds: string[] = [];
    let errors = 0;
    let firstError: string | undefined;
    const fail = (err: unknown): void => {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
    };
    for (const warm of await Promise.allSettled(clients.map((c) => c.call()))) {
      if (warm.status === 'rejected') fail(warm.reason);
      else if (warm.value) warmIds.push(warm.value);
    }
    await options.afterWarm?.();
    const cpuBefore = options.cpuMs?.();
    const start = performance.now();
    const deadline = start + options.seconds * 1000;
    const loop = async (c: BenchClient): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const id = await c.call();
          latencies.push(performance.now() - t0);
          if (id) ids.push(id);
        } catch (err) {
          fail(err);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    };
    await Promise.all(clients.map(loop));
    const elapsedSec = (performance.now() - start) / 1000;
    const cpuAfter = options.cpuMs?.();
    options.afterLoop?.();
    const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
    return { latencies, ids, warmIds, errors, firstError, elapsedSec, cpuMs };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
  }
}
