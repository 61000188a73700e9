/**
 * Upstream children die with Custos: a stdio upstream's command is launched through
 * `bin/custos-upstream-watchdog.js`, which runs it in a process group of its own and ends
 * that group when Custos is gone (its parent changed), when Custos closes the upstream
 * (SIGTERM) or when the command exits. The MCP stdio channel (stdin, stdout) and stderr are
 * the command's own, untouched. Windows has no process groups: there the command runs as is.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WATCHDOG_FILE = 'bin/custos-upstream-watchdog.js';

let located: string | null | undefined;

/** The watchdog script: found once, walking up from this file (src/, dist/ or a bundle beside bin/). */
export function watchdogScript(): string | undefined {
  if (located !== undefined) return located ?? undefined;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, WATCHDOG_FILE);
    if (existsSync(candidate)) return (located = candidate);
    const up = path.dirname(dir);
    if (up === dir) return (located = null) ?? undefined;
    dir = up;
  }
}

/** The command and arguments that run `command args` under the watchdog, bound to this process. */
export function watchedCommand(command: string, args: readonly string[], parentPid: number = process.pid): { command: string; args: string[] } | undefined {
  const script = process.platform === 'win32' ? undefined : watchdogScript();
  if (!script) return undefined;
  return { command: process.execPath, args: [script, String(parentPid), '--', command, ...args] };
}
