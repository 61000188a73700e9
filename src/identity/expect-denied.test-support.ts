/** Test support: asserts a verification is refused with one code and leaks nothing of the token. */
import { expect } from 'vitest';
import { CustosError } from '../kernel/index.js';
import type { ErrorCode } from '../kernel/index.js';

export async function expectDenied(attempt: Promise<unknown>, code: ErrorCode, token: string, secrets: readonly string[] = []): Promise<CustosError> {
  const err: unknown = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(CustosError);
  const custos = err as CustosError;
  expect(custos.code).toBe(code);
  const shown = `${custos.message} ${JSON.stringify(custos.detail ?? {})} ${String(custos.stack)}`;
  const fragments = [token, ...token.split('.').filter((part) => part.length >= 8), ...secrets];
  for (const fragment of fragments) {
    if (fragment.length > 0) expect(shown).not.toContain(fragment.slice(0, 64));
  }
  return custos;
}
