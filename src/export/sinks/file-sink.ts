/**
 * JSON Lines files with rotation: records are appended to PATH and fsynced before the
 * delivery resolves. Before a batch would take PATH past `rotateBytes`, PATH becomes
 * PATH.1 (PATH.1 becomes PATH.2, …; the oldest past `maxFiles` is removed).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { deliveryFailed, formatRecord } from '../format.js';
import type { FileSinkSettings, Sink } from '../types.js';

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** PATH → PATH.1 → … → PATH.maxFiles (removed). */
export function rotateFiles(file: string, maxFiles: number): void {
  rmSync(`${file}.${maxFiles}`, { force: true });
  for (let n = maxFiles - 1; n >= 1; n -= 1) {
    if (existsSync(`${file}.${n}`)) renameSync(`${file}.${n}`, `${file}.${n + 1}`);
  }
  if (existsSync(file)) renameSync(file, `${file}.1`);
}

function appendDurably(file: string, text: string): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function createFileSink(settings: FileSinkSettings): Sink {
  mkdirSync(path.dirname(settings.path), { recursive: true });
  return {
    name: settings.name,
    type: 'file',
    async deliver(batch) {
      const text = batch.map((r) => `${formatRecord(r, settings.format)}\n`).join('');
      try {
        const size = sizeOf(settings.path);
        if (size > 0 && size + Buffer.byteLength(text) > settings.rotateBytes) rotateFiles(settings.path, settings.maxFiles);
        appendDurably(settings.path, text);
      } catch (err) {
        throw deliveryFailed('write_failed', err);
      }
    },
    async close() {},
  };
}
