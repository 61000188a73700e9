/**
 * Monitor work that need not happen before the answer (metrics, the trace record of a call):
 * queued and run in one batch on the event loop's next check phase (`setImmediate`), after the
 * I/O the current turn started, so the answer is written first. The queue is this process's; a
 * task that throws is dropped (monitoring never fails a call).
 */
let queue: Array<() => void> = [];

function drain(): void {
  const tasks = queue;
  queue = [];
  for (const task of tasks) {
    try {
      task();
    } catch {
      // Metrics and traces are best effort.
    }
  }
}

/** Runs `task` after the answer being prepared is written. */
export function afterAnswer(task: () => void): void {
  if (queue.push(task) === 1) setImmediate(drain);
}
