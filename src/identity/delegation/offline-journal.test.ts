import { createHash, generateKeyPairSync } from 'node:crypto';
import { CompactSign, exportJWK, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentContext, Principal } from '../../kernel/index.js';
import { createOfflineJournal, JOURNAL_ENTRY_TYP } from './offline-journal.js';
import { createSigningKeyStore } from './signing-keys.js';

const ISSUER = 'http://127.0.0.1:8787';
const NOW = Date.parse('2026-01-01T12:00:00Z');
const alice: Principal = { sub: 'alice', iss: 'https://idp.example', roles: ['clinician'], groups: [], tenant: 'general-hospital' };
const agent: AgentContext = { name: 'sdk', tier: 'interactive', delegationChain: ['user:alice', 'agent:sdk'] };
const at = (offsetSec: number) => new Date(NOW + offsetSec * 1000).toISOString();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function journalKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = await exportJWK(publicKey);
  return { sign: await importJWK({ ...(privateKey.export({ format: 'jwk' }) as object), alg: 'EdDSA' } as never, 'EdDSA'), publicJwk };
}

async function entry(key: Awaited<ReturnType<typeof journalKey>>, payload: Record<string, unknown>): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', typ: JOURNAL_ENTRY_TYP }).sign(key.sign);
}

describe('offline journal (audited fail-open): metadata and delivery', () => {
  let journal: ReturnType<typeof createOfflineJournal>;
  let key: Awaited<ReturnType<typeof journalKey>>;
  let metadata = '';
  let jti = '';

  beforeAll(async () => {
    const keys = await createSigningKeyStore({ retainSec: 3600, clock: () => NOW });
    journal = createOfflineJournal({ keys, issuer: ISSUER, clockSkewSec: 60, clock: () => NOW + 600_000 });
    key = await journalKey();
    const issue = createOfflineJournal({ keys, issuer: ISSUER, clockSkewSec: 60, clock: () => NOW });
    ({ metadata } = await issue.issueMetadata({ principal: alice, agent, bundleHash: 'b'.repeat(64), failOpenTools: ['fs/list'], journalKey: key.publicJwk }));
    jti = JSON.parse(Buffer.from(metadata.split('.')[1]!, 'base64url').toString()).jti as string;
  });

  async function chain(overrides: Array<Record<string, unknown>> = [{}, {}]): Promise<string[]> {
    const out: string[] = [];
    let prev = '0'.repeat(64);
    for (const [i, o] of overrides.entries()) {
      const line = await entry(key, {
        v: 1,
        seq: i + 1,
        prev,
        phase: i % 2 === 0 ? 'intent' : 'result',
        request_id: 'r1',
        time: at(60 + i),
        outage_started: at(30),
        tool: { server: 'fs', name: 'list' },
        agent: 'sdk',
        sha256: 'a'.repeat(64),
        metadata: jti,
        ...o,
      });
      out.push(line);
      prev = sha(line);
    }
    return out;
  }

  const deliver = async (entries: string[], extra: Record<string, unknown> = {}, principal: Principal = alice) =>
    journal.verifyDelivery(principal, { metadata, journal_key: key.publicJwk, entries, outage_ended: at(300), ...extra });

  it('verifies a delivery into entries with the outage window, the chain and the attested user and bundle', async () => {
    const verified = await deliver(await chain());
    expect(verified.principal).toMatchObject({ sub: 'alice', iss: alice.iss, tenant: 'general-hospital' });
    expect(verified.bundleHash).toBe('b'.repeat(64));
    expect(verified.agent).toEqual({ tier: 'interactive', delegationChain: ['user:alice', 'agent:sdk'] });
    expect(verified.entries.map((e) => [e.phase, e.journal.seq, e.outage])).toEqual([
      ['intent', 1, { from: at(30), to: at(300) }],
      ['result', 2, { from: at(30), to: at(300) }],
    ]);
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    ['a tool the bundle did not declare fail-open', async () => deliver(await chain([{ tool: { server: 'fs', name: 'write' } }])), /not declared fail-open/],
    ['a broken chain (an entry removed)', async () => deliver((await chain([{}, {}, {}])).filter((_, i) => i !== 1)), /breaks the journal chain/],
    [
      'a changed entry',
      async () => deliver((await chain()).map((l, i) => (i === 0 ? l.replace(/\.[^.]+\./, `.${Buffer.from('{}').toString('base64url')}.`) : l))),
      /signature/,
    ],
    ['another key', async () => deliver(await chain(), { journal_key: (await journalKey()).publicJwk }), /not the one the metadata names/],
    ['another user delivering', async () => deliver(await chain(), {}, { ...alice, sub: 'bob' }), /another user/],
    ['metadata not signed by Custos', async () => deliver(await chain(), { metadata: `${metadata.slice(0, -4)}AAAA` }), /signature|signed/],
    ['an entry written before the metadata', async () => deliver(await chain([{ time: at(-3600), outage_started: at(-3600) }])), /validity/],
    ['a private key sent as the journal key', async () => deliver(await chain(), { journal_key: { ...key.publicJwk, d: 'x' } }), /public Ed25519/],
  ])('refuses the whole delivery for %s', async (_name, run, message) => {
    await expect(run()).rejects.toMatchObject({ code: 'ERR_IDENTITY_JOURNAL_INVALID', message });
  });
});
