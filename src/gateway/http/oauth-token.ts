/**
 * Custos as the authorization server of its delegation tokens:
 *   POST /oauth/token                          RFC 8693 token exchange (form-encoded)
 *   GET  /.well-known/jwks.json                the public keys of Custos-issued tokens
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 * Refusals answer RFC 6749 §5.2 error JSON (`error`, `error_description`); never a token.
 * Each refusal spends from its source's failure budget (flood-guard.ts): past it the answer
 * is 429 and the refusal is counted in the aggregate auth_failure row instead of its own
 * deny row. An exchange that succeeds is never rate limited.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, isCustosError } from '../../kernel/index.js';
import type { TokenExchanger, TokenRequestForm } from '../../kernel/index.js';
import type { Logger } from '../types.js';
import type { FloodGuard } from '../shared/flood-guard.js';
import { headerValue, parseTraceparent, readBody, sendError, sendJson } from '../shared/io.js';

export interface OAuthTokenDeps {
  readonly tokens: TokenExchanger;
  readonly logger: Logger;
  readonly guard: FloodGuard;
}

const MAX_FORM_BYTES = 64 * 1024;
const NO_STORE = { pragma: 'no-cache' };

function oauthError(res: ServerResponse, error: string, description: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, 400, { error, error_description: description, ...extra }, NO_STORE);
}

/** Parses the form; RFC 6749 §3.2: parameters must not repeat. */
function parseForm(raw: Buffer): TokenRequestForm | undefined {
  const params = new URLSearchParams(raw.toString('utf8'));
  const form: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(form, key)) return undefined;
    form[key] = value;
  }
  return form;
}

export function createOAuthRoutes(deps: OAuthTokenDeps): Array<[string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void]> {
  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = (headerValue(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      oauthError(res, 'invalid_request', 'The request must be application/x-www-form-urlencoded.');
      return;
    }
    const form = parseForm(await readBody(req, MAX_FORM_BYTES));
    if (!form) {
      oauthError(res, 'invalid_request', 'A parameter is repeated.');
      return;
    }
    const traceId = parseTraceparent(req.headers.traceparent);
    const source = deps.guard.sourceOf(req);
    // A source past its budget still gets its token when the exchange succeeds; a refusal is then counted, not written.
    const quiet = deps.guard.isLimited(source);
    try {
      const body = await deps.tokens.exchange(form, { traceId, quiet });
      sendJson(res, 200, body, NO_STORE);
    } catch (err) {
      if (!isCustosError(err) || err.code !== 'ERR_IDENTITY_DELEGATION_INVALID') throw err;
      const detail = err.detail ?? {};
      const reply = () =>
        oauthError(res, String(detail.oauth_error ?? 'invalid_request'), err.message, {
          custos_code: err.code,
          ...(typeof detail.reason === 'string' ? { reason: detail.reason } : {}),
          ...(typeof detail.cause_code === 'string' ? { cause_code: detail.cause_code } : {}),
        });
      await deps.guard.refuse(req, res, { code: err.code, traceId, recorded: !quiet }, reply, source);
    }
  }

  return [
    [
      'POST /oauth/token',
      (req, res) =>
        token(req, res).catch((err: unknown) => {
          // Errors other than refusals (an audit store down) keep the one error table.
          sendError(res, isCustosError(err) ? err : new CustosError('ERR_INTERNAL', undefined, { cause: err }), deps.logger);
        }),
    ],
    [
      'GET /.well-known/jwks.json',
      (_req, res) => sendJson(res, 200, deps.tokens.jwks(), { 'cache-control': 'public, max-age=60', 'access-control-allow-origin': '*' }),
    ],
    ['GET /.well-known/oauth-authorization-server', (_req, res) => sendJson(res, 200, deps.tokens.metadata(), { 'access-control-allow-origin': '*' })],
  ];
}
