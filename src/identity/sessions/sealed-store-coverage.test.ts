/**
 * Every SessionStore method through the sealed store: each identifier it is given reaches the
 * inner store sealed. The table below must name every method (TypeScript refuses it otherwise,
 * and the test checks the wrapper's own keys too), with arguments whose identifiers are marked
 * `ID:`; a method added to the wrapper as a plain pass-through fails here.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyRegistry, recordKeysOf } from '../../keys/index.js';
import { sealSessionStore } from './sealed-store.js';
import type { SessionMeta, SessionStore } from './types.js';

type Calls = { [K in Exclude<keyof SessionStore, 'close'>]: Parameters<SessionStore[K]> };

const ISS = 'https://idp.example.com';
const CALLS: Calls = {
  revokeSession: [ISS, 'ID:sid-1', 1],
  revokeUser: [ISS, 'ID:alice', 1],
  onRevoked: [() => undefined],
  revocation: [ISS, 'ID:alice', 'ID:sid-1'],
  readActivity: [`ID:${ISS}\nsid-1`],
  writeActivity: [`ID:${ISS}\nsid-1`, { lastActiveMs: 1 }],
  rememberJti: [ISS, 'jti-1', 1],
  forgetJti: [ISS, 'jti-1'],
  putGrant: [{ id: 'g1', iss: ISS, sub: 'ID:carol', sid: 'ID:sid-2', openedMs: 1, expiresMs: 2 }],
  getGrant: ['g1'],
  listGrants: [],
  liveGrantsOf: [ISS, 'ID:carol', 1],
  openReviews: [],
  closeGrant: ['g1', 'ID:dave', 3],
  putBackgroundGrant: [{ grantId: 'b1', iss: ISS, sub: 'ID:erin', clientId: 'agent', scope: ['ID:fs:read'], expiresAt: 9, revoked: false }, 0],
  getBackgroundGrant: ['b1'],
  revokeBackgroundGrant: ['b1', { iss: ISS, sub: 'ID:erin' }],
  putMcpSession: [
    {
      id: 'm1',
      owner: { iss: ISS, sub: 'ID:alice' },
      openedMs: 1,
      lastSeenMs: 1,
      protocolVersion: '2025-06-18',
      clientInfo: { name: 'c', version: '1' },
      capabilities: {},
      subscriptions: [],
      sessionIds: ['ID:sid-1'],
    },
    0,
  ],
  getMcpSession: ['m1'],
  removeMcpSession: ['m1'],
};

/** An inner store that records what it is given and answers empty. */
function recordingStore(): { store: SessionStore & SessionMeta; received: unknown[][] } {
  const received: unknown[][] = [];
  const meta = new Map<string, string>();
  const answers: Partial<Record<keyof SessionStore, unknown>> = {
    onRevoked: () => undefined,
    listGrants: [],
    liveGrantsOf: [],
    openReviews: [],
    revocation: {},
  };
  const store = new Proxy({} as SessionStore & SessionMeta, {
    get: (_t, name: string) => {
      if (name === 'then') return undefined;
      if (name === 'readMeta') return async (n: string) => meta.get(n);
      if (name === 'claimMeta') return async (n: string, v: string) => (meta.set(n, meta.get(n) ?? v), meta.get(n)!);
      if (name === 'replaceMeta') return async (n: string, v: string) => void meta.set(n, v);
      if (name === 'holdsRows') return async () => false;
      return (...args: unknown[]) => {
        received.push([name, ...args]);
        const answer = answers[name as keyof SessionStore];
        return name === 'onRevoked' ? answer : Promise.resolve(answer);
      };
    },
  });
  return { store, received };
}

describe('sealed session store: every method seals the identifiers it is given', () => {
  it('no identifier reaches the inner store in clear, whatever the method', async () => {
    const { store: inner, received } = recordingStore();
    const keys = recordKeysOf(createKeyRegistry([{ id: 'k1', use: 'encrypt', material: randomBytes(32).toString('base64') }]), 'k1');
    const sealed = await sealSessionStore(inner, keys);
    const methods = Object.keys(sealed).filter((m) => m !== 'close');
    expect(methods.sort()).toEqual(Object.keys(CALLS).sort());
    for (const [name, args] of Object.entries(CALLS)) await (sealed[name as keyof Calls] as (...a: unknown[]) => unknown)(...args);
    expect(received.map(([name]) => name).sort()).toEqual(Object.keys(CALLS).sort());
    const clear = received.filter((call) => JSON.stringify(call).includes('ID:'));
    expect(clear).toEqual([]);
  });
});
