/**
 * A local model provider for end-to-end tests and the `llm` benchmark: it speaks the OpenAI
 * (`/v1/chat/completions`, `/v1/responses`) and Anthropic (`/v1/messages`) wire formats,
 * streaming (SSE, one event per word) and not, records every request it receives (path,
 * headers, body), and answers `Echo: <the last user text>` so a test sees what arrived, or
 * what a test scripted (`script`): a model's own text, streamed in deltas of a few characters
 * as providers do, so a value it writes is split across events.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** A scripted answer: its text, and the characters per streamed delta (the providers send one to four tokens). */
export interface ScriptedAnswer {
  readonly text: string;
  readonly deltaChars: number;
  /** Chat completions only: the connection dropped after this many deltas (a provider failing mid-stream). */
  readonly dropAfter?: number;
}

export interface ModelProviderServer {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers every request with `answer` from now on (undefined: the echo again). */
  script(answer: ScriptedAnswer | undefined): void;
  close(): Promise<void>;
}

type Content = string | Array<{ type?: string; text?: string }>;

function textOf(content: Content | undefined): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((p) => p.text ?? '').join('');
}

/** The last user text of any of the three request shapes. */
function lastUserText(path: string, body: Record<string, unknown>): string {
  if (path === '/v1/responses') {
    const input = body.input as string | Array<{ role?: string; content?: Content }>;
    return typeof input === 'string' ? input : textOf(input.filter((m) => m.role === 'user').at(-1)?.content);
  }
  const messages = (body.messages ?? []) as Array<{ role: string; content?: Content }>;
  return textOf(messages.filter((m) => m.role === 'user').at(-1)?.content);
}

const sse = (res: http.ServerResponse, data: unknown, event?: string): boolean =>
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

/** The streamed deltas of an answer: a scripted one in fixed-size pieces, the echo word by word. */
function deltasOf(text: string, deltaChars: number | undefined): string[] {
  if (!deltaChars) return text.split(/(?<= )/);
  return Array.from({ length: Math.ceil(text.length / deltaChars) }, (_, i) => text.slice(i * deltaChars, (i + 1) * deltaChars));
}

/** Chat Completions' `logprobs` of some text, when the request asks for them: one entry per token (here, per delta). */
function chatLogprobs(tokens: readonly string[]): object {
  return {
    content: tokens.map((token) => ({
      token,
      logprob: -0.01,
      bytes: [...Buffer.from(token)],
      top_logprobs: [{ token, logprob: -0.01, bytes: [...Buffer.from(token)] }],
    })),
    refusal: null,
  };
}

function answerOpenAiChat(
  res: http.ServerResponse,
  model: string,
  text: string,
  stream: boolean,
  deltaChars?: number,
  dropAfter?: number,
  logprobs = false,
): void {
  const base = { id: 'chatcmpl-1', created: 0, model };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            finish_reason: 'stop',
            logprobs: logprobs ? chatLogprobs(deltasOf(text, deltaChars)) : null,
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const words = deltasOf(text, deltaChars);
  for (const [i, w] of words.entries()) {
    if (i === dropAfter) {
      res.write(': dropping\n\n', () => res.destroy()); // once what was sent is flushed
      return;
    }
    sse(res, {
      ...base,
      object: 'chat.completion.chunk',
      choices: [
        {
          index: 0,
          delta: i === 0 ? { role: 'assistant', content: w } : { content: w },
          finish_reason: null,
          ...(logprobs ? { logprobs: chatLogprobs([w]) } : {}),
        },
      ],
    });
  }
  sse(res, { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  sse(res, '[DONE]');
  res.end();
}

function answerOpenAiResponses(res: http.ServerResponse, model: string, text: string, stream: boolean, deltaChars?: number): void {
  const message = { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
  const response = {
    id: 'resp_1',
    object: 'response',
    created_at: 0,
    status: 'completed',
    model,
    output: [message],
    usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
  };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let seq = 0;
  sse(res, { type: 'response.created', sequence_number: seq++, response: { ...response, status: 'in_progress', output: [] } }, 'response.created');
  const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
  const send = (type: string, data: object) => sse(res, { type, sequence_number: seq++, ...data }, type);
  send('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } });
  send('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } });
  for (const w of deltasOf(text, deltaChars)) send('response.output_text.delta', { ...at, delta: w });
  send('response.output_text.done', { ...at, text });
  send('response.content_part.done', { ...at, part: message.content[0] });
  send('response.output_item.done', { output_index: 0, item: message });
  sse(res, { type: 'response.completed', sequence_number: seq++, response }, 'response.completed');
  res.end();
}

function answerAnthropic(res: http.ServerResponse, model: string, text: string, stream: boolean, deltaChars?: number): void {
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model,
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...message, content: [{ type: 'text', text }] }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  sse(res, { type: 'message_start', message: { ...message, content: [], stop_reason: null } }, 'message_start');
  sse(res, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
  for (const w of deltasOf(text, deltaChars))
    sse(res, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }, 'content_block_delta');
  sse(res, { type: 'content_block_stop', index: 0 }, 'content_block_stop');
  sse(res, { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 1 } }, 'message_delta');
  sse(res, { type: 'message_stop' }, 'message_stop');
  res.end();
}

/** Starts the provider on 127.0.0.1 and a free port. */
export async function startModelProvider(options: { record?: boolean } = {}): Promise<ModelProviderServer> {
  const received: ReceivedRequest[] = [];
  let scripted: ScriptedAnswer | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
        return;
      }
      if (options.record !== false) received.push({ path, headers: req.headers, body });
      const text = scripted?.text ?? `Echo: ${lastUserText(path, body)}`;
      const model = String(body.model ?? 'test-model');
      const stream = body.stream === true;
      if (path === '/v1/chat/completions') answerOpenAiChat(res, model, text, stream, scripted?.deltaChars, scripted?.dropAfter, body.logprobs === true);
      else if (path === '/v1/responses') answerOpenAiResponses(res, model, text, stream, scripted?.deltaChars);
      else if (path === '/v1/messages') answerAnthropic(res, model, text, stream, scripted?.deltaChars);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (answer) => (scripted = answer),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
