import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactVerify, importJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_ENTRY_TYP, openJournal, sha256Hex } from './journal.js';
import type { JournalRecord } from './journal.js';

const record = (phase: 'intent' | 'result'): JournalRecord => ({
  phase,
  request_id: 'r1',
  time: '2026-01-01T00:00:01.000Z',
  outage_started: '2026-01-01T00:00:00.000Z',
  tool: { server: 'fs', name: 'list' },
  agent: 'a',
  sha256: 'a'.repeat(64),
  metadata: 'm1',
});

describe('the fail-open journal', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'custos-sdk-journal-'));
    dirs.push(d);
    return path.join(d, 'journal');
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('appends signed entries chained by SHA-256 and seq, durable across a reopen, with a private key file only its owner reads', async () => {
    const where = dir();
    const journal = openJournal(where);
    journal.append(record('intent'));
    journal.append(record('result'));
    const reopened = openJournal(where); // the same key, the chain continues
    reopened.append(record('intent'));
    expect(reopened.publicJwk).toEqual(journal.publicJwk);
    const lines = readFileSync(path.join(where, 'journal.jsonl'), 'utf8').trim().split('\n');
    const key = await importJWK({ ...journal.publicJwk, alg: 'EdDSA' } as never, 'EdDSA');
    let prev = '0'.repeat(64);
    for (const [i, line] of lines.entries()) {
      const { payload, protectedHeader } = await compactVerify(line, key);
      expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: JOURNAL_ENTRY_TYP });
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ v: 1, seq: i + 1, prev });
      prev = sha256Hex(line);
    }
    expect(statSync(path.join(where, 'journal-key.json')).mode & 0o077).toBe(0);
    expect(readFileSync(path.join(where, 'journal.jsonl'), 'utf8')).not.toContain('"d"');
  });

  it('delivers from a cursor: pending entries only, nothing deleted', () => {
    const journal = openJournal(dir());
    journal.append(record('intent'));
    journal.append(record('result'));
    const first = journal.pending();
    expect(first).toHaveLength(2);
    journal.markDelivered(first);
    expect(journal.pending()).toEqual([]);
    journal.append(record('intent'));
    expect(journal.pending()).toHaveLength(1);
  });
});
