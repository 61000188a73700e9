import { describe, expect, it } from 'vitest';
import { fanOut } from './fan-out.js';

async function* counted(n: number, reads: { count: number }, failAt?: number): AsyncGenerator<number> {
  for (let i = 1; i <= n; i++) {
    if (i === failAt) throw new Error(`source failed at ${i}`);
    reads.count++;
    yield i;
  }
}

const sum = async (items: AsyncIterable<number>): Promise<number> => {
  let s = 0;
  for await (const x of items) s += x;
  return s;
};

describe('fanOut', () => {
  it('feeds every item of one read to every consumer', async () => {
    const reads = { count: 0 };
    const seen: number[] = [];
    const [a, b, c] = await fanOut(
      counted(1000, reads),
      [
        sum,
        async (items: AsyncIterable<number>) => {
          for await (const x of items) seen.push(x);
          return seen.length;
        },
        sum,
      ] as const,
      8,
    );
    expect([a, b, c]).toEqual([500_500, 1000, 500_500]);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(reads.count).toBe(1000);
  });

  it('a consumer that stops early or never reads does not hold the others back', async () => {
    const reads = { count: 0 };
    const [first, none, all] = await fanOut(
      counted(500, reads),
      [
        async (items: AsyncIterable<number>) => {
          for await (const x of items) return x;
          return 0;
        },
        async () => 'ignored',
        sum,
      ] as const,
      4,
    );
    expect([first, none, all]).toEqual([1, 'ignored', 125_250]);
    expect(reads.count).toBe(500);
  });

  it('a source that throws rejects the consumers, naming the error', async () => {
    await expect(fanOut(counted(100, { count: 0 }, 50), [sum, sum] as const, 4)).rejects.toThrow('source failed at 50');
  });
});
