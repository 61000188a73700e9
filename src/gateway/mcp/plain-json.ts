/**
 * Plain JSON answers for requests that cannot lead to a stream. The SDK's Streamable HTTP
 * transport picks JSON or SSE once per transport (`enableJsonResponse`), not per request, so
 * each session's SDK Server is connected to a `SessionTransport` that sits in front of it:
 * every request goes to the SDK transport (SSE) except a plain `tools/call` POST, which is
 * handed to the same Server and answered as one `application/json` body.
 *
 * A request is plain when nothing in it can need a stream: one JSON-RPC request, method
 * `tools/call`, no `_meta.progressToken`, and a client that declared neither elicitation nor
 * sampling (so no confirmation prompt and no relayed upstream request can be sent to it).
 * Anything else, or any header the SDK would have to judge, takes the SDK path unchanged.
 * The Server and the pipeline run the same way on both paths: the answer is written only
 * when the handler returns, after the result row is written (architecture.md, the intent-row invariant).
 *
 * A plain request of the usual shape (`directShape`: a string `name`, `arguments` an object or
 * absent, `_meta` an object or absent, no `task`) does not go through the Server's request
 * machinery (its zod parses of the request and of the result, its per-request bookkeeping):
 * `handleDirect` runs the session's own `tools/call` handler, the one the Server runs, keeps
 * its abort controller so that a `notifications/cancelled` for it aborts it as the Server's
 * would, and turns a thrown error into the JSON-RPC error the Server would send. Any other
 * plain request goes through the Server as before. A request of an MCP method whose shape its
 * schema refuses never reaches the Server: it is answered -32602 (request-shapes.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS, isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolRequest, JSONRPCMessage, JSONRPCRequest, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isRecord } from '../../kernel/index.js';
import { headerValue } from '../shared/io.js';
import { refuseMalformedRequest } from './request-shapes.js';
import type { ToolCallHandler } from './session-kit.js';

type Answer = (message: JSONRPCMessage) => void;

/** The Transport an SDK Server of a session is connected to: the SDK's HTTP transport, plus the plain path. */
export class SessionTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly plain = new Map<RequestId, Answer>();
  /** The abort controllers of the requests `handleDirect` runs, by request id. */
  private readonly direct = new Map<RequestId, AbortController>();

  constructor(readonly http: StreamableHTTPServerTransport) {}

  get sessionId(): string | undefined {
    return this.http.sessionId;
  }

  async start(): Promise<void> {
    this.http.onmessage = (message, extra) => {
      if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) this.cancelDirect(message.params);
      this.deliver(message, extra);
    };
    this.http.onclose = () => {
      this.abortDirect(); // as the Server aborts its request handlers when its transport closes
      this.onclose?.();
    };
    this.http.onerror = (error) => this.onerror?.(error);
    await this.http.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const isAnswer = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    const related = isAnswer ? message.id : options?.relatedRequestId;
    const answer = related === undefined ? undefined : this.plain.get(related);
    if (!answer) return this.http.send(message, options);
    if (isAnswer) {
      this.plain.delete(related as RequestId);
      return answer(message);
    }
    // A notification about a plain request has no stream of its own: the standalone one, if open.
    return this.http.send(message, { ...options, relatedRequestId: undefined });
  }

  async close(): Promise<void> {
    this.plain.clear();
    this.abortDirect();
    await this.http.close();
  }

  /** Hands a message to the Server, except a request of an MCP method in a shape its schema refuses: answered -32602 here (request-shapes.ts). */
  private deliver(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const refused = isJSONRPCRequest(message) ? refuseMalformedRequest(message) : undefined;
    if (refused) void this.send(refused).catch((error: unknown) => this.onerror?.(error instanceof Error ? error : new Error(String(error))));
    else this.onmessage?.(message, extra);
  }

  /** True when a plain request can be handed over now (connected, its id not already in flight). */
  accepts(id: RequestId): boolean {
    return this.onmessage !== undefined && !this.plain.has(id) && !this.direct.has(id);
  }

  private abortDirect(): void {
    for (const controller of this.direct.values()) controller.abort();
    this.direct.clear();
  }

  /** A cancellation of a request run directly aborts it, as the Server's `_oncancel` aborts its own (the Server sees the notification too). */
  private cancelDirect(params: unknown): void {
    const { requestId, reason } = (params ?? {}) as { requestId?: RequestId; reason?: unknown };
    if (requestId !== undefined) this.direct.get(requestId)?.abort(reason);
  }

  /**
   * Runs a plain request of the direct shape with the session's `tools/call` handler, the one
   * the Server runs; resolves with the answer the Server would send (the result, or its error
   * as JSON-RPC), or undefined when the client left first or the call was cancelled (the Server
   * sends nothing for a cancelled request either).
   */
  async handleDirect(request: JSONRPCRequest, extra: MessageExtraInfo, res: ServerResponse, callTool: ToolCallHandler): Promise<JSONRPCMessage | undefined> {
    const controller = new AbortController();
    this.direct.set(request.id, controller);
    let message: JSONRPCMessage;
    try {
      const params = request.params as CallToolRequest['params'];
      const result = await callTool(request as unknown as CallToolRequest, {
        signal: controller.signal,
        authInfo: extra.authInfo,
        _meta: params._meta,
        requestId: request.id,
        // Nothing is sent mid-call on a plain request (no progress token); a notification would go to the standalone stream.
        sendNotification: (notification) => (controller.signal.aborted ? Promise.resolve() : this.http.send({ jsonrpc: '2.0', ...notification })),
      });
      message = { result, jsonrpc: '2.0', id: request.id };
    } catch (error) {
      message = toErrorResponse(request.id, error);
    } finally {
      if (this.direct.get(request.id) === controller) this.direct.delete(request.id);
    }
    if (controller.signal.aborted || res.destroyed || res.writableEnded) return undefined;
    return message;
  }

  /** Hands a request to the Server with no HTTP exchange behind it (a taken-over session's initialize, session-takeover.ts); resolves with its answer. */
  async replay(request: JSONRPCRequest): Promise<JSONRPCMessage> {
    return new Promise((resolve) => {
      this.plain.set(request.id, resolve);
      this.deliver(request, {});
    });
  }

  /** Hands a plain request to the Server; resolves with its answer, or undefined when the client left first. */
  async handlePlain(request: JSONRPCRequest, extra: MessageExtraInfo, res: ServerResponse): Promise<JSONRPCMessage | undefined> {
    return new Promise((resolve) => {
      const onClose = (): void => {
        if (this.plain.get(request.id) !== answer) return;
        // The client left: its late answer (the call still runs to its result row) is dropped here.
        this.plain.set(request.id, () => undefined);
        resolve(undefined);
      };
      const answer: Answer = (message) => {
        res.off('close', onClose);
        resolve(message);
      };
      this.plain.set(request.id, answer);
      res.on('close', onClose);
      this.deliver(request, extra);
    });
  }
}

/** The body as a plain `tools/call` request of this session, or undefined when it takes the SDK path. */
export function plainToolCall(req: IncomingMessage, body: unknown, server: Server, transport: SessionTransport): JSONRPCRequest | undefined {
  if (req.method !== 'POST' || Array.isArray(body) || !isJSONRPCRequest(body) || body.method !== 'tools/call') return undefined;
  const meta = (body.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  if (meta?.progressToken !== undefined) return undefined;
  const client = server.getClientCapabilities();
  if (client === undefined || client.elicitation !== undefined || client.sampling !== undefined) return undefined;
  if (!(headerValue(req, 'accept') ?? '').includes('application/json')) return undefined;
  if (!(headerValue(req, 'content-type') ?? '').includes('application/json')) return undefined;
  const version = headerValue(req, 'mcp-protocol-version');
  if (version === undefined || !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return transport.sessionId !== undefined && transport.accepts(body.id) ? body : undefined;
}

/** The error answer the SDK's Protocol sends for a handler that threw (protocol.js `_onrequest`). */
function toErrorResponse(id: RequestId, error: unknown): JSONRPCMessage {
  const err = (error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: Number.isSafeInteger(err.code) ? (err.code as number) : ErrorCode.InternalError,
      message: typeof err.message === 'string' ? err.message : 'Internal error',
      ...(err.data !== undefined && { data: err.data }),
    },
  };
}

/** True when the Server would take this plain `tools/call` as it is (so the direct path may run it): a string name, object arguments and `_meta` or none, not a task. */
export function directShape(request: JSONRPCRequest): boolean {
  const params = request.params;
  if (!isRecord(params) || typeof params.name !== 'string' || params.task !== undefined) return false;
  return (params.arguments === undefined || isRecord(params.arguments)) && (params._meta === undefined || isRecord(params._meta));
}

/** Runs a plain request (directly with `callTool` when it has the direct shape, else through the session's Server) and writes its answer as one JSON body. */
export async function answerPlain(
  req: IncomingMessage & { auth?: AuthInfo },
  res: ServerResponse,
  request: JSONRPCRequest,
  transport: SessionTransport,
  callTool?: ToolCallHandler,
): Promise<void> {
  const extra: MessageExtraInfo = { authInfo: req.auth, requestInfo: { headers: req.headers } };
  const message =
    callTool && directShape(request) ? await transport.handleDirect(request, extra, res, callTool) : await transport.handlePlain(request, extra, res);
  if (message === undefined) return; // the client closed the connection: nobody to answer
  const text = JSON.stringify(message);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'mcp-session-id': transport.sessionId ?? '' });
  res.end(text);
}
