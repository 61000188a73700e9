/**
 * The playbook's nine control tests, run against the deployment as configured: the kernel's
 * pipeline (`authorize`, `confirm`, `complete`) with the bundle in force, the deployment's
 * protector and egress guard, as a designated control-test identity (`custos:control-test:*`,
 * tenant `custos-control-test`, which no real user belongs to), touching a planted fake record.
 * Their rows are written in the same chain with `control_test: true` (the target's store stamps
 * them), so they are evidence and never counted as real traffic; each result lists its rows.
 * The tamper test runs the audit module's offline verifier over a tampered copy of the trail's
 * first rows.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { verifyExport } from '../audit/index.js';
import { DENY_REASONS, isCustosError } from '../kernel/index.js';
import type { AuditRecord, AuditStore, Authorization, AuthorizeOptions, Pipeline, SessionGuard, Tier, ToolCall } from '../kernel/index.js';
import type { LoadedBundle } from '../policy/index.js';
import { CONTROL_TESTS } from './controls.js';
import type { ControlTestId } from './controls.js';

export type Outcome = 'pass' | 'fail' | 'not_configured';

export interface ControlTestResult {
  readonly id: ControlTestId;
  readonly title: string;
  readonly status: Outcome;
  readonly why: string;
  /** What was asked and what came back (decisions with reasons, redacted text, findings). */
  readonly observed?: unknown;
  /** The rows the test wrote (each with `control_test: true`). */
  readonly rows: readonly TestRow[];
  readonly cpuMs: number;
}

export interface TestRow {
  readonly seq: number;
  readonly hash: string;
  readonly event: string;
  readonly request_id: string;
  readonly decision: string;
  readonly reasons: readonly string[];
}

export interface ControlTestSettings {
  /** Roles of the privileged test user (may write ePHI interactively). Default: clinician. */
  readonly privilegedRoles?: readonly string[];
  /** Roles of the low-privilege test user. Default: billing. */
  readonly lowPrivilegeRoles?: readonly string[];
  /** The planted fake record (a path the bundle classifies as PHI). Default: phi/control-test-0000.md. */
  readonly phiPath?: string;
}

export interface ControlTestTarget {
  /** A pipeline whose audit store stamps every row `control_test: true`. */
  readonly pipeline: Pick<Pipeline, 'authorize' | 'confirm' | 'complete'>;
  readonly bundle: LoadedBundle;
  /** The trail's raw lines from seq 1 (at most `limit`). */
  readonly trailLines: (limit: number) => AsyncIterable<string>;
  readonly settings?: ControlTestSettings;
  /** The deployment's session guard (the one the gateway checks after a credential verifies), opened for one test; absent: not configured. */
  readonly sessions?: () => Promise<ControlTestSessions>;
  /** The SDK's fail-closed check (`sdk/dist/src/fail-closed-check.js`), run as a child process; absent: not configured, with why. */
  readonly sdkCheck?: { readonly script: string } | { readonly missing: string };
}

/** The session guard and the admin's revocation, over the deployment's session store. */
export interface ControlTestSessions extends SessionGuard {
  revokeSession(iss: string, sid: string): Promise<void>;
  close(): Promise<void>;
}

export const CONTROL_TEST_TENANT = 'custos-control-test';

/** The audit store of the control tests' pipeline: every row it appends carries `control_test: true`. */
export function controlTestAudit(store: AuditStore): AuditStore {
  return {
    append: (entry, options) => store.append({ ...entry, control_test: true }, options),
    read: (options) => store.read(options),
    close: async () => {},
  };
}
const TAMPER_ROWS = 1000;
const FAKE_SECRET = 'sk_live_51ControlTestFakeKey0000000000000000';
const CONFIRM_CHANNEL = 'control_test';

const TITLES: Record<ControlTestId, string> = {
  'low-privilege-denied': 'A low-privilege user is denied a high-privilege tool, with the identity in the decision',
  'env-redacted': '.env read back shows [redacted:secret]',
  'no-user-phi-denied': 'No user → the PHI tool is denied',
  'revoked-session-denied': 'A revoked session is denied on the next call',
  'background-write-denied': 'A background write to ePHI is denied',
  'interactive-write-confirmed': 'An interactive write to ePHI is confirmed, with before-state',
  'egress-denied': 'A destination off the allow-list is denied',
  'tampered-export-detected': 'A tampered export is detected',
  'sdk-fails-closed': 'The control plane unreachable → the SDK fails closed',
};

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return Math.round((d.user + d.system) / 100) / 10;
}

/** Runs every test; each is independent and never throws (an error is a `fail` naming it). */
export async function runControlTests(target: ControlTestTarget | undefined, missing: string): Promise<ControlTestResult[]> {
  const out: ControlTestResult[] = [];
  for (const id of Object.values(CONTROL_TESTS)) {
    const start = process.cpuUsage();
    const written: AuditRecord[] = [];
    let result: Verdict;
    try {
      result = target ? await TESTS[id](recording(target, written)) : { status: 'not_configured', why: missing };
    } catch (err) {
      result = { status: 'fail', why: `the test itself failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    const rows = written.map((r) => ({
      seq: r.seq,
      hash: r.hash,
      event: r.event,
      request_id: r.request_id,
      decision: r.policy.decision,
      reasons: r.policy.reasons,
    }));
    const { childCpuMs = 0, ...verdict } = result;
    out.push({ id, title: TITLES[id], ...verdict, rows, cpuMs: Math.round((cpuMs(start) + childCpuMs) * 10) / 10 });
  }
  return out;
}

/** The target as one test sees it: every row its calls write is kept for its result. */
interface Run extends ControlTestTarget {
  authorize(call: ToolCall, options?: AuthorizeOptions): Promise<Authorization>;
}

function recording(t: ControlTestTarget, written: AuditRecord[]): Run {
  const keep = <R extends { record: AuditRecord }>(r: R): R => {
    written.push(r.record);
    return r;
  };
  const authorize: Run['authorize'] = async (call, options) => keep(await t.pipeline.authorize(call, options));
  return {
    ...t,
    authorize,
    pipeline: {
      authorize,
      confirm: async (auth, outcome) => keep(await t.pipeline.confirm(auth, outcome)),
      complete: async (auth, outcome) => keep(await t.pipeline.complete(auth, outcome)),
    },
  };
}

type Verdict = Omit<ControlTestResult, 'id' | 'title' | 'cpuMs' | 'rows'> & {
  /** CPU of a child process the test ran (the SDK check), added to its `cpuMs`. */
  readonly childCpuMs?: number;
};

type Test = (t: Run) => Promise<Verdict>;

function testCall(who: string | null, roles: readonly string[], tier: Tier, tool: string, args: Record<string, unknown>): ToolCall {
  const [server = '', ...rest] = tool.split('/');
  const sub = `custos:control-test:${who ?? 'none'}`;
  return {
    requestId: `control-test-${who ?? 'none'}-${Date.now()}`,
    kind: 'tool',
    tool: { server, name: rest.join('/') },
    arguments: args,
    principal: who === null ? null : { sub, iss: 'custos:control-test', tenant: CONTROL_TEST_TENANT, roles, groups: [] },
    agent: {
      name: 'custos-control-test',
      tier,
      delegationChain: [`user:${sub}`, 'agent:custos-control-test', ...(tier === 'interactive' ? [] : [`agent:custos-control-test-${tier}`])],
    },
  };
}

const show = ({ decision: d }: Authorization): { decision: string; reasons: readonly string[]; policies: readonly string[] } => ({
  decision: d.decision,
  reasons: d.reasons,
  policies: d.determiningPolicies,
});

/** The first catalog tool (exact `server/name`) whose classes include `cls`. */
function toolWith(bundle: LoadedBundle, cls: string): string | undefined {
  return Object.entries(bundle.catalog.tools).find(([name, e]) => !name.includes('*') && e.classes.includes(cls))?.[0];
}

const settings = (t: ControlTestTarget): Required<ControlTestSettings> => ({
  privilegedRoles: t.settings?.privilegedRoles ?? ['clinician'],
  lowPrivilegeRoles: t.settings?.lowPrivilegeRoles ?? ['billing'],
  phiPath: t.settings?.phiPath ?? 'phi/control-test-0000.md',
});

const writeArgs = (t: ControlTestTarget): Record<string, unknown> => ({ path: settings(t).phiPath, content: 'control test: fake record' });

const TESTS: Record<ControlTestId, Test> = {
  async 'low-privilege-denied'(t) {
    const tool = toolWith(t.bundle, 'writes');
    if (!tool) return { status: 'not_configured', why: 'the catalog names no tool of class writes (the high-privilege tool)' };
    // Not a PHI path: the tool itself must be out of reach, whatever it touches.
    const call = testCall('low-privilege', settings(t).lowPrivilegeRoles, 'interactive', tool, {
      path: 'control-test/control-test.md',
      content: 'control test',
    });
    const a = await t.authorize(call);
    const d = a.decision;
    const observed = { tool, user: call.principal?.sub, roles: settings(t).lowPrivilegeRoles, ...show(a) };
    return d.decision === 'deny'
      ? { status: 'pass', why: `${tool} denied for ${observed.user} (${d.reasons.join(', ')})`, observed }
      : { status: 'fail', why: `${tool} was ${d.decision} for a user with roles ${settings(t).lowPrivilegeRoles.join(', ')}`, observed };
  },
  async 'env-redacted'(t) {
    const tool = toolWith(t.bundle, 'read');
    if (!tool) return { status: 'not_configured', why: 'the catalog names no read tool' };
    const text = `DATABASE_URL=postgres://app:hunter2@db/app\nSTRIPE_KEY=${FAKE_SECRET}\n`;
    const a = await t.authorize(testCall('privileged', settings(t).privilegedRoles, 'interactive', tool, { path: 'control-test/.env' }));
    if (a.decision.decision !== 'allow') return { status: 'fail', why: `reading the planted .env with ${tool} was ${a.decision.decision}`, observed: show(a) };
    // The planted file's content stands in for what the upstream returns: the result row and answer are redacted as a real read's are.
    const done = await t.pipeline.complete(a, { output: { content: [{ type: 'text', text }] } });
    const out = JSON.stringify(done.output.value) + JSON.stringify(done.record.output ?? null);
    const observed = { tool, dataClasses: a.dataClasses, redacted: done.output.value, count: done.output.count, types: done.output.types };
    if (out.includes(FAKE_SECRET) || out.includes('hunter2')) return { status: 'fail', why: 'a planted secret came back unredacted', observed };
    return out.includes('[redacted:secret]')
      ? { status: 'pass', why: `${done.output.count} value(s) replaced by [redacted:secret] in the answer and the result row`, observed }
      : { status: 'fail', why: 'no [redacted:secret] marker in the output', observed };
  },
  async 'no-user-phi-denied'(t) {
    const tool = toolWith(t.bundle, 'read');
    if (!tool) return { status: 'not_configured', why: 'the catalog names no read tool' };
    const a = await t.authorize(testCall(null, [], 'background', tool, { path: settings(t).phiPath }));
    const d = a.decision;
    const observed = { tool, user: null, ...show(a) };
    return d.decision === 'deny'
      ? { status: 'pass', why: `no verified user: ${tool} denied (${d.reasons.join(', ')})`, observed }
      : { status: 'fail', why: `${tool} on a PHI path was ${d.decision} without a user`, observed };
  },
  async 'revoked-session-denied'(t) {
    if (!t.sessions) return { status: 'not_configured', why: 'no session store was handed to the control tests' };
    const tool = toolWith(t.bundle, 'read');
    if (!tool) return { status: 'not_configured', why: 'the catalog names no read tool' };
    const base = testCall('session', settings(t).privilegedRoles, 'interactive', tool, { path: 'control-test/control-test.md' });
    // A session of its own: issued now, named by a fresh sid, as a signed-in user's token would be.
    const principal = { ...base.principal!, sessionId: `control-test-${randomUUID()}`, issuedAt: Math.floor(Date.now() / 1000) };
    const call = (n: number): ToolCall => ({ ...base, requestId: `${base.requestId}-${n}`, principal });
    const sessions = await t.sessions();
    try {
      // The first call: the guard admits it (as the gateway does), the pipeline decides it.
      await sessions.check(principal, 'interactive');
      await sessions.touch(principal, 'interactive');
      const first = await t.authorize(call(1));
      if (first.decision.decision === 'allow') await t.pipeline.complete(first, { output: { content: [{ type: 'text', text: 'control test' }] } });
      await sessions.revokeSession(principal.iss, principal.sessionId);
      const observed = { tool, user: principal.sub, session: principal.sessionId, before: show(first) };
      try {
        await sessions.check(principal, 'interactive');
      } catch (err) {
        if (!isCustosError(err) || err.code !== 'ERR_IDENTITY_SESSION_REVOKED')
          return { status: 'fail', why: `the guard refused the revoked session for another reason: ${isCustosError(err) ? err.code : String(err)}`, observed };
        // The refusal is recorded as the gateway records it: a deny row under the user, naming the tool.
        const denied = await t.authorize(call(2), { deny: [DENY_REASONS.SESSION_REVOKED] });
        const after = show(denied);
        return denied.decision.decision === 'deny' && after.reasons.includes(DENY_REASONS.SESSION_REVOKED)
          ? {
              status: 'pass',
              why: `the call after revoking session ${principal.sessionId} was denied for ${principal.sub} (${after.reasons.join(', ')})`,
              observed: { ...observed, after },
            }
          : { status: 'fail', why: `the refusal was not recorded as a ${DENY_REASONS.SESSION_REVOKED} denial`, observed: { ...observed, after } };
      }
      return { status: 'fail', why: `the session guard admitted the next call after session ${principal.sessionId} was revoked`, observed };
    } finally {
      await sessions.close();
    }
  },
  async 'background-write-denied'(t) {
    const tool = toolWith(t.bundle, 'writes');
    if (!tool) return { status: 'not_configured', why: 'the catalog names no tool of class writes' };
    const a = await t.authorize(testCall('privileged', settings(t).privilegedRoles, 'background', tool, writeArgs(t)));
    const d = a.decision;
    const observed = { tool, tier: 'background', roles: settings(t).privilegedRoles, ...show(a) };
    return d.decision === 'deny'
      ? { status: 'pass', why: `background write to ${settings(t).phiPath} denied (${d.reasons.join(', ')})`, observed }
      : {
          status: 'fail',
          why: `the bundle lets a background agent write ePHI: ${tool} was ${d.decision} (${d.determiningPolicies.join(', ') || 'no policy named'})`,
          observed,
        };
  },
  async 'interactive-write-confirmed'(t) {
    const writes = Object.entries(t.bundle.catalog.tools).filter(([, e]) => e.classes.includes('writes'));
    const withBefore = writes.find(([name, e]) => e.before !== undefined && !name.includes('*'));
    if (!withBefore)
      return {
        status: 'not_configured',
        why: 'no write tool of the catalog declares `before` (how to read the target first), so no before-state can be captured',
      };
    const [tool, entry] = withBefore;
    const a = await t.authorize(testCall('privileged', settings(t).privilegedRoles, 'interactive', tool, writeArgs(t)), {
      confirmation: { channel: CONFIRM_CHANNEL },
    });
    const observed = { tool, before: entry.before, tier: 'interactive', ...show(a) };
    if (a.decision.decision !== 'confirm')
      return { status: 'fail', why: `an interactive write of ${tool} to ePHI was ${a.decision.decision}, not held for confirmation`, observed };
    // The same test identity answers: declined, so the planted record is never written.
    const answer = await t.pipeline.confirm(a, 'declined');
    return {
      status: 'pass',
      why: `${tool} is held for the human's confirmation (answered "declined" by the test identity: ${answer.decision.reasons.join(', ')}); before-state read with ${entry.before!.tool}`,
      observed: { ...observed, answer: show(answer) },
    };
  },
  async 'egress-denied'(t) {
    const tool = Object.entries(t.bundle.catalog.tools).find(([name, e]) => !name.includes('*') && (e.urls?.length ?? 0) > 0);
    if (!tool) return { status: 'not_configured', why: 'the catalog names no tool with `urls` (no tool sends data out), so there is no egress to deny' };
    const [name, entry] = tool;
    const a = await t.authorize(
      testCall('privileged', settings(t).privilegedRoles, 'interactive', name, { [entry.urls![0]!]: 'https://exfil.control-test.invalid/upload' }),
    );
    const d = a.decision;
    const observed = { tool: name, destination: 'https://exfil.control-test.invalid', ...show(a) };
    return d.decision === 'deny'
      ? { status: 'pass', why: `a destination off the allow-list denied (${d.reasons.join(', ')})`, observed }
      : { status: 'fail', why: `${name} to an unlisted destination was ${d.decision}`, observed };
  },
  async 'tampered-export-detected'(t) {
    const lines: string[] = [];
    for await (const line of t.trailLines(TAMPER_ROWS)) lines.push(line);
    if (lines.length < 2) return { status: 'not_configured', why: 'the trail holds fewer than two rows' };
    const at = Math.floor(lines.length / 2);
    const row = JSON.parse(lines[at]!) as { seq: number; time: string };
    const tampered = [...lines];
    tampered[at] = JSON.stringify({ ...row, time: new Date(Date.parse(row.time) + 1000).toISOString() });
    const report = await verifyExport(tampered, { keys: new Map() });
    const hit = report.findings.find((f) => f.seq === row.seq);
    const observed = { rows: lines.length, tampered_seq: row.seq, findings: report.findings.slice(0, 5) };
    return hit
      ? { status: 'pass', why: `the changed row was named: ${hit.kind} at seq ${row.seq}`, observed }
      : { status: 'fail', why: `a changed time at seq ${row.seq} was not detected`, observed };
  },
  async 'sdk-fails-closed'(t) {
    const open = t.bundle.policy.failOpenTools ?? [];
    if (!t.sdkCheck) return { status: 'not_configured', why: 'the SDK check program was not handed to the control tests' };
    if ('missing' in t.sdkCheck) return { status: 'not_configured', why: t.sdkCheck.missing };
    const tool = Object.keys(t.bundle.catalog.tools).find((name) => !name.includes('*') && !open.includes(name));
    if (!tool) return { status: 'not_configured', why: 'every tool of the catalog is declared fail-open' };
    const url = `http://127.0.0.1:${await closedPort()}`;
    const child = await runNode(t.sdkCheck.script, [url, tool]);
    const observed = { tool, controlPlane: url, failOpenTools: open, exit: child.code, report: child.report, stderr: child.stderr.slice(0, 500) };
    const r = child.report;
    const childCpuMs = r?.cpuMs ?? 0;
    if (r?.ran) return { status: 'fail', why: `with the control plane unreachable the SDK ran ${tool} (it failed open)`, observed, childCpuMs };
    return r?.denied === true && child.code === 0
      ? {
          status: 'pass',
          why: `control plane unreachable (${url}): the SDK refused ${tool} with ${r.error} (${r.reason ?? 'no reason'}), the tool never ran`,
          observed,
          childCpuMs,
        }
      : { status: 'fail', why: `the SDK check did not report a refusal (exit ${child.code})`, observed, childCpuMs };
  },
};

/** A port on 127.0.0.1 that nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface ChildRun {
  readonly code: number | null;
  readonly report?: { denied?: boolean; ran?: boolean; error?: string; reason?: string; cpuMs?: number };
  readonly stderr: string;
}

async function runNode(script: string, args: readonly string[]): Promise<ChildRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      let report: ChildRun['report'];
      try {
        report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildRun['report'];
      } catch {
        report = undefined;
      }
      resolve({ code, stderr, ...(report ? { report } : {}) });
    });
  });
}
