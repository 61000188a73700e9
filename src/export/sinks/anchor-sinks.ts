/**
 * External anchors: each record a sink takes (by default only `checkpoint` rows) written as
 * one object, `PREFIX` + `checkpoint-<seq, 12 digits>.json` holding the row's canonical JSON,
 * and never overwritten. Somebody who can rewrite the database cannot reach them, so
 * `custos audit verify --anchor` detects a trail cut short or re-chained from scratch.
 *
 * `directory`: a file created with O_EXCL (`wx`), fsynced with its directory, then made
 * read-only (0444). `s3`: PutObject with `If-None-Match: *`. A redelivery (at-least-once)
 * finds the object there: same bytes, fine; different bytes, `anchor_conflict` and the
 * sink retries without ever replacing what is anchored.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { canonicalize } from '../../kernel/index.js';
import type { AuditRecord } from '../../kernel/index.js';
import { deliveryFailed, failureReason } from '../format.js';
import type { DirectorySinkSettings, S3SinkSettings, Sink } from '../types.js';
import { getObject, listObjects, putObject } from './s3-client.js';

/** `checkpoint-000000000042.json`: names sort in seq order. */
export function anchorObjectName(record: Pick<AuditRecord, 'seq' | 'event'>): string {
  return `${record.event}-${String(record.seq).padStart(12, '0')}.json`;
}

function writeOnce(file: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o444);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw deliveryFailed('write_failed', err);
    if (readFileSync(file, 'utf8') !== text) throw deliveryFailed('anchor_conflict');
    return;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    throw deliveryFailed('write_failed', err);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o444);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function createDirectorySink(settings: DirectorySinkSettings): Sink {
  mkdirSync(settings.path, { recursive: true });
  return {
    name: settings.name,
    type: 'directory',
    async deliver(batch) {
      for (const record of batch) writeOnce(path.join(settings.path, anchorObjectName(record)), `${canonicalize(record)}\n`);
      try {
        if (batch.length > 0) fsyncDir(settings.path);
      } catch (err) {
        throw deliveryFailed('write_failed', err);
      }
    },
    async close() {},
  };
}

export function createS3Sink(settings: S3SinkSettings): Sink {
  return {
    name: settings.name,
    type: 's3',
    async deliver(batch) {
      for (const record of batch) {
        const key = `${settings.prefix}${anchorObjectName(record)}`;
        const text = `${canonicalize(record)}\n`;
        // Look first (servers that ignore If-None-Match would overwrite), then write conditionally.
        let existing = await getObject(settings, key);
        if (existing === undefined) {
          try {
            await putObject(settings, key, text);
            continue;
          } catch (err) {
            if (failureReason(err) !== 's3_exists') throw err;
            existing = await getObject(settings, key);
          }
        }
        if (existing !== text) throw deliveryFailed('anchor_conflict');
      }
    },
    async close() {},
  };
}

/** Parses anchored objects; an object that is not a JSON row is kept as a problem, not dropped. */
function parseAnchored(name: string, text: string): AuditRecord | { problem: string } {
  try {
    return JSON.parse(text) as AuditRecord;
  } catch {
    return { problem: `${name} is not JSON` };
  }
}

export interface AnchorContents {
  /** The anchored rows, in seq order. */
  readonly records: readonly AuditRecord[];
  /** Objects that could not be read as rows (named). */
  readonly problems: readonly string[];
}

function sortBySeq(entries: Array<AuditRecord | { problem: string }>): AnchorContents {
  const records = entries.filter((e): e is AuditRecord => !('problem' in e)).sort((a, b) => a.seq - b.seq);
  const problems = entries.filter((e): e is { problem: string } => 'problem' in e).map((e) => e.problem);
  return { records, problems };
}

/** What a directory anchor holds. */
export function readDirectoryAnchor(dir: string): AnchorContents {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  return sortBySeq(names.map((n) => parseAnchored(n, readFileSync(path.join(dir, n), 'utf8'))));
}

/** What an S3 anchor holds under its prefix. */
export async function readS3Anchor(settings: S3SinkSettings): Promise<AnchorContents> {
  const keys = (await listObjects(settings, settings.prefix)).filter((k) => k.endsWith('.json'));
  const entries: Array<AuditRecord | { problem: string }> = [];
  for (const key of keys) entries.push(parseAnchored(key, (await getObject(settings, key)) ?? ''));
  return sortBySeq(entries);
}
