import { closeSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVerifyKeys } from './checkpoint.js';
import { makeSignedTrail, makeTempDir } from './index.test-support.js';
import { verifyExport, verifyExportFile } from './verify-export.js';
import { rangeLines } from './verify-parallel.js';

const { lines: LINES, publicPem } = makeSignedTrail(9500);
const keys = loadVerifyKeys([publicPem]);
const dir = makeTempDir();
afterAll(() => dir.remove());
let files = 0;
const write = (text: string): string => {
  const file = path.join(dir.path, `export-${(files += 1)}.jsonl`);
  writeFileSync(file, text);
  return file;
};
const jsonl = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('');

/** The export is cut into byte ranges of 2 MiB (verify-export.ts): the row across the first cut, and the one after it. */
const CUT = 2 * 1024 * 1024;
const ACROSS = (() => {
  let at = 0;
  for (let i = 0; ; i += 1) {
    at += Buffer.byteLength(LINES[i]!) + 1;
    if (at > CUT) return i;
  }
})();
const LAST_PARTIAL = 9400;

describe('verifyExportFile: each worker reads its own byte ranges of the export', () => {
  it('every line of a file falls in exactly one byte range, however the ranges are cut (a range may hold no line start)', () => {
    const lines = ['{"a":1}', '', 'x'.repeat(700), '{"b":"\u00e9\u6f22"}', 'y', 'z\r', 'w'];
    const text = `${lines.join('\n')}\r\nlast`;
    const file = write(text);
    const fd = openSync(file, 'r');
    try {
      const size = Buffer.byteLength(text);
      const expected = text.split(/\r\n|\n|\r/).filter((l) => l.length > 0);
      for (const step of [1, 2, 7, 64, 699, 700, 701, size, size + 10]) {
        const got: string[] = [];
        for (let from = 0; from < size; from += step) got.push(...rangeLines(fd, from, Math.min(size, from + step), size));
        expect(got, `ranges of ${step} bytes`).toEqual(expected);
      }
    } finally {
      closeSync(fd);
    }
  });

  const cases: Record<string, (l: string[]) => string> = {
    intact: (l) => jsonl(l),
    'a changed field in the row across the first cut': (l) => jsonl(l.map((x, i) => (i === ACROSS ? x.replace('"allow"', '"deny"') : x))),
    'a changed field in the first row after the cut': (l) => jsonl(l.map((x, i) => (i === ACROSS + 1 ? x.replace('"allow"', '"deny"') : x))),
    'the row across the cut deleted': (l) => jsonl(l.filter((_, i) => i !== ACROSS)),
    'two rows swapped across the cut': (l) => jsonl([...l.slice(0, ACROSS), l[ACROSS + 1]!, l[ACROSS]!, ...l.slice(ACROSS + 2)]),
    'a row inserted after the cut': (l) => jsonl([...l.slice(0, ACROSS + 1), l[ACROSS]!, ...l.slice(ACROSS + 1)]),
    'a changed field in the last, partial range': (l) => jsonl(l.map((x, i) => (i === LAST_PARTIAL ? x.replace('"allow"', '"deny"') : x))),
    'a row deleted in the last, partial range': (l) => jsonl(l.filter((_, i) => i !== LAST_PARTIAL)),
    'rows cut off the end': (l) => jsonl(l.slice(0, 8990)),
    'the last row cut in the middle': (l) => jsonl(l).slice(0, -200),
    'the first line broken': (l) => jsonl(['{', ...l.slice(1)]),
    'a line that is not JSON at the cut': (l) => jsonl([...l.slice(0, ACROSS), 'not json', ...l.slice(ACROSS)]),
    'bytes that are not UTF-8 in a row': (l) => jsonl(l).replace('"tier":"interactive"', `"tier":"inter${Buffer.from([0xff, 0xfe]).toString('latin1')}active"`),
    'CRLF line ends, blank lines and no newline at the end': (l) => `${l.join('\r\n\r\n')}`,
  };
  it.each(Object.entries(cases))('names what the one-thread verifier of the lines names, on one thread and two: %s', async (name, make) => {
    const text = make(LINES);
    const file = path.join(dir.path, `case-${(files += 1)}.jsonl`);
    writeFileSync(file, name === 'bytes that are not UTF-8 in a row' ? Buffer.from(text, 'latin1') : text);
    // What the CLI read before: the file decoded as UTF-8 and split into lines by the line reader.
    const bytes = name === 'bytes that are not UTF-8 in a row' ? Buffer.from(text, 'latin1') : Buffer.from(text);
    const asLines = bytes
      .toString('utf8')
      .split(/\r\n|\n|\r/)
      .filter((l) => l.length > 0);
    const checkpoint = (JSON.parse(LINES[8999]!) as { checkpoint: never }).checkpoint;
    const expected = await verifyExport(asLines, { keys, threads: 1, checkpoint });
    expect(await verifyExportFile(file, { keys, threads: 1, checkpoint })).toEqual(expected);
    expect(await verifyExportFile(file, { keys, threads: 2, checkpoint })).toEqual(expected);
    if (name === 'intact' || name.startsWith('CRLF')) expect(expected).toMatchObject({ ok: true, rows: 9500, checkpoints: 10 });
    else expect(expected.ok).toBe(false);
  });

  it('names the findings at the cut as the tamper cases name them', async () => {
    const check = async (lines: string[]) => (await verifyExportFile(write(jsonl(lines)), { keys, threads: 2 })).findings.map((f) => `${f.kind}@${f.seq}`);
    const seq = ACROSS + 1;
    expect(await check(LINES.map((x, i) => (i === ACROSS ? x.replace('"allow"', '"deny"') : x)))).toEqual([`field_changed@${seq}`]);
    expect(await check(LINES.filter((_, i) => i !== ACROSS))).toEqual([`row_deleted@${seq}`]);
    expect(await check([...LINES.slice(0, ACROSS), LINES[ACROSS + 1]!, LINES[ACROSS]!, ...LINES.slice(ACROSS + 2)])).toEqual([`rows_swapped@${seq}`]);
    expect(await check([...LINES.slice(0, ACROSS + 1), LINES[ACROSS]!, ...LINES.slice(ACROSS + 1)])).toEqual([`row_inserted@${seq}`]);
  });

  it('an empty export passes with no rows; a missing file is an error, never a pass', async () => {
    expect(await verifyExportFile(write(''), { keys, threads: 2 })).toEqual(await verifyExport([], { keys, threads: 1 }));
    await expect(verifyExportFile(path.join(dir.path, 'missing.jsonl'), { keys })).rejects.toThrow(/ENOENT/);
  });
});
