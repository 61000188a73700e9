/**
 * CPU time of another process, for benchmarks on a loaded machine: wall-clock latency grows
 * with the load, the CPU a process spends per call much less. Linux only (`/proc`).
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on every Linux build in use). */
const TICKS_PER_SEC = 100;

/**
 * The user + system CPU time of process `pid`, every thread included (the audit writer
 * thread, libuv's pool, V8's helpers), in ms; undefined when it cannot be read. Resolution 10 ms:
 * read it around at least a second of CPU.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statCpuMs(`/proc/${pid}/stat`);
}

/** The user + system CPU time of this process's main thread alone (the event loop), in ms. */
export function mainThreadCpuMs(): number | undefined {
  return statCpuMs(`/proc/${process.pid}/task/${process.pid}/stat`);
}

/** Starts counting this process's CPU (every thread) and its main thread's apart; `stop()` gives both, in ms, since. */
export function threadCpuMeter(): { stop(): { readonly totalMs: number; readonly mainMs: number } } {
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuMs() ?? 0;
  return {
    stop() {
      const c = process.cpuUsage(c0);
      return { totalMs: (c.user + c.system) / 1000, mainMs: (mainThreadCpuMs() ?? 0) - m0 };
    },
  };
}

function statCpuMs(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SEC : undefined;
  } catch {
    return undefined;
  }
}

/** Starts counting the CPU of the processes in `pids`; `stop()` gives each one's ms spent since. */
export function cpuMeter<K>(pids: ReadonlyMap<K, number | undefined>): { stop(): Map<K, number> } {
  const start = new Map([...pids].map(([k, pid]) => [k, processCpuMs(pid)]));
  return {
    stop() {
      const spent = new Map<K, number>();
      for (const [k, pid] of pids) {
        const before = start.get(k);
        const after = processCpuMs(pid);
        if (before !== undefined && after !== undefined) spent.set(k, after - before);
      }
      return spent;
    },
  };
}
