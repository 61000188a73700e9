import { describe, expect, it } from 'vitest';
import { createFailureLimiter } from './rate-limit.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('auth-failure limiter (token bucket per source)', () => {
  it('allows a burst, then refuses with a Retry-After, and earns failures back over time', () => {
    const c = clock();
    const limiter = createFailureLimiter({ burst: 3, perMinute: 6, maxSources: 10 }, c.now);
    expect([limiter.spend('a'), limiter.spend('a'), limiter.spend('a')]).toEqual([undefined, undefined, undefined]);
    expect(limiter.spend('a')).toBe(10); // one failure per 10 s
    expect(limiter.limited('a')).toBe(10);
    expect(limiter.spend('b')).toBeUndefined(); // another source has its own budget
    c.advance(5000);
    expect(limiter.spend('a')).toBe(5);
    c.advance(5000);
    expect(limiter.limited('a')).toBeUndefined();
    expect(limiter.spend('a')).toBeUndefined();
    expect(limiter.spend('a')).toBe(10);
  });

  it('never refuses more than the budget allows, whatever the rate of requests', () => {
    const c = clock();
    const limiter = createFailureLimiter({ burst: 20, perMinute: 30, maxSources: 10 }, c.now);
    let allowed = 0;
    for (let i = 0; i < 5000; i += 1) {
      if (limiter.spend('flooder') === undefined) allowed += 1;
      c.advance(2); // 500 requests per second for 10 s
    }
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThanOrEqual(20 + 5 + 1);
  });

  it('keeps at most maxSources buckets, forgetting the least recently used', () => {
    const c = clock();
    const limiter = createFailureLimiter({ burst: 1, perMinute: 1, maxSources: 2 }, c.now);
    limiter.spend('a');
    limiter.spend('b');
    expect(limiter.spend('a')).toBeDefined(); // a is now the most recently used
    limiter.spend('c'); // evicts b
    expect(limiter.size()).toBe(2);
    expect(limiter.limited('a')).toBeDefined();
    expect(limiter.limited('b')).toBeUndefined();
    for (let i = 0; i < 1000; i += 1) limiter.spend(`s${i}`);
    expect(limiter.size()).toBe(2);
  });
});
