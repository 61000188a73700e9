import { describe, expect, it } from 'vitest';
import { isStoreBusy, retryWhileBusy } from './busy-retry.js';

const busy = (code = 'SQLITE_BUSY') => Object.assign(new Error('database is locked'), { code });

describe('retryWhileBusy', () => {
  it('returns the value itself, not a promise, when the first try succeeds (no timer, no tick)', () => {
    expect(retryWhileBusy(() => 42, 100)).toBe(42);
  });

  it('throws an error that is not busy at once, and busy at once when there is no wait', () => {
    expect(() =>
      retryWhileBusy(() => {
        throw new Error('no such table');
      }, 100),
    ).toThrow('no such table');
    expect(() =>
      retryWhileBusy(() => {
        throw busy();
      }, 0),
    ).toThrow('database is locked');
  });

  it('tries again on timers while busy, and returns once the lock is free', async () => {
    let tries = 0;
    const result = retryWhileBusy(() => {
      if (++tries < 4) throw busy('SQLITE_LOCKED');
      return 'written';
    }, 1000);
    expect(result).toBeInstanceOf(Promise);
    expect(tries).toBe(1);
    expect(await result).toBe('written');
    expect(tries).toBe(4);
  });

  it('gives up with the last busy error once the deadline of the (injected) clock has passed', async () => {
    let clock = 0;
    let tries = 0;
    const result = retryWhileBusy(
      () => {
        tries++;
        clock += 30;
        throw busy('SQLITE_BUSY_SNAPSHOT');
      },
      100,
      () => clock,
    );
    await expect(result).rejects.toMatchObject({ code: 'SQLITE_BUSY_SNAPSHOT' });
    expect(tries).toBe(5); // the deadline is 100 after the first busy (at 30): tries at 60, 90, 120, and 150 past it
    expect(clock).toBe(150);
  });

  it('knows SQLite busy and locked codes, and nothing else', () => {
    expect(['SQLITE_BUSY', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED_SHAREDCACHE'].every((code) => isStoreBusy({ code }))).toBe(true);
    expect([{ code: 'SQLITE_READONLY' }, new Error('busy'), null, undefined].some(isStoreBusy)).toBe(false);
  });
});
