import { describe, expect, it } from 'vitest';
import { runtimeHeadersOf } from './agent-runtime.js';

describe('runtimeHeadersOf', () => {
  it('reads the User-Agent and names the SDK from the Stainless headers', () => {
    expect(
      runtimeHeadersOf({
        'user-agent': 'Anthropic/JS 0.30.1',
        'x-stainless-lang': 'js',
        'x-stainless-package-version': '0.30.1',
        'x-stainless-runtime': 'node',
        'x-stainless-runtime-version': 'v20.11.0',
      }),
    ).toEqual({ userAgent: 'Anthropic/JS 0.30.1', sdk: 'js 0.30.1 (node v20.11.0)' });
  });

  it('keeps only printable ASCII, bounded, and nothing when the headers are absent', () => {
    expect(runtimeHeadersOf({})).toEqual({});
    expect(runtimeHeadersOf({ 'user-agent': 'bad\u0000agent', 'x-stainless-lang': 'python' })).toEqual({ sdk: 'python' });
    expect(runtimeHeadersOf({ 'user-agent': 'x'.repeat(1000) }).userAgent).toHaveLength(256);
  });
});
