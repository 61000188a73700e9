#!/usr/bin/env node
// custos-upstream-watchdog PARENT_PID -- COMMAND [ARGS...]
//
// Custos launches every stdio upstream through this script, so the upstream dies with
// Custos even when Custos cannot clean up (kill -9, a crash, the OOM killer). It starts
// COMMAND in a process group of its own, handing it stdin, stdout and stderr untouched (the
// MCP stdio channel is the upstream's own; nothing here reads or writes it), and ends that
// whole group (the server and anything it started):
//   - when its parent is no longer PARENT_PID (Custos died: the watchdog was re-parented),
//     checked every POLL_MS;
//   - when it receives SIGTERM, SIGINT or SIGHUP (Custos closing the upstream);
//   - when COMMAND exits (its leftovers go with it).
// Ending means SIGTERM to the group, then SIGKILL to the group after GRACE_MS, shorter than
// the two seconds the MCP SDK waits before it SIGKILLs this script. It exits with COMMAND's
// exit code (127 when COMMAND cannot start).
import { spawn } from 'node:child_process';

const POLL_MS = 250;
const GRACE_MS = 1000;

const [parentArg, separator, command, ...args] = process.argv.slice(2);
const parent = Number(parentArg);
if (!Number.isInteger(parent) || parent <= 0 || separator !== '--' || !command) {
  process.stderr.write('usage: custos-upstream-watchdog PARENT_PID -- COMMAND [ARGS...]\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: 'inherit', detached: true });
let stopping = false;

/** Signals the upstream's whole process group; it may already be gone. */
function signalGroup(signal) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

function stop(signal) {
  if (stopping) return;
  stopping = true;
  signalGroup(signal);
  setTimeout(() => signalGroup('SIGKILL'), GRACE_MS);
}

child.on('error', (err) => {
  try {
    process.stderr.write(`custos-upstream-watchdog: cannot start the upstream command (${err.code ?? 'error'})\n`);
  } finally {
    process.exit(127);
  }
});
child.on('exit', (code, signal) => {
  signalGroup('SIGKILL'); // what the upstream left running goes with it
  process.exit(code ?? (signal ? 128 : 1));
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop(signal));
// Writing to a pipe whose reader (Custos) is gone must not end the watchdog before the group.
process.stderr.on('error', () => undefined);

const orphaned = () => process.ppid !== parent;
if (orphaned()) stop('SIGTERM');
setInterval(() => {
  if (orphaned()) stop('SIGTERM');
}, POLL_MS);
