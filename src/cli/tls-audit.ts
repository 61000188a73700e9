/**
 * `custos tls-audit`: one TLS handshake with every destination the config names (issuers and
 * their JWKS, HTTP upstreams, model providers), reported as evidence of transmission security
 * (164.312(e)(1)): protocol, cipher, chain and expiry, verification, pin match. Exit code 1
 * when any destination fails verification, runs plain HTTP, expires within `--warn-days`, or
 * misses its pins.
 */
import { auditTls } from '../app/index.js';
import type { TlsAuditEntry } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import type { CommandContext } from './context.js';

export interface TlsAuditFlags {
  readonly config: string;
  readonly json?: boolean;
  readonly warnDays: number;
  readonly timeoutMs: number;
}

/** What is wrong with a destination, empty when nothing. */
export function tlsProblems(entry: TlsAuditEntry, warnDays: number): string[] {
  const problems: string[] = [];
  if (entry.protocol === 'none') problems.push(entry.error === 'plain_http' ? 'plain HTTP' : `unreachable (${entry.error ?? 'error'})`);
  else if (!entry.verified) problems.push(`not verified (${entry.error ?? 'unknown'})`);
  const leaf = entry.chain[0];
  if (leaf && leaf.daysLeft < warnDays) problems.push(`certificate expires in ${leaf.daysLeft} days`);
  if (entry.pinMatch === false) problems.push('pin mismatch');
  return problems;
}

export async function tlsAudit(ctx: CommandContext, flags: TlsAuditFlags): Promise<void> {
  const entries = await auditTls(loadConfig(flags.config), { timeoutMs: flags.timeoutMs });
  const failing = entries.filter((e) => tlsProblems(e, flags.warnDays).length > 0);
  if (flags.json) {
    ctx.out(JSON.stringify(entries.map((e) => ({ ...e, problems: tlsProblems(e, flags.warnDays) }))));
  } else {
    for (const e of entries) {
      const problems = tlsProblems(e, flags.warnDays);
      ctx.out(`${problems.length ? 'FAIL' : 'ok  '} ${e.key} ${e.url}`);
      ctx.out(`     protocol ${e.protocol}${e.cipher ? `, cipher ${e.cipher}` : ''}; verified ${e.verified ? 'yes' : 'no'}`);
      for (const [i, c] of e.chain.entries()) ctx.out(`     chain[${i}] ${c.subject} (issuer ${c.issuer}), expires ${c.validTo} (${c.daysLeft} days)`);
      ctx.out(`     pin ${e.pin ?? '-'}; configured pins ${e.pinMatch === null ? 'none' : e.pinMatch ? 'match' : 'DO NOT MATCH'}`);
      if (problems.length) ctx.out(`     problems: ${problems.join('; ')}`);
    }
    if (entries.length === 0) ctx.out('no issuer, HTTP upstream or model provider to audit');
  }
  if (failing.length > 0) ctx.exitCode = 1;
}
