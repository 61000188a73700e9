import { describe, expect, it } from 'vitest';
import { createProtector } from './protector.js';

const p = createProtector();

describe('structure-aware redaction', () => {
  it('a value under a hinting field name goes whole, whatever it looks like; placeholders stay', () => {
    const r = p.redact({ patient_name: 'jane doe', dob: '12 Apr 61', password: 'hunter2', ssn: 123456789, note: 'fine', password2: '<REDACTED>' });
    expect(r.value).toEqual({
      patient_name: '[redacted:name]',
      dob: '[redacted:date]',
      password: '[redacted:secret]',
      ssn: '[redacted:ssn]',
      note: 'fine',
      password2: '<REDACTED>',
    });
    expect(r.rules).toContainEqual({ rule: 'field-name', type: 'name', count: 1 });
  });

  it('base64 text is decoded and scanned again; binary base64 (an image) is left alone', () => {
    const hidden = Buffer.from('patient SSN 123-45-6789 on file').toString('base64');
    const r = p.redact({ text: `payload ${hidden} end` });
    expect(r.value).toEqual({ text: 'payload [redacted:ssn] end' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 250]).toString('base64');
    expect(p.redact(`data:image/png;base64,${png}`).value).toBe(`data:image/png;base64,${png}`);
  });

  it('percent-encoded text is decoded and scanned again', () => {
    const r = p.redact('GET /search?q=ssn%3A%20123-45-6789&x=1');
    expect(r.value).not.toContain('123-45-6789');
    expect(r.value).not.toContain('123%2D45');
    expect(r.types).toEqual(['ssn']);
  });

  it('every MCP content block is walked: text, resource text, structured content', () => {
    const r = p.redact({
      content: [
        { type: 'text', text: 'SSN 123-45-6789' },
        { type: 'resource', resource: { uri: 'file:///w/a.txt', text: 'MRN: 00482913' } },
      ],
      structuredContent: { contact: { email: 'jane@example.com' } },
    });
    expect(JSON.stringify(r.value)).not.toMatch(/123-45-6789|00482913|jane@example\.com/);
    expect(r.count).toBe(3);
  });

  it('a value too large to inspect is refused with ERR_PROTECT_TOO_LARGE, naming the limit, not the value', () => {
    const small = createProtector({ maxTextChars: 1000 });
    expect(() => small.redact('x'.repeat(1001))).toThrow(expect.objectContaining({ code: 'ERR_PROTECT_TOO_LARGE', detail: { limit: 1000, size: 1001 } }));
    const total = createProtector({ maxTotalChars: 1500 });
    expect(() => total.redact(['a'.repeat(800), 'b'.repeat(800)])).toThrow(expect.objectContaining({ code: 'ERR_PROTECT_TOO_LARGE' }));
  });
});
