/** Server-sent events (the providers' streaming format): parsed as they arrive, bounded, and written back. */
import { CustosError } from '../../kernel/index.js';

export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

/** Longest event Custos buffers (default 8 MiB); past it the stream is refused rather than passed unread. */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;

function parseBlock(block: string): SseEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { ...(event ? { event } : {}), data: data.join('\n') };
}

/** The events of an SSE body, one by one as their blank line arrives. */
export async function* parseSse(body: AsyncIterable<Uint8Array>, maxEventChars = MAX_EVENT_CHARS): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer = (buffer + decoder.decode(chunk, { stream: true })).replace(/\r\n/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
      end = buffer.indexOf('\n\n');
    }
    if (buffer.length > maxEventChars) throw new CustosError('ERR_INPUT_TOO_COMPLEX', 'A streamed event is past the size Custos inspects.');
  }
  const last = parseBlock((buffer + decoder.decode()).replace(/\r\n/g, '\n'));
  if (last) yield last;
}

/** One event in SSE form. */
export function formatSse(event: SseEvent): string {
  return `${event.event ? `event: ${event.event}\n` : ''}${event.data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}
