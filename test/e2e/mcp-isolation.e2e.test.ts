/**
 * Per-session upstream isolation (upstreams[].isolation: 'session') with the official
 * server-everything: two users' agent sessions trigger elicitations at the same time and
 * each reaches only its own client, recorded under its own user; closing a session ends
 * its upstream process; past maxSessions a new session's call is refused and recorded.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const everythingJs = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const USERS = [
  { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['admin'] },
  { username: 'dave', sub: 'dave', email: 'dave@example.test', roles: ['admin'] },
];
const ELICIT_TOOL = 'everything__trigger-elicitation-request';

interface Agent {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly seen: ElicitRequest['params'][];
}

/** Pids of server-everything processes Custos (in this process) has spawned. */
function everythingPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(everythingJs))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const textOf = (r: unknown): string => ((r as { content: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');

describe('MCP upstream isolation per agent session', () => {
  let h: Harness;
  const agents: Agent[] = [];
  let bothAsked: () => void = () => undefined;
  const barrier = new Promise<void>((resolve) => (bothAsked = resolve));

  async function connectAs(user: string): Promise<Agent> {
    const seen: ElicitRequest['params'][] = [];
    const client = new Client({ name: 'isolation-e2e', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.push(req.params);
      if (agents.every((a) => a.seen.length > 0)) bothAsked();
      await barrier; // answer only once both users were asked: the two calls overlap
      return { action: 'accept', content: { name: `answer-of-${user}`, check: true } };
    });
    const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${await h.token(user)}` } } });
    await client.connect(transport);
    const agent = { client, transport, seen };
    agents.push(agent);
    return agent;
  }

  async function rows(sub: string, kind: string): Promise<AuditRecord[]> {
    return (await h.auditRecords()).filter((r) => r.user.sub === sub && r.kind === kind);
  }

  async function upstreamStatus(): Promise<{ state: string; sessions?: { open: number; max: number } }> {
    const body = (await (await fetch(`${h.custos.url}/readyz`)).json()) as {
      checks: { upstreams: Array<{ name: string; state: string; sessions?: { open: number; max: number } }> };
    };
    return body.checks.upstreams.find((u) => u.name === 'everything')!;
  }

  beforeAll(async () => {
    h = await startHarness({
      users: USERS,
      bundleDir: path.join(repoRoot, 'examples/everything/policy'),
      configure: (raw) => ({
        ...raw,
        upstreams: [{ name: 'everything', command: process.execPath, args: [everythingJs, 'stdio'], isolation: 'session', maxSessions: 2 }],
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.client.close()));
    await h?.close();
  });

  it('lists tools from the shared connection without opening a session connection', async () => {
    const carol = await connectAs('carol');
    const tools = (await carol.client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain(ELICIT_TOOL);
    expect(await upstreamStatus()).toMatchObject({ state: 'ready', sessions: { open: 0, max: 2 } });
    expect(everythingPids()).toHaveLength(1);
  });

  it('relays two users\u2019 simultaneous elicitations each to its own client, recorded under its own user', async () => {
    const [carol] = agents as [Agent];
    const dave = await connectAs('dave');
    const [carolResult, daveResult] = await Promise.all(
      [carol, dave].map((a) => a.client.callTool({ name: ELICIT_TOOL, arguments: {} }, undefined, { timeout: 30_000 })),
    );
    expect(carol.seen).toHaveLength(1);
    expect(dave.seen).toHaveLength(1);
    expect(textOf(carolResult)).toContain('answer-of-carol');
    expect(textOf(carolResult)).not.toContain('answer-of-dave');
    expect(textOf(daveResult)).toContain('answer-of-dave');
    expect(textOf(daveResult)).not.toContain('answer-of-carol');
    for (const user of ['carol', 'dave']) {
      const elicitations = (await rows(user, 'elicitation')).filter((r) => r.event === 'result');
      expect(elicitations, user).toHaveLength(1);
      expect(elicitations[0]).toMatchObject({ tool: { server: 'everything', name: 'elicitation/create' }, policy: { decision: 'allow' } });
      expect(JSON.stringify(elicitations[0]?.output)).toContain(`answer-of-${user}`);
    }
    expect((await upstreamStatus()).sessions).toEqual({ open: 2, max: 2 });
    expect(everythingPids()).toHaveLength(3);
  }, 40_000);

  it('refuses a third session\u2019s call past maxSessions, recorded under its user', async () => {
    const third = await connectAs('carol');
    const result = await third.client.callTool({ name: 'everything__echo', arguments: { message: 'over the cap' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ERR_GATEWAY_SESSION_LIMIT');
    const refused = (await rows('carol', 'tool')).filter((r) => r.event === 'result' && r.tool?.name === 'echo');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.output?.error).toBe('ERR_GATEWAY_SESSION_LIMIT');
    expect(everythingPids()).toHaveLength(3);
  }, 20_000);

  it('ends a session\u2019s upstream process when the agent session closes, freeing its slot', async () => {
    const before = everythingPids();
    const dave = agents[1] as Agent;
    await dave.transport.terminateSession();
    await dave.client.close();
    await waitFor(() => everythingPids().length === 2);
    const gone = before.filter((pid) => !everythingPids().includes(pid));
    expect(gone).toHaveLength(1);
    await waitFor(() => !isAlive(gone[0] as number)); // exited and reaped
    expect((await upstreamStatus()).sessions?.open).toBe(1);
    const third = agents[2] as Agent;
    const result = await third.client.callTool({ name: 'everything__echo', arguments: { message: 'now there is room' } });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain('now there is room');
  }, 20_000);

  it('sends the log messages of a session\u2019s own upstream process to that session only', async () => {
    const [own, , other] = agents as [Agent, Agent, Agent];
    const logs = new Map<Agent, string[]>([
      [own, []],
      [other, []],
    ]);
    for (const [agent, seen] of logs) {
      agent.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(`${n.params.level}:${n.params.logger ?? ''}`));
      await agent.client.setLoggingLevel('debug');
    }
    await own.client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
    await waitFor(() => (logs.get(own)?.length ?? 0) > 0, 8_000);
    await own.client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
    expect(logs.get(own)?.[0]).toMatch(/:everything$/);
    expect(logs.get(other)).toEqual([]);
  }, 20_000);
});
