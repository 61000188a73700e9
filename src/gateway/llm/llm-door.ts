/**
 * The model-provider proxy: OpenAI-compatible `POST /llm/NAME/v1/chat/completions` and
 * `/llm/NAME/v1/responses`, Anthropic-compatible `POST /llm/NAME/v1/messages` (NAME a
 * configured provider speaking that API). The door only translates: the body becomes a
 * `model` ToolCall whose destination is the provider; the pipeline authorizes it, records the
 * intent and hands back the body redacted for the model (`auth.outbound`, pseudonyms when
 * configured); that is all that leaves. The answer (JSON, or SSE with its text regrouped by line
 * across events, `stream-redactor.ts`) is redacted by the pipeline, the caller's own pseudonyms
 * restored in it, and recorded as the result row.
 * The caller's token is Custos' (Bearer, or `x-api-key` as the Anthropic SDK sends it); the
 * provider's key is added by the outbound side, never taken from the caller.
 */
import { runtimeHeadersOf } from '../shared/agent-runtime.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, isRecord, toCustosError } from '../../kernel/index.js';
import type {
  Authorization,
  IdSource,
  InputLimits,
  ModelApi,
  ModelProviders,
  ModelResponse,
  Pipeline,
  Principal,
  PseudonymVault,
  ToolCall,
} from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { readCallBody } from '../shared/call-body.js';
import { parseTraceparent, sendJson } from '../shared/io.js';
import type { DeriveAgent, Logger } from '../types.js';
import { formatSse, parseSse } from './sse.js';
import { createStreamRedactor } from './stream-redactor.js';
import type { ReleasedPart, StreamShape } from './stream-redactor.js';

export interface LlmDoorDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly models: ModelProviders;
  readonly pseudonyms?: PseudonymVault;
  readonly deriveAgent: DeriveAgent;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly inputLimits: InputLimits;
  /** Largest non-streamed provider answer read (default 16 MiB). */
  readonly maxAnswerBytes?: number;
}

export const LLM_PREFIX = '/llm/';

/** The endpoints, by path below the provider: the API they belong to and the row's tool name. */
const ENDPOINTS: Readonly<Record<string, { readonly api: ModelApi; readonly name: string; readonly stream: StreamShape }>> = {
  '/v1/chat/completions': { api: 'openai', name: 'chat.completions', stream: 'openai-chat' },
  '/v1/responses': { api: 'openai', name: 'responses', stream: 'openai-responses' },
  '/v1/messages': { api: 'anthropic', name: 'messages', stream: 'anthropic' },
};

/** Provider headers a client sends that the provider needs; nothing else of the caller's request is passed on. */
const PASSED_HEADERS = ['anthropic-version', 'anthropic-beta', 'openai-beta'];

/** The agent name a model client may give (default `model-client`). */
export const AGENT_NAME_HEADER = 'x-custos-agent';

export function createLlmDoor(deps: LlmDoorDeps) {
  const maxAnswerBytes = deps.maxAnswerBytes ?? 16 * 1024 * 1024;

  /** The caller's pseudonyms restored in every string of a (redacted) value. */
  function restore(value: unknown, principal: Principal): unknown {
    const vault = deps.pseudonyms;
    if (!vault) return value;
    if (typeof value === 'string') return vault.restore(principal, value);
    if (Array.isArray(value)) return value.map((v) => restore(v, principal));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v, principal)]));
    return value;
  }

  function buildCall(req: IncomingMessage, principal: Principal, server: string, name: string, destination: string, body: unknown): ToolCall {
    const declared = req.headers[AGENT_NAME_HEADER];
    const tier = req.headers['x-custos-agent-tier'];
    const { agent, tierMismatch } = deps.deriveAgent(principal, {
      name: typeof declared === 'string' && /^[\x20-\x7e]{1,128}$/.test(declared) ? declared : 'model-client',
      tier: typeof tier === 'string' ? tier : undefined,
      ...runtimeHeadersOf(req.headers),
    });
    return {
      requestId: deps.ids.newId(),
      kind: 'model',
      tool: { server, name },
      arguments: body,
      principal,
      agent: tierMismatch ? { ...agent, tierMismatch: true } : agent,
      traceId: parseTraceparent(req.headers.traceparent),
      destination,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = /^\/llm\/([a-z0-9][a-z0-9-]{0,63})(\/v1\/[a-z/]+)$/.exec(path);
    const provider = match ? deps.models.get(match[1]!) : undefined;
    const endpoint = match ? ENDPOINTS[match[2]!] : undefined;
    if (req.method !== 'POST' || !provider || !endpoint || endpoint.api !== provider.api) throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    // The Anthropic SDK sends its key as x-api-key: for Custos that key is the user's token.
    const apiKey = req.headers['x-api-key'];
    if (req.headers.authorization === undefined && typeof apiKey === 'string') req.headers.authorization = `Bearer ${apiKey}`;
    const principal = await deps.auth.authenticate(req, res, { kind: 'model' });
    if (!principal) return;
    const tool = { server: provider.name, name: endpoint.name };
    const read = await readCallBody(deps, req, principal, (b) => ({ tool, arguments: b }));
    if (!read.ok) throw read.error;
    if (typeof read.body !== 'object' || read.body === null || Array.isArray(read.body))
      throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'The body must be a JSON object.');
    const auth = await deps.pipeline.authorize(buildCall(req, principal, provider.name, endpoint.name, provider.destination, read.body));
    if (auth.decision.decision !== 'allow') {
      sendDenied(res, provider.api, auth);
      return;
    }
    if (!auth.outbound) throw new CustosError('ERR_PROTECT_FAILED'); // never forward what was not redacted for the model
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let answer: ModelResponse;
    try {
      const headers = Object.fromEntries(PASSED_HEADERS.flatMap((h) => (typeof req.headers[h] === 'string' ? [[h, req.headers[h] as string]] : [])));
      answer = await deps.models.send({ provider: provider.name, path: match![2]!, body: auth.outbound.value, headers, signal: abort.signal });
    } catch (err) {
      const failure = toCustosError(err, 'ERR_GATEWAY_PROVIDER_FAILED');
      await deps.pipeline.complete(auth, { error: failure.code });
      throw failure;
    }
    if (answer.status === 200 && answer.contentType.startsWith('text/event-stream')) await relayStream(res, auth, answer, principal, endpoint.stream);
    else await relayJson(res, auth, answer, principal);
  }

  /** A whole answer: redacted and recorded before the caller sees any of it. */
  async function relayJson(res: ServerResponse, auth: Authorization, answer: ModelResponse, principal: Principal): Promise<void> {
    let raw: string;
    try {
      raw = await readAnswer(answer.body, maxAnswerBytes);
    } catch (err) {
      const failure = toCustosError(err, 'ERR_GATEWAY_PROVIDER_FAILED');
      await deps.pipeline.complete(auth, { error: failure.code });
      throw failure;
    }
    let output: unknown;
    try {
      output = withoutLogprobs(JSON.parse(raw) as unknown);
    } catch {
      output = raw;
    }
    const completion = await deps.pipeline.complete(auth, { output, ...(answer.status >= 400 ? { error: `provider_status_${answer.status}` } : {}) });
    if (completion.withheld) throw new CustosError('ERR_INPUT_TOO_COMPLEX', 'The answer is past a limit Custos inspects; it was withheld.');
    sendJson(res, answer.status, restore(completion.output.value, principal), { 'x-custos-request-id': auth.call.requestId });
  }

  /**
   * A streamed answer: its text regrouped by line across events (`stream-redactor.ts`) so each
   * value is redacted whole, each event redacted before it goes on; the result row (the events
   * as released, redacted) written before the stream ends.
   */
  async function relayStream(res: ServerResponse, auth: Authorization, answer: ModelResponse, principal: Principal, shape: StreamShape): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-custos-request-id': auth.call.requestId });
    const redactor = createStreamRedactor(shape, { redact: (data) => deps.pipeline.redactPart(auth, data).value });
    const events: unknown[] = [];
    const write = (parts: readonly ReleasedPart[]): void => {
      for (const { raw, redacted } of parts) {
        events.push(raw);
        const shown = restore(redacted.data, principal);
        res.write(formatSse({ ...(redacted.event ? { event: redacted.event } : {}), data: typeof shown === 'string' ? shown : JSON.stringify(shown) }));
      }
    };
    let error: string | undefined;
    try {
      for await (const event of parseSse(answer.body)) {
        let data: unknown;
        try {
          data = withoutLogprobs(JSON.parse(event.data) as unknown);
        } catch {
          data = event.data; // `[DONE]` and other plain data
        }
        write(redactor.push(event.event ? { event: event.event, data } : { data }));
      }
      write(redactor.end());
    } catch (err) {
      error = toCustosError(err, 'ERR_GATEWAY_PROVIDER_FAILED').code;
      events.push(...redactor.held()); // text held back when the stream failed: recorded (redacted by `complete`), never sent
    }
    try {
      // The trail's copy: the events as released (text regrouped by line), redacted by `complete` exactly as they were for the agent.
      await deps.pipeline.complete(auth, { output: { stream: events }, ...(error ? { error } : {}) });
    } catch (err) {
      deps.logger.error({ code: toCustosError(err).code, request_id: auth.call.requestId }, 'model stream result row not written');
      error ??= 'ERR_AUDIT_UNAVAILABLE';
    }
    if (error) res.destroy();
    else res.end();
  }

  return { handle };
}

const recordsOf = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter(isRecord) : []);

/**
 * Token log-probabilities, when a client asks for them (`logprobs`, `top_logprobs`), repeat the
 * answer one token per string: no detector sees a value the model wrote in several tokens, so
 * they are withheld (`null`, or `[]` where the API has a list) in a whole answer and in every
 * streamed event, before redaction, the trail and the agent. Only the places the two OpenAI APIs
 * put them are touched (Anthropic has none), never a tool call's input.
 */
export function withoutLogprobs(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const clearParts = (content: unknown): void => {
    for (const part of recordsOf(content)) if ('logprobs' in part) part.logprobs = [];
  };
  for (const choice of recordsOf(value.choices)) if ('logprobs' in choice) choice.logprobs = null; // Chat Completions, whole or a chunk
  for (const item of recordsOf(value.output)) clearParts(item.content); // a Responses answer
  if (isRecord(value.response)) for (const item of recordsOf(value.response.output)) clearParts(item.content); // response.* events
  if (isRecord(value.item)) clearParts(value.item.content); // response.output_item.*
  if (isRecord(value.part) && 'logprobs' in value.part) value.part.logprobs = []; // response.content_part.*
  if ('logprobs' in value) value.logprobs = Array.isArray(value.logprobs) ? [] : null; // response.output_text.delta / .done
  return value;
}

/** A provider's whole answer as text, within the byte limit (past it: refused, never passed unread). */
async function readAnswer(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new CustosError('ERR_INPUT_TOO_COMPLEX', 'The answer is past the size Custos inspects; it was withheld.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A denial in the provider's own error shape (so its SDK raises its permission error), with Custos' reasons. */
function sendDenied(res: ServerResponse, api: ModelApi, auth: Authorization): void {
  const message = `Custos denied this request (${auth.decision.reasons.join(', ') || 'denied'}).`;
  const custos = { code: 'ERR_POLICY_DENIED', reasons: auth.decision.reasons, request_id: auth.call.requestId };
  const body =
    api === 'anthropic'
      ? { type: 'error', error: { type: 'permission_error', message }, custos }
      : { error: { message, type: 'permission_denied', code: 'ERR_POLICY_DENIED' }, custos };
  sendJson(res, 403, body, { 'x-custos-request-id': auth.call.requestId });
}
