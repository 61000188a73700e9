/** Reversible pseudonyms: `[redacted:TYPE#ID]` out, the value back for the same user only, until it expires. */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../kernel/index.js';
import { createProtector } from './protector.js';
import { createPseudonymVault } from './pseudonyms.js';

const alice: Principal = { sub: 'alice', iss: 'https://idp', roles: [], groups: [] };
const bob: Principal = { sub: 'bob', iss: 'https://idp', roles: [], groups: [] };

function setup(ttlMs = 60_000) {
  let t = 0;
  const vault = createPseudonymVault({ clock: { now: () => new Date(t) }, ttlMs });
  return { vault, advance: (ms: number) => void (t += ms) };
}

describe('createPseudonymVault', () => {
  it('replaces detected values with [redacted:TYPE#ID] through the protector, the same ID for the same value', () => {
    const { vault } = setup();
    const protector = createProtector();
    const mark = vault.markerFor(alice);
    const r = protector.redact({ prompt: 'Email jane.doe@example.com twice: jane.doe@example.com, SSN 123-45-6789' }, { pseudonym: mark });
    const text = r.value.prompt;
    expect(text).not.toContain('jane.doe@example.com');
    expect(text).not.toContain('123-45-6789');
    const ids = [...text.matchAll(/\[redacted:(email|ssn)#([0-9a-f]+)\]/g)].map((m) => `${m[1]}#${m[2]}`);
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe(ids[1]);
    expect(r.types).toEqual(['email', 'ssn']);
    expect(vault.restore(alice, text)).toBe('Email jane.doe@example.com twice: jane.doe@example.com, SSN 123-45-6789');
  });

  it('restores for the same user only; another user, an unknown ID or a wrong type stays a marker', () => {
    const { vault } = setup();
    const marker = vault.markerFor(alice)('email', 'a@example.com');
    expect(vault.restore(alice, `to ${marker}`)).toBe('to a@example.com');
    expect(vault.restore(bob, `to ${marker}`)).toBe(`to ${marker}`);
    expect(vault.restore(alice, marker.replace('email', 'ssn'))).toBe(marker.replace('email', 'ssn'));
    expect(vault.restore(alice, '[redacted:email#ffffffffffff]')).toBe('[redacted:email#ffffffffffff]');
  });

  it('forgets a pseudonym ttl after its last use (injected clock), and keeps at most maxPerUser', () => {
    const { vault, advance } = setup(1000);
    const marker = vault.markerFor(alice)('email', 'a@example.com');
    advance(999);
    expect(vault.restore(alice, marker)).toBe('a@example.com');
    advance(1);
    expect(vault.restore(alice, marker)).toBe(marker);
    expect(vault.size()).toBe(0);
    const small = createPseudonymVault({ clock: { now: () => new Date(0) }, maxPerUser: 2 });
    const mark = small.markerFor(alice);
    const first = mark('email', '1@example.com');
    mark('email', '2@example.com');
    mark('email', '3@example.com');
    expect(small.size()).toBe(2);
    expect(small.restore(alice, first)).toBe(first);
  });
});
