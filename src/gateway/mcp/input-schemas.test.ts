import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../fakes.test-support.js';
import { checkToolArguments } from './input-schemas.js';

const tool = (inputSchema: Record<string, unknown>): Tool => ({ name: 'read', inputSchema: { type: 'object', ...inputSchema } as Tool['inputSchema'] });

describe('tool input schemas', () => {
  const logger = createSilentLogger();

  it('validates arguments against draft-07 and 2020-12 schemas', () => {
    const draft7 = tool({
      $schema: 'http://json-schema.org/draft-07/schema#',
      properties: { path: { type: 'string' } },
      required: ['path'],
      additionalProperties: false,
    });
    expect(checkToolArguments('fs', draft7, { path: 'a' }, logger)).toBe('valid');
    expect(checkToolArguments('fs', draft7, { path: 42 }, logger)).toBe('invalid');
    expect(checkToolArguments('fs', draft7, { path: 'a', extra: 1 }, logger)).toBe('invalid');
    const d2020 = tool({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { paths: { type: 'array', prefixItems: [{ type: 'string' }] } },
    });
    expect(checkToolArguments('fs', d2020, { paths: ['a'] }, logger)).toBe('valid');
    expect(checkToolArguments('fs', d2020, { paths: [1] }, logger)).toBe('invalid');
  });

  it('fails closed on a hostile or unusable schema, and logs it once', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100; i++) deep = { type: 'object', properties: { a: deep } };
    const hostile = [
      tool({ properties: { a: deep } }),
      tool({ properties: { a: { $ref: 'https://evil.example/schema.json' } } }),
      tool({ properties: { a: { type: 'no-such-type' } } }),
    ];
    for (const t of hostile) {
      const before = logger.lines.length;
      expect(checkToolArguments('fs', t, { a: 'x' }, logger)).toBe('schema_unusable');
      expect(checkToolArguments('fs', t, { a: 'x' }, logger)).toBe('schema_unusable');
      expect(logger.lines.length - before).toBe(1);
    }
  });

  it('compiles once per Tool object (a tools/list refresh brings new objects)', () => {
    const schema = { properties: { n: { type: 'number' } } };
    const first = tool(schema);
    expect(checkToolArguments('fs', first, { n: 1 }, logger)).toBe('valid');
    const refreshed = tool({ properties: { n: { type: 'string' } } });
    expect(checkToolArguments('fs', refreshed, { n: 1 }, logger)).toBe('invalid');
    expect(checkToolArguments('fs', first, { n: 1 }, logger)).toBe('valid');
  });
});
