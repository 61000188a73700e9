import { describe, expect, it } from 'vitest';
import { FAKE } from './fake-credentials.test-support.js';
import { createProtector } from './protector.js';

const protector = createProtector();

function mcpResult() {
  return {
    content: [
      { type: 'text', text: `Here is the file:\nDATABASE_PASSWORD=hunter2-not-real\nowner: jane@example.com` },
      { type: 'image', data: `iVBORw0KGgo${FAKE.awsAccessKeyId}AAAA`, mimeType: 'image/png' },
      { type: 'audio', data: 'UklGRjQ123-45-6789', mimeType: 'audio/wav' },
      { type: 'resource', resource: { uri: 'file:///w/blob.bin', blob: `AAAA${FAKE.githubPat}`, mimeType: 'application/octet-stream' } },
      { type: 'resource', resource: { uri: 'file:///w/notes.txt', text: 'SSN 123-45-6789', mimeType: 'text/plain' } },
    ],
    structuredContent: { rows: [{ name: 'Jane', ssn: '123-45-6789', score: 12, active: true, note: null }] },
    isError: false,
  };
}

describe('JSON walking', () => {
  it('redacts strings in MCP content blocks and structuredContent, skipping binary payloads', () => {
    const input = mcpResult();
    const { value, count, types } = protector.redact(input);
    expect(value.content[0]).toEqual({ type: 'text', text: 'Here is the file:\nDATABASE_PASSWORD=[redacted:secret]\nowner: [redacted:email]' });
    expect(value.content[1]).toEqual(input.content[1]);
    expect(value.content[2]).toEqual(input.content[2]);
    expect(value.content[3]).toEqual(input.content[3]);
    expect(value.content[4]).toEqual({ type: 'resource', resource: { uri: 'file:///w/notes.txt', text: 'SSN [redacted:ssn]', mimeType: 'text/plain' } });
    expect(value.structuredContent.rows[0]).toEqual({ name: 'Jane', ssn: '[redacted:ssn]', score: 12, active: true, note: null });
    expect(value.isError).toBe(false);
    expect(count).toBe(4);
    expect(types).toEqual(['email', 'secret', 'ssn']);
  });

  it('never mutates its input and returns fresh containers', () => {
    const input = mcpResult();
    const snapshot = structuredClone(input);
    const { value } = protector.redact(input);
    expect(input).toEqual(snapshot);
    expect(value).not.toBe(input);
    expect(value.content).not.toBe(input.content);
    expect(value.structuredContent.rows[0]).not.toBe(input.structuredContent.rows[0]);
  });

  it('keeps object keys, even secret-looking ones, and key order', () => {
    const { value } = protector.redact({ 'jane@example.com': 'x', password: 'plain', z: 1, a: 2 });
    expect(Object.keys(value)).toEqual(['jane@example.com', 'password', 'z', 'a']);
    expect(value['jane@example.com']).toBe('x');
  });

  it('passes scalars through and handles a bare string, undefined and empty containers', () => {
    expect(protector.redact(42)).toEqual({ value: 42, count: 0, types: [] });
    expect(protector.redact(null)).toEqual({ value: null, count: 0, types: [] });
    expect(protector.redact(undefined)).toEqual({ value: undefined, count: 0, types: [] });
    expect(protector.redact('mail a@example.com')).toEqual({
      value: 'mail [redacted:email]',
      count: 1,
      types: ['email'],
      rules: [{ rule: 'email', type: 'email', count: 1 }],
    });
    expect(protector.redact({})).toEqual({ value: {}, count: 0, types: [] });
    expect(protector.redact([])).toEqual({ value: [], count: 0, types: [] });
  });

  it('a secret_file call replaces resource blobs whole but leaves images alone', () => {
    const input = mcpResult();
    const { value, types } = protector.redact(input, { dataClasses: ['secret_file'] });
    expect(value.content[3]).toEqual({
      type: 'resource',
      resource: { uri: 'file:///w/blob.bin', blob: '[redacted:secret]', mimeType: 'application/octet-stream' },
    });
    expect(value.content[1]).toEqual(input.content[1]);
    expect(types).toContain('secret');
  });

  it('survives very deep nesting without overflowing the stack', () => {
    let deep: unknown = 'SSN 123-45-6789';
    for (let i = 0; i < 50_000; i++) deep = i % 2 ? [deep] : { d: deep };
    const { count } = protector.redact(deep);
    expect(count).toBe(1);
  });

  it('treats a "__proto__" key as data, not as a prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "a@example.com"}, "ok": 1}') as Record<string, unknown>;
    const { value } = protector.redact(input);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(value, '__proto__')).toBe(true);
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":"[redacted:email]"},"ok":1}');
  });

  it('does not loop on shared or cyclic references', () => {
    const shared = { email: 'a@example.com' };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const { value } = protector.redact(cyclic);
    expect((value.shared as { email: string }).email).toBe('[redacted:email]');
    expect(value.self).toBe(value);
  });
});
