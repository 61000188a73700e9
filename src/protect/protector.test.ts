import { describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import type { Protector } from '../kernel/index.js';
import { FAKE } from './fake-credentials.test-support.js';
import * as protect from './index.js';

describe('createProtector', () => {
  it('implements the kernel Protector port', () => {
    const p: Protector = protect.createProtector();
    const call = { tool: { server: 'fs', name: 'read_file' }, kind: 'tool' as const, arguments: { path: '/w/phi/x.txt' } };
    expect(p.classify(call, [{ dataClass: 'phi', paths: ['**/phi/**'] }])).toEqual(['phi']);
    expect(p.redact({ text: `key ${FAKE.githubPat}` })).toEqual({
      value: { text: 'key [redacted:secret]' },
      count: 1,
      types: ['secret'],
      rules: [{ rule: 'github-pat', type: 'secret', count: 1 }],
    });
  });

  it('enables only the detectors named, by name or by type', () => {
    const emailOnly = protect.createProtector({ detectors: ['email'] });
    expect(emailOnly.redact('a@example.com 123-45-6789').value).toBe('[redacted:email] 123-45-6789');
    const secrets = protect.createProtector({ detectors: ['secret'] });
    expect(secrets.redact(`a@example.com ${FAKE.githubPat} DB_PASSWORD=x1y2z3`).value).toBe('a@example.com [redacted:secret] DB_PASSWORD=[redacted:secret]');
    const none = protect.createProtector({ detectors: [] });
    expect(none.redact('a@example.com').count).toBe(0);
  });

  it('rejects unknown detector names at construction', () => {
    expect(() => protect.createProtector({ detectors: ['emial'] })).toThrow(CustosError);
    try {
      protect.createProtector({ detectors: ['emial'] });
    } catch (err) {
      expect((err as CustosError).code).toBe('ERR_CONFIG_INVALID');
      expect((err as CustosError).detail).toEqual({ detector: 'emial' });
    }
  });

  it('fails closed with ERR_PROTECT_FAILED when a value cannot be walked', () => {
    const p = protect.createProtector();
    const hostile = {
      get text(): string {
        throw new Error('secret payload in message');
      },
    };
    let caught: unknown;
    try {
      p.redact(hostile);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CustosError);
    expect((caught as CustosError).code).toBe('ERR_PROTECT_FAILED');
    expect((caught as CustosError).message).not.toContain('payload');
  });
});

describe('public surface', () => {
  it('exports the documented functions', () => {
    for (const name of [
      'createProtector',
      'redactText',
      'listDetectors',
      'classifyPaths',
      'classifyCall',
      'matchGlob',
      'normalisePath',
      'extractPaths',
      'isSecretFile',
    ]) {
      expect(typeof (protect as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('lists every detector with a unique name, a type and a description', () => {
    const list = protect.listDetectors();
    expect(new Set(list.map((d) => d.name)).size).toBe(list.length);
    for (const d of list) {
      expect(d.name).toMatch(/^[a-z0-9-]+$/);
      expect(d.type).toMatch(/^[a-z_]+$/);
      expect(d.description.length).toBeGreaterThan(10);
      expect(['always', 'secret_file']).toContain(d.scope);
    }
    const types = new Set(list.map((d) => d.type));
    for (const t of ['secret', 'private_key', 'jwt', 'email', 'ssn', 'phone', 'card', 'mrn']) expect(types).toContain(t);
    const names = list.map((d) => d.name);
    expect(names.indexOf('pem-private-key')).toBeLessThan(names.indexOf('generic-secret'));
    expect(names.indexOf('jwt')).toBeLessThan(names.indexOf('generic-secret'));
    expect(names.indexOf('card')).toBeLessThan(names.indexOf('phone-nanp'));
  });
});
