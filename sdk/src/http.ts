/** One request to Custos with a deadline; every way it can fail becomes a typed error. */
import { CustosRejectedError, CustosUnavailableError } from './errors.js';

export interface HttpSettings {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Sends a JSON request (POST with a body, GET without); resolves with the JSON answer of a 2xx. */
export async function requestJson(http: HttpSettings, path: string, token: string | undefined, body?: unknown): Promise<Record<string, unknown>> {
  const url = `${http.baseUrl}${path}`;
  let response: Response;
  try {
    response = await http.fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(http.timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw timedOut
      ? new CustosUnavailableError('timeout', `Custos did not answer ${path} within ${http.timeoutMs} ms.`, { cause: err })
      : new CustosUnavailableError('unreachable', `Custos is unreachable at ${http.baseUrl} (${path}).`, { cause: err });
  }
  const answer = await readJson(response);
  if (response.status >= 500) {
    throw new CustosUnavailableError('server_error', `Custos answered ${path} with HTTP ${response.status}.`, { status: response.status });
  }
  if (!response.ok) {
    const error = answer.error as { code?: unknown; message?: unknown } | undefined;
    const code = typeof error?.code === 'string' ? error.code : undefined;
    const message = typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`;
    throw new CustosRejectedError(response.status, code, `Custos refused ${path}: ${code ?? response.status} ${message}`.trim());
  }
  return answer;
}
