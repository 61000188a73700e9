/**
 * The transport floor of `npm run bench -- gateway`: the least an HTTP front for a stdio MCP
 * server must do. Each POSTed JSON-RPC request goes to the server's stdin under an id of our
 * own (many HTTP sessions share the one server), and its response comes back as plain JSON;
 * a notification is written and answered 202. No auth, no sessions, no SSE, no audit.
 *
 * As a process: `node forwarder.js -- COMMAND [ARGS...]` prints `forwarder listening on URL`.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

interface Message {
  readonly id?: string | number;
  readonly method?: string;
}

export async function startForwarder(command: string, args: readonly string[]): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const pending = new Map<number, (reply: Message) => void>();
  let nextId = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as Message;
    const answer = typeof msg.id === 'number' && msg.method === undefined ? pending.get(msg.id) : undefined;
    if (!answer) return; // a server-to-client request or notification: nobody to relay it to
    pending.delete(msg.id as number);
    answer(msg);
  });
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Message;
    if (msg.id === undefined) {
      child.stdin.write(`${JSON.stringify(msg)}\n`);
      return void res.writeHead(202).end();
    }
    const id = nextId++;
    pending.set(id, (reply) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...reply, id: msg.id })));
    child.stdin.write(`${JSON.stringify({ ...msg, id })}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    child.kill();
  };
  return { url, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(process.argv.indexOf('--') + 1);
  const forwarder = await startForwarder(command!, args);
  process.once('SIGTERM', () => void forwarder.close().then(() => process.exit(0)));
  console.log(`forwarder listening on ${forwarder.url}`);
}
