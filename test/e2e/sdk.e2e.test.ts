/**
 * The SDK (sdk/) against a running Custos: guard runs a tool only after allow and reports its
 * result; it fails closed (unreachable, timeout, 5xx) with a typed error and the tool never
 * runs; and, by declaration only, a fail-open tool runs during an outage after its signed
 * journal entry is durable, then joins the chain as rows recorded offline once Custos is back.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustos, CustosDeniedError, CustosUnavailableError, DEFAULT_TIMEOUT_MS } from '../../sdk/src/index.js';
import { verifyStore } from '../../src/audit/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const agent = { name: 'sdk-e2e' };

describe('SDK guard against the quick start', () => {
  let h: Harness;
  let alice = '';
  let bob = '';
  beforeAll(async () => {
    // Persisted signing keys: fail-open metadata signed before the outage must verify after Custos restarts.
    h = await startHarness({ configure: (raw, { dir }) => ({ ...raw, identity: { ...raw.identity!, delegation: { keysDir: path.join(dir, 'keys') } } }) });
    [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
  });
  afterAll(async () => h?.close());

  const readNote = (ran: string[]) => async (args: { path: string }) => {
    ran.push(args.path);
    return readFileSync(args.path, 'utf8');
  };

  it('runs an allowed tool and returns its output redacted; the rows name alice', async () => {
    const custos = createCustos({ baseUrl: h.custos.url, token: alice, agent });
    const ran: string[] = [];
    const read = custos.guard('filesystem/read_text_file', readNote(ran));
    const output = await read({ path: path.join(h.workspace, 'phi/patient-0001.md') });
    expect(ran).toHaveLength(1);
    expect(String(output)).toContain('[redacted:ssn]');
    const rows = (await h.auditRecords()).slice(-2);
    expect(rows.map((r) => [r.event, r.user.sub, r.tool?.name])).toEqual([
      ['intent', 'alice', 'read_text_file'],
      ['result', 'alice', 'read_text_file'],
    ]);
    expect(rows[0]!.request_id).toBe(rows[1]!.request_id);
  });

  it('denies bob, throws the typed denial, and never runs the tool', async () => {
    const custos = createCustos({ baseUrl: h.custos.url, token: bob, agent });
    const ran: string[] = [];
    const read = custos.guard('filesystem/read_text_file', readNote(ran));
    const err = await read({ path: path.join(h.workspace, 'phi/patient-0001.md') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosDeniedError);
    expect(err).toMatchObject({ code: 'CUSTOS_DENIED', decision: 'deny' });
    expect(ran).toEqual([]);
    expect((await h.auditRecords()).at(-1)).toMatchObject({ event: 'deny', user: { sub: 'bob' }, request_id: (err as CustosDeniedError).requestId });
  });

  it('fails closed on a timeout (default 2 s) and on a 5xx, the tool never running', async () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(2000);
    const silent = createServer(() => undefined); // accepts, never answers
    const balancer = createServer((_req, res) => res.writeHead(503).end('no healthy upstream')); // a balancer in front of a dead Custos
    await Promise.all([silent, balancer].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))));
    const url = (s: typeof silent) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const ran: string[] = [];
      const slow = createCustos({ baseUrl: url(silent), token: alice, agent, timeoutMs: 100 }).guard('filesystem/read_text_file', readNote(ran));
      await expect(slow({ path: 'x' })).rejects.toMatchObject({ code: 'CUSTOS_UNAVAILABLE', reason: 'timeout' });
      const failing = createCustos({ baseUrl: url(balancer), token: alice, agent }).guard('filesystem/read_text_file', readNote(ran));
      await expect(failing({ path: 'x' })).rejects.toMatchObject({ code: 'CUSTOS_UNAVAILABLE', reason: 'server_error', status: 503 });
      expect(ran).toEqual([]);
    } finally {
      silent.closeAllConnections();
      await Promise.all([silent, balancer].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('with the control plane killed mid-run: fail-closed tools never run, a declared fail-open tool runs journaled, and its rows join a verifiable chain', async () => {
    const journalDir = path.join(h.dir, 'sdk-journal');
    const errors: unknown[] = [];
    const custos = createCustos({ baseUrl: h.custos.url, token: alice, agent, failOpen: { journalDir }, onJournalError: (e) => errors.push(e) });
    const ranClosed: string[] = [];
    const ranOpen: number[] = [];
    const read = custos.guard('filesystem/read_text_file', readNote(ranClosed));
    const listAllowed = custos.guard('filesystem/list_allowed_directories', async () => {
      ranOpen.push(1);
      return { directories: [h.workspace] };
    });
    const note = path.join(h.workspace, 'notes/handbook.md');
    await read({ path: note }); // reachable: fetches the signed fail-open metadata
    expect(ranClosed).toHaveLength(1);
    const before = (await h.auditRecords()).length;
    await h.stopCustos();

    const denied = await read({ path: note }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(CustosUnavailableError);
    expect(denied).toMatchObject({ code: 'CUSTOS_UNAVAILABLE', reason: 'unreachable' });
    expect(ranClosed).toHaveLength(1); // the fail-closed tool did not run
    const bobDuringOutage = createCustos({ baseUrl: h.custos.url, token: bob, agent, failOpen: { journalDir } }).guard(
      'filesystem/list_allowed_directories',
      async () => {
        ranOpen.push(2);
        return {};
      },
    );
    await expect(bobDuringOutage({})).rejects.toMatchObject({ code: 'CUSTOS_UNAVAILABLE' }); // the metadata is alice's
    expect(await listAllowed({})).toEqual({ directories: [h.workspace] });
    expect(ranOpen).toEqual([1]);
    const journal = readFileSync(path.join(journalDir, 'journal.jsonl'), 'utf8').trim().split('\n');
    expect(journal).toHaveLength(2); // intent (durable before the call) and result

    await h.startCustosAgain();
    await read({ path: note }); // Custos answers again: the journal is delivered first
    expect(errors).toEqual([]);
    const rows = (await h.auditRecords()).slice(before);
    const offline = rows.filter((r) => r.offline);
    expect(offline.map((r) => [r.event, r.user.sub, r.tool?.name, r.policy.reasons])).toEqual([
      ['intent', 'alice', 'list_allowed_directories', ['recorded_offline']],
      ['result', 'alice', 'list_allowed_directories', ['recorded_offline']],
    ]);
    const [intent, result] = offline;
    expect(intent!.request_id).toBe(result!.request_id);
    expect(intent!.offline!.outage.from <= intent!.offline!.occurred_at).toBe(true);
    expect(intent!.offline!.outage.to >= result!.offline!.occurred_at).toBe(true);
    expect(intent!.offline!.journal.seq + 1).toBe(result!.offline!.journal.seq);
    expect(intent!.policy.bundle_hash).toBe(h.custos.bundleHash);
    expect(await verifyStore(h.storeUri)).toMatchObject({ ok: true });
    expect(await custos.deliverJournal()).toBe(0); // nothing left to deliver
  });
});
