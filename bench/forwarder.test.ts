import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverFilesystem } from '../test/e2e/harness.js';
import { startForwarder } from './forwarder.js';
import type { HttpSession } from './targets.js';
import { connectHttp } from './targets.js';

describe('the minimal forwarder (the transport floor of the gateway benchmark)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-forwarder-'));
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  const sessions: HttpSession[] = [];

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'a.txt'), 'file a');
    writeFileSync(path.join(dir, 'b.txt'), 'file b');
    forwarder = await startForwarder(process.execPath, [serverFilesystem, dir]);
  });
  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await forwarder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only', () => {
    expect(new URL(forwarder.url).hostname).toBe('127.0.0.1');
  });

  it('serves official SDK clients, each answer going back to the session that asked under its own id', async () => {
    // Both sessions number their requests from 0, so their calls carry the same JSON-RPC ids:
    // only the forwarder's own ids towards the one server keep the answers apart.
    sessions.push(await connectHttp(forwarder.url), await connectHttp(forwarder.url));
    const [a, b] = sessions.map((s) => s.client);
    const read = async (client: typeof a, file: string): Promise<string> => {
      const result = await client!.callTool({ name: 'read_text_file', arguments: { path: path.join(dir, file) } });
      return (result.content as Array<{ text: string }>)[0]!.text;
    };
    for (let i = 0; i < 5; i++) {
      expect(await Promise.all([read(a, 'a.txt'), read(b, 'b.txt'), read(a, 'b.txt'), read(b, 'a.txt')])).toEqual(['file a', 'file b', 'file b', 'file a']);
    }
  });

  it('answers a notification 202 and anything but POST 405, with plain HTTP', async () => {
    const note = await fetch(forwarder.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(note.status).toBe(202);
    expect((await fetch(forwarder.url)).status).toBe(405);
  });
});
