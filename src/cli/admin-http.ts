/** A request to a running Custos' admin API, as the admin whose token is given (--token or $CUSTOS_TOKEN). */
import { CustosError } from '../kernel/index.js';
import type { CommandContext } from './context.js';

export interface AdminTarget {
  readonly url: string;
  readonly token?: string;
}

/** The answer's JSON, or undefined after printing the error (exit code 1). */
export async function adminRequest<T>(ctx: CommandContext, target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | undefined> {
  const token = target.token ?? process.env.CUSTOS_TOKEN;
  if (!token) throw new CustosError('ERR_IDENTITY_TOKEN_MISSING', 'Give a bearer token with --token or $CUSTOS_TOKEN.');
  const response = await fetch(`${target.url.replace(/\/+$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json().catch(() => ({}))) as T & { error?: { code?: string; message?: string } };
  if (response.ok) return answer;
  ctx.err(`custos: ${answer.error?.code ?? response.status}: ${answer.error?.message ?? 'the request was refused'}`);
  ctx.exitCode = 1;
  return undefined;
}
