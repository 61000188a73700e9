/**
 * The persisted cursor of each sink: one small JSON file per sink in the state directory,
 * replaced atomically (write, fsync, rename) after every delivery the destination took.
 * A crash between the delivery and the rename re-sends that batch: at-least-once.
 */
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { SinkCursor } from './types.js';

export interface CursorStore {
  load(sink: string): SinkCursor;
  save(cursor: SinkCursor): void;
}

const EMPTY = (sink: string): SinkCursor => ({ sink, seq: 0, hash: '', updated_at: new Date(0).toISOString(), failures: 0 });

export function cursorFile(stateDir: string, sink: string): string {
  return path.join(stateDir, `${sink}.cursor.json`);
}

/** Reads a cursor; a missing file is the start of the trail. An unreadable one throws (never silently restarts or skips). */
export function readCursor(stateDir: string, sink: string): SinkCursor {
  let text: string;
  try {
    text = readFileSync(cursorFile(stateDir, sink), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY(sink);
    throw err;
  }
  const parsed = JSON.parse(text) as SinkCursor;
  if (!Number.isSafeInteger(parsed.seq) || parsed.seq < 0 || typeof parsed.hash !== 'string') throw new Error(`cursor of sink ${sink} is malformed`);
  return { ...parsed, sink };
}

export function createFileCursorStore(stateDir: string): CursorStore {
  mkdirSync(stateDir, { recursive: true });
  return {
    load: (sink) => readCursor(stateDir, sink),
    save(cursor) {
      const file = cursorFile(stateDir, cursor.sink);
      const tmp = `${file}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(cursor)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    },
  };
}
