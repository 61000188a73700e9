/**
 * The CLI's stdout as a reader may close it. `custos audit export | head -1` closes the pipe
 * after one line and the next write fails with EPIPE; from then on the output is gone:
 * `print` drops what it is given, `write` rejects with the stream's error so a streaming
 * command stops reading, and `runCli` ends quietly (exit 0 when the reader simply left).
 */
import type { Writable } from 'node:stream';

export interface Output {
  /** Aborted, with the stream's error as its reason, once nothing more can be written. */
  readonly gone: AbortSignal;
  /** Writes a chunk without waiting (short output); dropped once the output is gone. */
  print(chunk: string): void;
  /** Writes a chunk and waits while the stream is full; rejects with `gone.reason` once the output is gone. */
  write(chunk: string): Promise<void>;
}

/** True for the error of a write to a pipe whose reader has closed it. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EPIPE';
}

export function watchOutput(stream: Writable): Output {
  const controller = new AbortController();
  const gone = controller.signal;
  // Stays attached: an error event can trail the command's end by a tick, and must not crash.
  stream.on('error', (err: Error) => {
    if (!gone.aborted) controller.abort(err);
  });
  // The stream is destroyed (and `errored` set) at once; its 'error' event follows a tick later.
  const isGone = (): boolean => {
    if (!gone.aborted && stream.destroyed) controller.abort(stream.errored ?? new Error('The output was closed.'));
    return gone.aborted;
  };

  const write = (chunk: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (isGone()) return reject(gone.reason);
      if (stream.write(chunk)) return resolve();
      const settle = (): void => {
        stream.off('drain', settle);
        gone.removeEventListener('abort', settle);
        if (isGone()) reject(gone.reason);
        else resolve();
      };
      stream.on('drain', settle);
      gone.addEventListener('abort', settle);
    });

  return {
    gone,
    print: (chunk) => {
      if (!isGone()) stream.write(chunk);
    },
    write,
  };
}
