/** `custos evidence` (write a pack) and `custos evidence verify DIR` (check one offline), loaded when one of them runs. */
import { readFileSync } from 'node:fs';
import { createEvidenceSources } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { printPdf, verifyPack, writePack } from '../evidence/index.js';
import type { Framework } from '../evidence/index.js';
import { CustosError } from '../kernel/index.js';
import { createKeyRegistry } from '../keys/index.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';

export interface EvidenceFlags {
  readonly config: string;
  readonly framework: Framework;
  readonly from?: Date;
  readonly to?: Date;
  readonly out: string;
  readonly pdf: boolean;
  readonly tls: boolean;
}

export async function writeEvidence(ctx: CommandContext, flags: Partial<EvidenceFlags>): Promise<void> {
  const missing = (['config', 'framework', 'out'] as const).filter((k) => flags[k] === undefined);
  if (missing.length) throw new CustosError('ERR_CONFIG_INVALID', `custos evidence needs ${missing.map((k) => `--${k}`).join(', ')}`);
  const opts = flags as EvidenceFlags;
  const config = loadConfig(opts.config);
  const keys = createKeyRegistry(config.keys);
  // Writable: the live control tests append their rows (control_test: true) to the same chain.
  const store = await openStore({ config: opts.config });
  const started = process.cpuUsage();
  const t0 = performance.now();
  try {
    const sources = await createEvidenceSources(config, store, keys, { tls: opts.tls });
    const pack = await writePack(sources, {
      framework: opts.framework,
      out: opts.out,
      ...(opts.from ? { from: opts.from } : {}),
      ...(opts.to ? { to: opts.to } : {}),
      ...(opts.pdf ? { pdf: async (html: string, pdf: string) => void (await printPdf(html, pdf)) } : {}),
    });
    const cpu = process.cpuUsage(started);
    const count = (s: string): number => pack.checklist.filter((b) => b.status === s).length;
    ctx.out(`evidence pack (${opts.framework}) written to ${pack.dir}: ${pack.files.length} files, ${pack.bytes} bytes, ${pack.rows} rows in the window`);
    ctx.out(`checklist: ${count('pass')} pass, ${count('fail')} fail, ${count('not_configured')} not configured`);
    for (const b of pack.checklist.filter((x) => x.status !== 'pass')) ctx.out(`  ${b.id} ${b.status}: ${b.title} — ${b.why}`);
    ctx.out(
      `manifest sha256 ${pack.manifestSha256}${sources.signer ? `, signed by key ${sources.signer.keyId}` : ' (unsigned: no audit.checkpoints.signingKey)'}`,
    );
    ctx.err(`took ${Math.round(performance.now() - t0)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU`);
  } finally {
    await store.close();
    keys.close();
  }
}

export async function verifyEvidence(ctx: CommandContext, dir: string, opts: { pubkey: string[] }): Promise<void> {
  const pems = opts.pubkey.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new CustosError('ERR_CONFIG_INVALID', `the public key file ${f} cannot be read`, { cause: err });
    }
  });
  const report = verifyPack(dir, pems);
  for (const p of report.problems) (report.ok ? ctx.out : ctx.err)(`${p.kind.toUpperCase()} ${p.file}: ${p.message}`);
  if (report.ok)
    ctx.out(
      `evidence pack intact: ${report.files} files${report.keyId ? `, manifest signed by key ${report.keyId}${pems.length ? '' : ' (the key named in the manifest; give --pubkey to check it against yours)'}` : ''}`,
    );
  else {
    ctx.err(`evidence pack NOT intact: ${report.problems.length} problem(s)`);
    ctx.exitCode = 1;
  }
}
