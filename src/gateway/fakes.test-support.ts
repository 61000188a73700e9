/**
 * Small in-test fakes of the kernel ports, for the gateway's own tests (never in dist/).
 * The audit store is the shared one from the audit module's test door.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryAudit } from '../audit/index.test-support.js';
import type { MemoryAuditStore } from '../audit/index.test-support.js';
import { CustosError, TIERS, createPipeline } from '../kernel/index.js';
import type {
  ActivePolicy,
  Clock,
  Decision,
  DecisionInput,
  Pipeline,
  PolicySource,
  Principal,
  Protector,
  Redaction,
  Tier,
  TokenVerifier,
} from '../kernel/index.js';
import { expect } from 'vitest';
import type { DeriveAgent, GatewayDeps, Logger, UpstreamPool } from './types.js';

export const SECRET_MARKER = 'SECRET-MARKER-42';

/** Accepts `Bearer alice` and `Bearer bob`; anything else is a bad signature. */
export function createFakeVerifier(): TokenVerifier {
  return {
    async verify(token) {
      if (token === 'alice' || token === 'bob') {
        return { sub: token, iss: 'https://idp.test', roles: token === 'alice' ? ['admin'] : [], groups: [] } satisfies Principal;
      }
      if (token === 'expired') throw new CustosError('ERR_IDENTITY_TOKEN_EXPIRED');
      throw new CustosError('ERR_IDENTITY_SIGNATURE_INVALID');
    },
  };
}

/** A rule set: (input) → decision, or undefined to fall through to the default allow. */
export type FakeRule = (input: DecisionInput) => Decision['decision'] | undefined;

export function createFakePolicy(rules: FakeRule[] = []): PolicySource & { inputs: DecisionInput[] } {
  const inputs: DecisionInput[] = [];
  const active: ActivePolicy = {
    bundleHash: 'sha256:test-bundle',
    classificationRules: [],
    classifyTool: (tool) => ({ classes: tool.name.startsWith('write') ? ['writes'] : [] }),
    decide(input) {
      inputs.push(input);
      for (const rule of rules) {
        const d = rule(input);
        if (d)
          return {
            decision: d,
            reasons: [d === 'deny' ? 'writes_need_admin' : `rule_${d}`],
            bundleHash: 'sha256:test-bundle',
            determiningPolicies: ['policy0'],
          };
      }
      return { decision: 'allow', reasons: [], bundleHash: 'sha256:test-bundle', determiningPolicies: ['default'] };
    },
  };
  return { current: () => active, inputs };
}

/** Redacts every occurrence of SECRET_MARKER inside strings. */
export function createFakeProtector(): Protector {
  function walk(value: unknown, found: { n: number }): unknown {
    if (typeof value === 'string') {
      const parts = value.split(SECRET_MARKER);
      found.n += parts.length - 1;
      return parts.join('[redacted:secret]');
    }
    if (Array.isArray(value)) return value.map((v) => walk(v, found));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, found)]));
    return value;
  }
  return {
    classify: () => [],
    redact<T>(value: T): Redaction<T> {
      const found = { n: 0 };
      const out = walk(value, found) as T;
      return { value: out, count: found.n, types: found.n > 0 ? ['secret'] : [] };
    },
  };
}

export const deriveFakeAgent: DeriveAgent = (principal, declared) => {
  const tier = 'interactive' as const;
  const declaredTier = (TIERS as readonly string[]).includes(declared.tier ?? '') ? (declared.tier as Tier) : undefined;
  return {
    agent: {
      name: declared.name,
      runtime: declared.runtime,
      version: declared.version,
      tier,
      declaredTier,
      delegationChain: [`user:${principal.sub}`, `agent:${declared.name}`],
    },
    tierMismatch: declared.tier !== undefined && declared.tier !== tier,
  };
};

export function createTestPipeline(policy: PolicySource): { pipeline: Pipeline; audit: MemoryAuditStore } {
  const audit = createMemoryAudit();
  let n = 0;
  const pipeline = createPipeline({
    policy,
    protector: createFakeProtector(),
    audit,
    clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    ids: { newId: () => `id-${++n}` },
  });
  return { pipeline, audit };
}

export function createSilentLogger(): Logger & { lines: { level: string; obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

export function createTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'custos-gw-'));
}

/** An upstream pool with no servers, for tests of the HTTP front doors alone. */
export function createEmptyUpstreams(): UpstreamPool {
  return {
    listTools: () => [],
    has: () => false,
    callTool: async () => {
      throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    },
    request: async () => {
      throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    },
    listAll: async () => [],
    setLoggingLevel: async () => undefined,
    status: () => [],
    onToolsChanged: () => () => undefined,
    onEvent: () => () => undefined,
    close: async () => undefined,
  };
}

/** A clock tests can move. */
export function createManualClock(start = Date.parse('2026-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

/** The gateway's dependencies as most unit tests want them (fake verifier, no upstreams, a silent log); `extra` adds or overrides. */
export function fakeGatewayDeps(pipeline: Pipeline, policy: PolicySource, extra: Partial<GatewayDeps> = {}): GatewayDeps {
  return {
    verifier: createFakeVerifier(),
    pipeline,
    policy,
    upstreams: createEmptyUpstreams(),
    deriveAgent: deriveFakeAgent,
    resourceUrl: 'http://127.0.0.1:1/mcp',
    authorizationServers: ['https://idp.test'],
    logger: createSilentLogger(),
    ...extra,
  };
}

/** The headers of a JSON POST to /mcp as an MCP client sends it, with the fake verifier's bearer `token`. */
export function mcpPostHeaders(token = 'alice', extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-06-18',
    ...extra,
  };
}

/** A store that is down, as an HTTP answer: 503 with Retry-After, the code, a message naming `key` (the config key to check), nothing of the cause. */
export async function expectStoreDown(res: Response, code: string, key: RegExp, cause = 'ECONNREFUSED'): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('2');
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(key);
  expect(JSON.stringify(body)).not.toContain(cause);
}
