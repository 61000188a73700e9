import { describe, expect, it } from 'vitest';
import { cachedFor } from './evidence-service.js';

describe('cachedFor (the checklist evaluated at most once per interval)', () => {
  it('shares one run between concurrent calls and for the interval after it, then runs again', async () => {
    let t = 0;
    let runs = 0;
    const get = cachedFor(
      1000,
      () => t,
      async () => ++runs,
    );
    const [a, b] = await Promise.all([get(), get()]);
    expect([a, b, runs]).toEqual([1, 1, 1]);
    t = 999;
    expect(await get()).toBe(1);
    t = 1000;
    expect(await get()).toBe(2);
    expect(runs).toBe(2);
  });

  it('keeps no failure: the next call runs again', async () => {
    let runs = 0;
    const get = cachedFor(
      60_000,
      () => 0,
      async () => {
        runs++;
        if (runs === 1) throw new Error('store down');
        return 'ok';
      },
    );
    await expect(get()).rejects.toThrow('store down');
    expect(await get()).toBe('ok');
    expect(runs).toBe(2);
  });

  it('counts the interval from the end of a run, not its start', async () => {
    let t = 0;
    let release!: () => void;
    let runs = 0;
    const get = cachedFor(
      1000,
      () => t,
      () =>
        new Promise<number>((resolve) => {
          runs++;
          release = () => resolve(runs);
        }),
    );
    const first = get();
    t = 5000; // a slow evaluation: still running at 5 s
    expect(get()).toBe(first);
    release();
    await first;
    t = 5999;
    expect(await get()).toBe(1);
    expect(runs).toBe(1);
  });
});
