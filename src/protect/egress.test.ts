/** The egress guard: destinations found by catalog marks and in `egress` tools, the allow-list, blocked ranges after DNS. */
import { describe, expect, it } from 'vitest';
import { DENY_REASONS } from '../kernel/index.js';
import type { EgressRules, ToolClassification } from '../kernel/index.js';
import { MAX_DESTINATIONS, createEgressGuard, isBlockedAddress } from './egress.js';

const DNS: Record<string, string[]> = {
  'api.example.com': ['93.184.216.34'],
  'a.b.docs.example.org': ['93.184.216.35'],
  'rebind.example.com': ['93.184.216.36', '10.0.0.5'],
  'wiki.internal': ['10.1.2.3'],
};
const guard = createEgressGuard({
  resolve: async (host) => {
    const found = DNS[host];
    if (!found) throw new Error('ENOTFOUND');
    return found;
  },
});
const RULES: EgressRules = {
  allow: [
    { hosts: ['api.example.com', '*.example.org', 'rebind.example.com'], schemes: ['https'] },
    { hosts: ['api.example.com'], schemes: ['http'], ports: [8080] },
    { hosts: ['wiki.internal'], schemes: ['https'], allowPrivate: true },
  ],
};
const FETCH: ToolClassification = { classes: ['egress'], urls: ['url'] };
const check = (args: unknown, classification: ToolClassification = FETCH, rules = RULES) =>
  guard.check({ call: { tool: { server: 'web', name: 'fetch' }, arguments: args }, classification, rules });

describe('createEgressGuard', () => {
  it('allows a destination on the list and names it scheme://host:port, never its path or query', async () => {
    expect(await check({ url: 'https://API.example.com/v1/x?token=abc' })).toEqual({ destinations: ['https://api.example.com:443'] });
    expect(await check({ url: 'https://a.b.docs.example.org/' })).toEqual({ destinations: ['https://a.b.docs.example.org:443'] });
    expect(await check({ url: 'http://api.example.com:8080/' })).toEqual({ destinations: ['http://api.example.com:8080'] });
  });

  it('denies a host, scheme or port off the list', async () => {
    for (const url of [
      'https://evil.example.net/',
      'http://api.example.com/',
      'https://api.example.com:8443/',
      'https://example.org/',
      'ftp://api.example.com/',
    ])
      expect((await check({ url })).denied?.reason, url).toBe(DENY_REASONS.EGRESS_NOT_ALLOWED);
  });

  it('denies metadata, loopback and private address literals in every spelling, on the list or not', async () => {
    const rules: EgressRules = { allow: [{ hosts: ['169.254.169.254', '127.0.0.1', '[::1]'], schemes: ['http'] }] };
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      expect(await check({ url }, FETCH, rules), url).toMatchObject({ denied: { reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS } });
    }
    expect((await check({ url: 'http://169.254.169.254/' })).denied).toEqual({
      destination: 'http://169.254.169.254:80',
      reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS,
    });
  });

  it('denies a name on the list that resolves to a private address (any of its addresses), unless the rule allows private', async () => {
    expect((await check({ url: 'https://rebind.example.com/' })).denied?.reason).toBe(DENY_REASONS.EGRESS_PRIVATE_ADDRESS);
    expect((await check({ url: 'https://wiki.internal/page' })).denied).toBeUndefined();
  });

  it('resolves with the system resolver by default: localhost is loopback, without network', async () => {
    const real = createEgressGuard();
    const verdict = await real.check({
      call: { tool: { server: 'web', name: 'fetch' }, arguments: { url: 'http://localhost:8080/' } },
      classification: FETCH,
      rules: { allow: [{ hosts: ['localhost'], schemes: ['http'], ports: [8080] }] },
    });
    expect(verdict.denied).toEqual({ destination: 'http://localhost:8080', reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS });
  });

  it('denies a name that does not resolve, and a marked value that is not a URL, without quoting it', async () => {
    expect((await check({ url: 'https://nx.example.org/' })).denied?.reason).toBe(DENY_REASONS.EGRESS_UNRESOLVABLE);
    expect(await check({ url: 'not a url sk-secret' })).toEqual({
      destinations: [],
      denied: { destination: 'unparseable', reason: DENY_REASONS.EGRESS_UNRESOLVABLE },
    });
  });

  it('finds URLs anywhere in an egress tool, marked arguments at any depth, and hosts; the first refusal decides', async () => {
    const verdict = await check({ body: { text: 'see https://api.example.com/a and then http://169.254.169.254/.' } });
    expect(verdict).toEqual({
      destinations: ['https://api.example.com:443', 'http://169.254.169.254:80'],
      denied: { destination: 'http://169.254.169.254:80', reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS },
    });
    const marked: ToolClassification = { classes: ['read'], urls: ['target'], hosts: ['server'] };
    expect(await check({ opts: [{ target: 'https://api.example.com/' }], note: 'http://ignored.example/' }, marked)).toEqual({
      destinations: ['https://api.example.com:443'],
    });
    expect((await check({ server: 'evil.example.net:22' }, marked)).denied).toEqual({
      destination: 'evil.example.net:22',
      reason: DENY_REASONS.EGRESS_NOT_ALLOWED,
    });
    expect(await check({ server: 'api.example.com' }, marked)).toEqual({ destinations: ['api.example.com'] });
  });

  it('denies every destination when the bundle has no allow-list, and past MAX_DESTINATIONS', async () => {
    expect((await check({ url: 'https://api.example.com/' }, FETCH, { allow: [] })).denied?.reason).toBe(DENY_REASONS.EGRESS_NOT_ALLOWED);
    const many = Array.from({ length: MAX_DESTINATIONS + 1 }, (_, i) => `https://h${i}.example.org/`).join(' ');
    expect((await check({ text: many })).denied).toEqual({ destination: 'too_many_destinations', reason: DENY_REASONS.EGRESS_UNRESOLVABLE });
  });
});

describe('isBlockedAddress', () => {
  it('blocks private, loopback, link-local, metadata, CGNAT, unique-local and mapped addresses; passes public ones', () => {
    for (const a of [
      '10.0.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.100.100.200',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ])
      expect(isBlockedAddress(a), a).toBe(true);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1']) expect(isBlockedAddress(a), a).toBe(false);
  });
});
