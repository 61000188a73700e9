/**
 * createCustos: the decision API for frameworks that call tools themselves.
 *   authorize(tool, args)  → the decision (allow, deny, confirm) and the arguments as the policy lets them through
 *   report(requestId, …)   → records the result; answers the output redacted
 *   guard(tool, fn)        → a function that runs `fn` only after `allow` and reports its result
 * Fail closed by default: unreachable, past the timeout (default 2 s) or 5xx → CustosUnavailableError
 * and the tool does not run. The one exception is declared, not assumed: with `failOpen`
 * configured, a tool the signed bundle metadata marks fail-open runs during an outage after
 * its journal entry is durable, and the journal is delivered when Custos answers again.
 */
import { randomUUID } from 'node:crypto';
import { CustosDeniedError, CustosSdkError, CustosUnavailableError } from './errors.js';
import { fetchMetadata, tokenSubject, verifyMetadata } from './failopen.js';
import type { FailOpenMetadata } from './failopen.js';
import { requestJson } from './http.js';
import type { HttpSettings } from './http.js';
import { openJournal, sha256Hex } from './journal.js';
import type { Journal, JournalRecord } from './journal.js';

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_METADATA_REFRESH_MS = 5 * 60_000;

export type ToolRef = { readonly server: string; readonly name: string } | `${string}/${string}`;

export interface CustosOptions {
  /** Custos' base URL, e.g. http://127.0.0.1:8787 (its public URL: the `iss` of what it signs). */
  readonly baseUrl: string;
  /** The end user's bearer token (or a function returning a fresh one). Never logged, never journaled. */
  readonly token: string | (() => string | Promise<string>);
  /** The agent, as it names itself (its tier is derived from the credential by Custos). */
  readonly agent: { readonly name: string; readonly runtime?: string; readonly version?: string };
  /** Per request to Custos; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Audited fail-open: the journal directory (durable, local). Absent: every tool fails closed. */
  readonly failOpen?: { readonly journalDir: string; readonly refreshMs?: number };
  /** Called when a delivery of the journal fails (it is kept and retried on the next answer from Custos). */
  readonly onJournalError?: (err: unknown) => void;
  readonly fetch?: typeof fetch;
  /** Milliseconds since epoch (tests inject it). */
  readonly clock?: () => number;
}

export interface Decision {
  readonly decision: 'allow' | 'deny' | 'confirm';
  readonly requestId: string;
  readonly reasons: readonly string[];
  readonly bundleHash: string;
  /** The arguments as the policy lets them reach the tool (redacted where the bundle says so). */
  readonly arguments: Record<string, unknown>;
}

export interface Reported {
  readonly requestId: string;
  /** The output as it may return to the agent: redacted. */
  readonly output: unknown;
  readonly redactions: { readonly count: number; readonly types: readonly string[] };
}

export interface Custos {
  authorize(tool: ToolRef, args: Record<string, unknown>, options?: { requestId?: string }): Promise<Decision>;
  report(requestId: string, outcome: { output: unknown } | { error: string }): Promise<Reported>;
  /** Wraps a tool: runs it only after `allow` (or, declared fail-open, journaled during an outage); throws the typed errors otherwise. */
  guard<A extends Record<string, unknown>, R>(tool: ToolRef, fn: (args: A) => R | Promise<R>): (args: A) => Promise<R>;
  /** Delivers journal entries Custos has not recorded yet; resolves with how many it recorded. */
  deliverJournal(): Promise<number>;
  /** Fetches and verifies fresh fail-open metadata (needs Custos reachable). */
  refreshFailOpen(): Promise<FailOpenMetadata | undefined>;
}

function toolOf(tool: ToolRef): { server: string; name: string } {
  if (typeof tool !== 'string') return { server: tool.server, name: tool.name };
  const slash = tool.indexOf('/');
  return { server: tool.slice(0, slash), name: tool.slice(slash + 1) };
}

export function createCustos(options: CustosOptions): Custos {
  const http: HttpSettings = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    fetch: options.fetch ?? fetch,
  };
  const clock = options.clock ?? Date.now;
  const token = async (): Promise<string> => (typeof options.token === 'string' ? options.token : await options.token());
  const journal: Journal | undefined = options.failOpen ? openJournal(options.failOpen.journalDir) : undefined;
  const refreshMs = options.failOpen?.refreshMs ?? DEFAULT_METADATA_REFRESH_MS;
  let metadata: FailOpenMetadata | undefined;
  let outageStarted: string | undefined;
  /** Kept in memory so a reachable call does not read the journal file. */
  let undelivered = journal !== undefined && journal.pending().length > 0;

  async function authorize(tool: ToolRef, args: Record<string, unknown>, opts: { requestId?: string } = {}): Promise<Decision> {
    const answer = await requestJson(http, '/v1/authorize', await token(), {
      tool: toolOf(tool),
      arguments: args,
      agent: options.agent,
      ...(opts.requestId === undefined ? {} : { request_id: opts.requestId }),
    });
    await reachable();
    const policy = answer.policy as { bundle_hash?: string } | undefined;
    return {
      decision: answer.decision as Decision['decision'],
      requestId: String(answer.request_id),
      reasons: Array.isArray(answer.reasons) ? (answer.reasons as string[]) : [],
      bundleHash: String(policy?.bundle_hash ?? ''),
      arguments: (answer.arguments ?? args) as Record<string, unknown>,
    };
  }

  async function report(requestId: string, outcome: { output: unknown } | { error: string }): Promise<Reported> {
    const answer = await requestJson(http, '/v1/results', await token(), { request_id: requestId, ...outcome });
    return { requestId, output: answer.output, redactions: answer.redactions as Reported['redactions'] };
  }

  /** Custos answered: deliver what the outage journaled, refresh stale metadata. Never throws. */
  async function reachable(): Promise<void> {
    if (!journal) return;
    try {
      if (undelivered) await deliverJournal();
      if (!metadata || clock() - metadata.fetchedAt > refreshMs) metadata = await fetchMetadata(http, await token(), journal, options.agent, clock());
    } catch (err) {
      options.onJournalError?.(err);
    }
  }

  async function deliverJournal(): Promise<number> {
    const lines = journal?.pending() ?? [];
    if (!journal || lines.length === 0) return 0;
    const stored = journal.loadMetadata();
    if (!stored) throw new CustosSdkError('CUSTOS_JOURNAL_FAILED', 'The journal has entries but no fail-open metadata to deliver them with.');
    const answer = await requestJson(http, '/v1/failopen/journal', await token(), {
      metadata: stored.metadata,
      journal_key: journal.publicJwk,
      entries: lines,
      outage_ended: new Date(clock()).toISOString(),
    });
    journal.markDelivered(lines);
    outageStarted = undefined;
    undelivered = false;
    return Number(answer.recorded);
  }

  /** During an outage: the verified metadata if it declares this tool fail-open for this user, else undefined. */
  async function failOpenFor(tool: { server: string; name: string }): Promise<FailOpenMetadata | undefined> {
    if (!journal) return undefined;
    const stored = journal.loadMetadata();
    const verified = stored && (await verifyMetadata(http.baseUrl, stored, clock()));
    if (!verified || !verified.tools.has(`${tool.server}/${tool.name}`)) return undefined;
    return tokenSubject(await token()) === verified.sub ? verified : undefined;
  }

  function record(meta: FailOpenMetadata, base: Omit<JournalRecord, 'time' | 'outage_started' | 'metadata' | 'agent'>): void {
    try {
      journal!.append({ ...base, time: new Date(clock()).toISOString(), outage_started: outageStarted!, agent: options.agent.name, metadata: meta.jti });
      undelivered = true;
    } catch (err) {
      throw new CustosSdkError('CUSTOS_JOURNAL_FAILED', 'The fail-open journal could not be written durably; the tool did not run.', { cause: err });
    }
  }

  async function runJournaled<R>(
    meta: FailOpenMetadata,
    tool: { server: string; name: string },
    args: Record<string, unknown>,
    fn: (a: never) => R | Promise<R>,
  ): Promise<R> {
    outageStarted ??= new Date(clock()).toISOString();
    const requestId = randomUUID();
    record(meta, { phase: 'intent', request_id: requestId, tool, sha256: sha256Hex(JSON.stringify(args)) });
    try {
      const output = await fn(args as never);
      record(meta, { phase: 'result', request_id: requestId, tool, sha256: sha256Hex(JSON.stringify(output ?? null)) });
      return output;
    } catch (err) {
      record(meta, { phase: 'result', request_id: requestId, tool, sha256: sha256Hex(String(err)), error: true });
      throw err;
    }
  }

  function guard<A extends Record<string, unknown>, R>(ref: ToolRef, fn: (args: A) => R | Promise<R>): (args: A) => Promise<R> {
    const tool = toolOf(ref);
    return async (args: A): Promise<R> => {
      let decision: Decision;
      try {
        decision = await authorize(tool, args);
      } catch (err) {
        if (!(err instanceof CustosUnavailableError)) throw err;
        const meta = await failOpenFor(tool);
        if (!meta) throw err;
        return runJournaled(meta, tool, args, fn);
      }
      if (decision.decision !== 'allow') throw new CustosDeniedError(decision.decision, decision.reasons, decision.requestId);
      let output: R;
      try {
        output = await fn(decision.arguments as A);
      } catch (err) {
        await report(decision.requestId, { error: err instanceof Error ? err.name : 'tool_error' });
        throw err;
      }
      return (await report(decision.requestId, { output: output ?? null })).output as R;
    };
  }

  return { authorize, report, guard, deliverJournal, refreshFailOpen: reachableRefresh };

  async function reachableRefresh(): Promise<FailOpenMetadata | undefined> {
    if (!journal) return undefined;
    metadata = await fetchMetadata(http, await token(), journal, options.agent, clock());
    return metadata;
  }
}
