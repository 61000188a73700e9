/**
 * The whole MCP protocol through Custos: the official server-everything behind Custos
 * (examples/everything), driven by the official SDK client, compared with the same server
 * reached directly. Tools, resources, prompts, completions, progress, cancellation,
 * elicitation, sampling and logging; PHI in a resource; secrets in the upstream's env.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { CreateMessageRequest, ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const everythingJs = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const filesystemJs = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const notesJs = path.join(repoRoot, 'examples/everything/notes-server.mjs');
const tapJs = path.join(repoRoot, 'test/e2e/fixtures/stdio-tap.mjs');
const SECRET = 'sk_live_FAKE51HqEverythingNotARealKey00';
const ENV = { DEMO_API_KEY: SECRET };
const CAPABILITIES = { elicitation: { form: {}, url: {} }, sampling: {} };
const USERS = [
  { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['admin', 'clinician'] },
  { username: 'dave', sub: 'dave', email: 'dave@example.test', roles: ['admin'] },
  { username: 'bob', sub: 'bob', email: 'bob@example.test', roles: ['billing'] },
];

/** Arguments for the tools that need them (everything else is called with {}). */
const ARGS: Record<string, Record<string, unknown>> = {
  echo: { message: 'hello through Custos' },
  'get-annotated-message': { messageType: 'success', includeImage: true },
  'get-resource-links': { count: 2 },
  'get-resource-reference': { resourceType: 'Text', resourceId: 2 },
  'get-structured-content': { location: 'New York' },
  'get-sum': { a: 2, b: 40 },
  'gzip-file-as-resource': { name: 'hello.txt.gz', data: 'data:text/plain;base64,aGVsbG8gd29ybGQ=', outputType: 'resource' },
  'trigger-long-running-operation': { duration: 0.2, steps: 2 },
  'trigger-url-elicitation': { url: 'https://example.test/consent', elicitationId: 'e-1' },
  'trigger-sampling-request': { prompt: 'ping', maxTokens: 5 },
};
/** Tools compared separately: stateful toggles, the env dump, and task-only tools. */
const SEPARATE = new Set(['get-env', 'toggle-simulated-logging', 'toggle-subscriber-updates', 'simulate-research-query']);

interface Seen {
  elicitations: ElicitRequest['params'][];
  samplings: CreateMessageRequest['params'][];
}

function answerServerRequests(client: Client, seen: Seen): void {
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seen.elicitations.push(req.params);
    return req.params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { name: 'ada lovelace', check: true } }; // lowercase: a capitalised name after "Name:" is PHI and would be redacted
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    seen.samplings.push(req.params);
    return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'pong' } };
  });
}

/** Times, request ids and Custos' URI prefix differ between the two paths; nothing else may. */
function normalise(value: unknown): unknown {
  // A blob's timestamp is base64-encoded: decode it so the time normalisation below reaches it.
  const text = JSON.stringify(value, (k, v: unknown) =>
    k === 'io.custos/request_id' ? undefined : k === 'blob' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
  )
    .replaceAll('custos://everything/', '')
    .replace(/\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g, 'TIME');
  return JSON.parse(text, (k, v: unknown) => (k === '_meta' && v && typeof v === 'object' && Object.keys(v).length === 0 ? undefined : v));
}

const textOf = (r: unknown): string => ((r as { content: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');

describe('server-everything behind Custos', () => {
  let h: Harness;
  let direct: Client;
  let carol: Client;
  const seenDirect: Seen = { elicitations: [], samplings: [] };
  const seenCustos: Seen = { elicitations: [], samplings: [] };
  let tapLog = '';

  async function connectAs(user: string, seen?: Seen): Promise<Client> {
    const client = new Client({ name: 'everything-e2e', version: '1.0.0' }, { capabilities: seen ? CAPABILITIES : {} });
    if (seen) answerServerRequests(client, seen);
    const token = await h.token(user);
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    return client;
  }

  async function rows(sub: string, event?: string): Promise<AuditRecord[]> {
    return (await h.auditRecords()).filter((r) => r.user.sub === sub && (!event || r.event === event));
  }

  beforeAll(async () => {
    h = await startHarness({
      users: USERS,
      bundleDir: path.join(repoRoot, 'examples/everything/policy'),
      configure: (raw, { dir }) => {
        tapLog = path.join(dir, 'everything-tap.jsonl');
        const workspace = path.join(dir, 'workspace');
        return {
          ...raw,
          upstreams: [
            { name: 'everything', command: process.execPath, args: [tapJs, tapLog, '--', process.execPath, everythingJs, 'stdio'], env: ENV },
            { name: 'filesystem', command: process.execPath, args: [filesystemJs, workspace] },
            { name: 'notes', command: process.execPath, args: [notesJs, workspace] },
          ],
        };
      },
    });
    direct = new Client({ name: 'everything-direct', version: '1.0.0' }, { capabilities: CAPABILITIES });
    answerServerRequests(direct, seenDirect);
    await direct.connect(new StdioClientTransport({ command: process.execPath, args: [everythingJs, 'stdio'], env: ENV, stderr: 'ignore' }));
    carol = await connectAs('carol', seenCustos);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([direct?.close(), carol?.close()]);
    await h?.close();
  });

  it('lists every tool of server-everything, namespaced, with the same schemas', async () => {
    const viaCustos = (await carol.listTools()).tools.filter((t) => t.name.startsWith('everything__'));
    const directTools = (await direct.listTools()).tools;
    expect(viaCustos.map((t) => t.name.slice('everything__'.length)).sort()).toEqual(directTools.map((t) => t.name).sort());
    for (const tool of directTools) {
      const mine = viaCustos.find((t) => t.name === `everything__${tool.name}`)!;
      expect(normalise({ ...mine, name: tool.name })).toEqual(normalise(tool));
    }
  });

  it('answers every tool call exactly as the server does directly (elicitation and sampling relayed)', async () => {
    const tools = (await direct.listTools()).tools.filter((t) => !SEPARATE.has(t.name));
    expect(tools.length).toBeGreaterThanOrEqual(12);
    for (const tool of tools) {
      const args = ARGS[tool.name] ?? {};
      const want = await direct.callTool({ name: tool.name, arguments: args });
      const got = await carol.callTool({ name: `everything__${tool.name}`, arguments: args });
      expect(normalise(got), tool.name).toEqual(normalise(want));
    }
    // the elicitation and the sampling request reached the agent's client through Custos
    expect(seenCustos.elicitations.map((e) => e.mode ?? 'form')).toEqual(seenDirect.elicitations.map((e) => e.mode ?? 'form'));
    expect(seenCustos.samplings).toHaveLength(1);
    const records = await rows('carol', 'result');
    expect(records.some((r) => r.kind === 'elicitation' && r.tool?.name === 'elicitation/create')).toBe(true);
    expect(records.some((r) => r.kind === 'sampling' && r.tool?.name === 'sampling/createMessage')).toBe(true);
  });

  it('follows a resource link of a tool result through Custos', async () => {
    const links = await carol.callTool({ name: 'everything__get-resource-links', arguments: { count: 1 } });
    const link = (links.content as Array<{ type: string; uri?: string }>).find((c) => c.type === 'resource_link')!;
    expect(link.uri).toMatch(/^custos:\/\/everything\/demo:\/\//);
    const read = await carol.readResource({ uri: link.uri! });
    expect(read.contents[0]?.uri).toBe(link.uri);
  });

  it('lists and reads every resource and template as the server does directly', async () => {
    const mine = (await carol.listResources()).resources.filter((r) => r.uri.startsWith('custos://everything/'));
    const theirs = (await direct.listResources()).resources;
    expect(normalise(mine)).toEqual(normalise(theirs));
    for (const r of theirs) {
      expect(normalise(await carol.readResource({ uri: `custos://everything/${r.uri}` })), r.uri).toEqual(normalise(await direct.readResource({ uri: r.uri })));
    }
    const templates = (await carol.listResourceTemplates()).resourceTemplates;
    expect(normalise(templates)).toEqual(normalise((await direct.listResourceTemplates()).resourceTemplates));
    for (const kind of ['text', 'blob']) {
      const uri = `demo://resource/dynamic/${kind}/7`;
      expect(normalise(await carol.readResource({ uri: `custos://everything/${uri}` }))).toEqual(normalise(await direct.readResource({ uri })));
    }
    const reads = (await rows('carol', 'result')).filter((r) => r.kind === 'resource');
    expect(reads.some((r) => r.tool?.server === 'everything' && r.tool.name === 'demo://resource/dynamic/blob/7')).toBe(true);
  });

  it('lists, gets and completes every prompt as the server does directly', async () => {
    const mine = (await carol.listPrompts()).prompts.filter((p) => p.name.startsWith('everything__'));
    const theirs = (await direct.listPrompts()).prompts;
    expect(mine.map((p) => ({ ...p, name: p.name.slice('everything__'.length) }))).toEqual(theirs);
    const promptArgs: Record<string, Record<string, string>> = {
      'args-prompt': { city: 'Paris', state: 'TX' },
      'completable-prompt': { department: 'Engineering', name: 'Alice' },
      'resource-prompt': { resourceType: 'Text', resourceId: '3' },
    };
    for (const p of theirs) {
      const args = promptArgs[p.name];
      const got = await carol.getPrompt({ name: `everything__${p.name}`, ...(args ? { arguments: args } : {}) });
      expect(normalise(got), p.name).toEqual(normalise(await direct.getPrompt({ name: p.name, ...(args ? { arguments: args } : {}) })));
    }
    const complete = (ref: { type: 'ref/prompt'; name: string }, c: Client) => c.complete({ ref, argument: { name: 'department', value: 'E' } });
    expect(await complete({ type: 'ref/prompt', name: 'everything__completable-prompt' }, carol)).toEqual(
      await complete({ type: 'ref/prompt', name: 'completable-prompt' }, direct),
    );
    const resourceCompletion = await carol.complete({
      ref: { type: 'ref/resource', uri: 'custos://everything/demo://resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '4' },
    });
    expect(resourceCompletion.completion.values).toEqual(['4']);
  });

  it('relays progress of a long operation', async () => {
    const progress: number[] = [];
    const result = await carol.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(result)).toContain('Long running operation completed');
    expect(progress).toEqual([1, 2, 3]);
  });

  it('cancels a long operation upstream and records it as cancelled', async () => {
    const controller = new AbortController();
    const progress: number[] = [];
    const call = carol.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 3, steps: 6 } }, undefined, {
      signal: controller.signal,
      onprogress: (p) => {
        progress.push(p.progress);
        controller.abort('user stopped it');
      },
    });
    await expect(call).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1500));
    expect(progress).toEqual([1]); // nothing after the cancellation
    const tap = readFileSync(tapLog, 'utf8');
    expect(tap).toContain('"method":"notifications/cancelled"');
    let row: AuditRecord | undefined;
    for (let i = 0; i < 20 && !row; i++) {
      row = (await rows('carol', 'result')).find((r) => r.tool?.name === 'trigger-long-running-operation' && r.output?.error === 'cancelled');
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row?.output?.error).toBe('cancelled');
  });

  /** A client that declares no capabilities (its plain tools/call is answered as JSON, run without the SDK Server), with the content type of each tools/call answer. */
  async function connectPlain(user: string): Promise<{ client: Client; types: string[] }> {
    const types: string[] = [];
    const token = await h.token(user);
    const record: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (typeof init?.body === 'string' && init.body.includes('"tools/call"')) types.push(res.headers.get('content-type') ?? '');
      return res;
    };
    const client = new Client({ name: 'everything-plain', version: '1.0.0' }, { capabilities: {} });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.mcpUrl), { fetch: record, requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
    );
    return { client, types };
  }

  it('answers every tool call on the plain JSON path exactly as on the SDK Server path, errors and rows included', async () => {
    const plain = await connectPlain('carol');
    try {
      // The tools that ask the agent's client something need its capabilities: they take the SDK path anyway.
      const tools = (await direct.listTools()).tools.filter((t) => !SEPARATE.has(t.name) && !/elicitation|sampling/.test(t.name));
      for (const tool of tools) {
        const args = ARGS[tool.name] ?? {};
        const viaServer = await carol.callTool({ name: `everything__${tool.name}`, arguments: args });
        const viaPlain = await plain.client.callTool({ name: `everything__${tool.name}`, arguments: args });
        expect(normalise(viaPlain), tool.name).toEqual(normalise(viaServer));
      }
      expect(new Set(plain.types)).toEqual(new Set(['application/json']));
      // a JSON-RPC error is the same on both paths
      const failure = (c: Client) =>
        c.callTool({ name: 'nosuch__tool', arguments: {} }).then(
          () => 'answered',
          (e: Error) => e.message,
        );
      expect(await failure(plain.client)).toBe(await failure(carol));
      expect(await failure(plain.client)).toMatch(/^MCP error -32\d{3}/);
      // and the rows: the last echo of each client has the same intent and result fields
      const echo = ARGS.echo as Record<string, unknown>;
      const one = await plain.client.callTool({ name: 'everything__echo', arguments: echo });
      const two = await carol.callTool({ name: 'everything__echo', arguments: echo });
      const idOf = (r: unknown): string => (r as { _meta: Record<string, string> })._meta['io.custos/request_id'] ?? 'no request id';
      const all = await rows('carol');
      const fields = (id: string) =>
        all
          .filter((r) => r.request_id === id)
          .map((r) => ({
            event: r.event,
            decision: r.policy.decision,
            agent: r.agent?.name,
            tool: r.tool,
            input: r.input,
            output: r.output,
            redactions: r.redactions,
          }));
      const plainRows = fields(idOf(one));
      expect(plainRows.map((r) => r.event)).toEqual(['intent', 'result']);
      expect(plainRows.map((r) => ({ ...r, agent: undefined }))).toEqual(fields(idOf(two)).map((r) => ({ ...r, agent: undefined })));
      expect(plainRows[0]?.agent).toBe('everything-plain');
    } finally {
      await plain.client.close();
    }
  });

  it('denies a call on the plain JSON path with the reason and the user in the row', async () => {
    const plain = await connectPlain('bob');
    try {
      const result = await plain.client.callTool({ name: 'everything__echo', arguments: ARGS.echo as Record<string, unknown> });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^Denied by policy: /);
      expect(plain.types).toEqual(['application/json']);
      const requestId = (result._meta as Record<string, string>)['io.custos/request_id'] ?? 'no request id';
      const denied = (await rows('bob', 'deny')).find((r) => r.request_id === requestId);
      expect(denied?.user.sub).toBe('bob');
      expect(denied?.policy.decision).toBe('deny');
      expect(textOf(result)).toContain(denied?.policy.reasons?.[0] ?? 'no reason in the row');
    } finally {
      await plain.client.close();
    }
  });

  it('cancels a plain call upstream when the client aborts it, and records it as cancelled', async () => {
    const plain = await connectPlain('carol');
    try {
      const before = readFileSync(tapLog, 'utf8').length;
      const earlier = new Set((await rows('carol', 'result')).map((r) => r.seq));
      const controller = new AbortController();
      const call = plain.client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, undefined, {
        signal: controller.signal,
      });
      // abort once the upstream has the call (the tap logs what reaches it)
      for (let i = 0; i < 100 && !readFileSync(tapLog, 'utf8').slice(before).includes('trigger-long-running-operation'); i++)
        await new Promise((r) => setTimeout(r, 50));
      controller.abort('user stopped it');
      await expect(call).rejects.toThrow();
      let row: AuditRecord | undefined;
      for (let i = 0; i < 50 && !row; i++) {
        row = (await rows('carol', 'result')).find((r) => !earlier.has(r.seq) && r.tool?.name === 'trigger-long-running-operation');
        if (!row) await new Promise((r) => setTimeout(r, 100));
      }
      expect(row?.output?.error).toBe('cancelled');
      expect(readFileSync(tapLog, 'utf8').slice(before)).toContain('"method":"notifications/cancelled"');
      expect(plain.types).toEqual([]); // aborted before any answer: none was sent
    } finally {
      await plain.client.close();
    }
  });

  it('redacts a sampling request before it reaches the client model', async () => {
    seenCustos.samplings.length = 0;
    await carol.callTool({
      name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'Patient SSN 123-45-6789, key sk_live_FAKE51HqEverythingNotARealKey00', maxTokens: 5 },
    });
    const text = JSON.stringify(seenCustos.samplings);
    expect(text).toContain('[redacted:ssn]');
    expect(text).not.toContain('123-45-6789');
    expect(text).not.toContain(SECRET);
  });

  it('never lets the upstream environment secret reach the client (get-env)', async () => {
    const want = textOf(await direct.callTool({ name: 'get-env', arguments: {} }));
    expect(want).toContain(SECRET); // the upstream really has it
    const got = await carol.callTool({ name: 'everything__get-env', arguments: {} });
    expect(got.isError).toBeFalsy();
    expect(JSON.stringify(got)).not.toContain(SECRET);
    expect(textOf(got)).toContain('[redacted:secret]');
    const row = (await rows('carol', 'result')).filter((r) => r.tool?.name === 'get-env').at(-1)!;
    expect(row.redactions.types).toContain('secret');
    expect(JSON.stringify(row)).not.toContain(SECRET);
  });

  it('relays log messages at the level the client set, and resource updates to subscribers', async () => {
    const logs: string[] = [];
    const updates: string[] = [];
    carol.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(`${n.params.level}:${n.params.logger}`));
    carol.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await carol.setLoggingLevel('debug');
    const uri = 'custos://everything/demo://resource/static/document/features.md';
    await carol.subscribeResource({ uri });
    await carol.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
    await carol.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    for (let i = 0; i < 70 && (logs.length === 0 || updates.length === 0); i++) await new Promise((r) => setTimeout(r, 100));
    await carol.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
    await carol.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
    expect(logs[0]).toMatch(/:everything$/);
    expect(updates).toContain(uri);
    const subscribed = (await rows('carol', 'result')).find(
      (r) =>
        (r.input as { redacted?: { method?: string } } | undefined)?.redacted?.method === 'resources/subscribe' ||
        r.tool?.name === 'demo://resource/static/document/features.md',
    );
    expect(subscribed).toBeDefined();
  }, 20_000);

  it('redacts and audits a PHI resource exactly as the same note returned by a tool', async () => {
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const asTool = await carol.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
    const listed = (await carol.listResources()).resources.find((r) => r.uri.endsWith('/phi/patient-0001.md'))!;
    expect(listed.uri).toMatch(/^custos:\/\/notes\/file:\/\//);
    const asResource = await carol.readResource({ uri: listed.uri });
    const text = (asResource.contents[0] as { text: string }).text;
    expect(text).toBe(textOf(asTool));
    expect(text).toContain('[redacted:ssn]');
    expect(text).not.toContain('123-45-6789');
    const results = await rows('carol', 'result');
    const toolRow = results.filter((r) => r.tool?.name === 'read_text_file').at(-1)!;
    const resourceRow = results.filter((r) => r.kind === 'resource' && r.tool?.server === 'notes').at(-1)!;
    expect(resourceRow.tool?.name).toBe(listed.uri.slice('custos://notes/'.length));
    expect(resourceRow.data_classes).toEqual(toolRow.data_classes);
    expect(resourceRow.data_classes).toContain('phi');
    // same detectors on the same text; the tool's row counts twice as the filesystem server
    // returns the text both as content and as structuredContent
    expect(resourceRow.redactions.types).toEqual(toolRow.redactions.types);
    expect(resourceRow.redactions.count).toBe(text.match(/\[redacted:/g)?.length);
    expect(toolRow.redactions.count).toBe(2 * resourceRow.redactions.count);
    expect(JSON.stringify(resourceRow)).not.toContain('123-45-6789');
    const intent = (await rows('carol', 'intent')).find((r) => r.request_id === resourceRow.request_id);
    expect(intent?.policy.determining_policies).toEqual(['admin-all']);
  });

  it('denies the PHI resource to an admin who is not a clinician, hides it from listings, and records it', async () => {
    const dave = await connectAs('dave');
    try {
      expect((await dave.listResources()).resources.some((r) => r.uri.includes('/phi/'))).toBe(false);
      const uri = `custos://notes/file://${path.join(h.workspace, 'phi/patient-0001.md')}`;
      const err = await dave.readResource({ uri }).catch((e: unknown) => e);
      expect(String(err)).toContain('phi_requires_clinician');
      expect(String(err)).not.toContain('123-45-6789');
      const row = (await rows('dave', 'deny')).at(-1)!;
      expect(row.kind).toBe('resource');
      expect(row.policy.reasons).toEqual(['phi_requires_clinician']);
      expect(row.user).toMatchObject({ sub: 'dave', iss: h.issuer });
    } finally {
      await dave.close();
    }
  });

  it('shows a user without a role nothing of it and denies every kind of action, each recorded', async () => {
    const bob = await connectAs('bob');
    try {
      expect((await bob.listTools()).tools).toEqual([]);
      expect((await bob.listResources()).resources).toEqual([]);
      expect((await bob.listPrompts()).prompts).toEqual([]);
      const read = await bob.readResource({ uri: 'custos://everything/demo://resource/dynamic/text/1' }).catch((e: unknown) => e);
      expect(String(read)).toContain('no_policy_allows');
      const prompt = await bob.getPrompt({ name: 'everything__simple-prompt' }).catch((e: unknown) => e);
      expect(String(prompt)).toContain('no_policy_allows');
      const denied = await rows('bob', 'deny');
      expect(denied.map((r) => r.kind)).toEqual(expect.arrayContaining(['resource', 'prompt']));
      expect(denied.every((r) => r.policy.reasons.includes('no_policy_allows'))).toBe(true);
    } finally {
      await bob.close();
    }
  });

  it('keeps the tap honest', () => {
    expect(existsSync(tapLog)).toBe(true);
  });
});
