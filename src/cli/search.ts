/**
 * `custos audit search` and `custos audit disclosures`: thin clients of `GET /v1/audit` on a
 * running Custos, so the role check, and the row every search writes, happen in one place.
 * The token is the auditor's own (`--token`, or the CUSTOS_TOKEN environment variable).
 */
import type { AuditQuery } from '../audit/index.js';
import { CustosError } from '../kernel/index.js';
import type { CommandContext } from './context.js';

/** The search's filters (as the audit module names them), and where and how to ask. */
export interface SearchFlags extends AuditQuery {
  readonly url: string;
  readonly token?: string;
  readonly afterSeq?: number;
  readonly limit?: number;
}

const PARAMS: ReadonlyArray<[keyof SearchFlags, string]> = [
  ['user', 'user'],
  ['agent', 'agent'],
  ['tier', 'tier'],
  ['tool', 'tool'],
  ['decision', 'decision'],
  ['dataClass', 'data_class'],
  ['resource', 'resource'],
  ['event', 'event'],
  ['from', 'from'],
  ['to', 'to'],
  ['requestId', 'request_id'],
  ['limit', 'limit'],
];

function tokenOf(flags: { token?: string }): string {
  const token = flags.token ?? process.env['CUSTOS_TOKEN'];
  if (!token) throw new CustosError('ERR_CONFIG_INVALID', 'give the auditor token with --token or the CUSTOS_TOKEN environment variable');
  return token;
}

/** GET one answer; an error answer is printed with its code and the exit code set. */
async function getJson(ctx: CommandContext, url: URL, token: string): Promise<Record<string, unknown> | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `Custos at ${url.origin} cannot be reached; check --url`, { cause: err });
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown> & { error?: { code?: string; message?: string } };
  if (response.ok) return body;
  ctx.err(`${body.error?.code ?? `HTTP ${response.status}`}: ${body.error?.message ?? 'the search was refused'}`);
  ctx.exitCode = 1;
  return undefined;
}

/** Prints every matching row as one JSON line, following the pages by seq. */
export async function searchAudit(ctx: CommandContext, flags: SearchFlags): Promise<void> {
  const token = tokenOf(flags);
  let after = flags.afterSeq ?? 0;
  for (;;) {
    const url = new URL('/v1/audit', flags.url);
    for (const [flag, param] of PARAMS) if (flags[flag] !== undefined) url.searchParams.set(param, String(flags[flag]));
    url.searchParams.set('after_seq', String(after));
    const page = await getJson(ctx, url, token);
    if (!page) return;
    for (const record of page['records'] as unknown[]) await ctx.write(`${JSON.stringify(record)}\n`);
    const next = page['next_after_seq'];
    if (typeof next !== 'number') return;
    after = next;
  }
}

interface Disclosure {
  readonly seq: number;
  readonly time: string;
  readonly request_id: string;
  readonly user: { readonly sub: string | null; readonly email?: string };
  readonly agent?: { readonly name: string; readonly tier?: string };
  readonly tool: string;
  readonly resource: string;
  readonly emergency: boolean;
}

/** The accounting of disclosures for one patient: one line per access, or the JSON with --json. */
export async function disclosuresAudit(
  ctx: CommandContext,
  flags: { url: string; token?: string; patient: string; from?: string; to?: string; json?: boolean },
): Promise<void> {
  const url = new URL('/v1/audit/disclosures', flags.url);
  url.searchParams.set('patient', flags.patient);
  if (flags.from) url.searchParams.set('from', flags.from);
  if (flags.to) url.searchParams.set('to', flags.to);
  const report = await getJson(ctx, url, tokenOf(flags));
  if (!report) return;
  if (flags.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return;
  }
  const list = report['disclosures'] as Disclosure[];
  ctx.out(`accounting of disclosures for patient ${flags.patient}: ${list.length} access(es) to ${(report['resources'] as string[]).join(', ')}`);
  for (const d of list) {
    const who = `${d.user.sub ?? 'anonymous'}${d.user.email ? ` <${d.user.email}>` : ''}`;
    const agent = d.agent ? `via ${d.agent.name}${d.agent.tier ? ` (${d.agent.tier})` : ''}` : 'via no agent';
    ctx.out(`${d.time}  ${who}  ${agent}  ${d.tool}  ${d.resource}  request ${d.request_id}  seq ${d.seq}${d.emergency ? '  BREAK-GLASS' : ''}`);
  }
}
