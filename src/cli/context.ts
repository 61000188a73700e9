/** What every command is given: the streams and the writers over them (apart from program.ts, so commands and the program do not import each other). */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin?: Readable;
}

export interface CommandContext {
  readonly io: CliIo;
  /** One line to stdout (dropped once the reader has gone). */
  out(line: string): void;
  /** A chunk to stdout, as is (dropped once the reader has gone). */
  print(chunk: string): void;
  err(line: string): void;
  /** Writes to stdout, waiting while it is full; rejects once the reader has gone (streaming commands stop there). */
  write(chunk: string): Promise<void>;
  /** Set by a command that wants a non-zero exit without throwing. */
  exitCode: number | undefined;
}
