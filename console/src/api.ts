/** Calls Custos' own APIs (the same routes as the CLI) with the signed-in user's token. */
import { currentToken } from './auth';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const token = currentToken();
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token ?? ''}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

/** A file the API answers (bytes), saved through the browser's download. */
export async function download(path: string, name: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${currentToken() ?? ''}` } });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `download failed: HTTP ${res.status}`);
  saveBlob(await res.blob(), name);
}

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export type ConsoleRole = 'admin' | 'security' | 'auditor';
export interface Me {
  readonly sub: string;
  readonly email: string | null;
  readonly roles: readonly ConsoleRole[];
}
