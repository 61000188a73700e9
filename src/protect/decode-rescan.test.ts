import { describe, expect, it } from 'vitest';
import { decodeBase64Text } from './decode-rescan.js';

/** The decoding before the isUtf8 check: a fatal decoder, its error caught. */
function reference(run: string): string | undefined {
  if (!/[0-9]/.test(run) && !/[+/]/.test(run) && run.length < 40) return undefined;
  const bytes = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length < 12) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return /[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(text) ? undefined : text;
}

/** A deterministic generator (xorshift32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const EDGES: number[][] = [
  [0xef, 0xbb, 0xbf], // BOM: dropped by both decoders
  [0xed, 0xa0, 0x80], // an encoded surrogate
  [0xc0, 0xaf], // overlong
  [0xe0, 0x80, 0xaf], // overlong
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xf0, 0x9f, 0x98, 0x80], // an emoji
  [0xe2, 0x82], // truncated
  [0xc3, 0xa9], // é
  [0xff],
  [0x80],
];

const VALID = [EDGES[0]!, EDGES[5]!, EDGES[7]!];

describe('decodeBase64Text', () => {
  it('decodes exactly as the fatal decoder did, over random and edge-case bytes', () => {
    const next = rng(0x5eed);
    let decoded = 0;
    for (let n = 0; n < 20000; n++) {
      const bytes: number[] = [];
      const length = 12 + Math.floor(next() * 48);
      const readable = n % 2 === 0; // half the samples are valid UTF-8 text, with a BOM, emoji or é in it
      while (bytes.length < length) {
        const r = next();
        if (r < 0.6) bytes.push(0x20 + Math.floor(next() * 0x5f));
        else if (readable) bytes.push(...VALID[Math.floor(next() * VALID.length)]!);
        else if (r < 0.8) bytes.push(...EDGES[Math.floor(next() * EDGES.length)]!);
        else bytes.push(Math.floor(next() * 256));
      }
      const b64 = Buffer.from(bytes).toString('base64');
      for (const run of [b64, b64.replace(/=+$/, ''), b64.replace(/\+/g, '-').replace(/\//g, '_')]) {
        const want = reference(run);
        expect(decodeBase64Text(run)).toBe(want);
        if (want !== undefined) decoded++;
      }
    }
    expect(decoded).toBeGreaterThan(10000); // the readable branch is exercised, not only the rejections
  });

  it('keeps dropping a leading BOM and refusing invalid UTF-8', () => {
    const text = 'api_key=sk_live_0123456789';
    expect(decodeBase64Text(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(text)]).toString('base64'))).toBe(text);
    expect(decodeBase64Text(Buffer.from([...Buffer.from(text), 0xed, 0xa0, 0x80]).toString('base64'))).toBeUndefined();
  });
});
