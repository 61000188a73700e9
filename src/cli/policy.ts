/** `custos policy hash` and `custos policy validate`, loaded when one of them runs. */
import { computeBundleHash, loadBundle } from '../policy/index.js';
import type { CommandContext } from './context.js';

export async function hashBundle(ctx: CommandContext, dir: string, opts: { manifest?: boolean }): Promise<void> {
  const { bundleHash, manifestText } = await computeBundleHash(dir);
  if (opts.manifest) ctx.print(manifestText);
  ctx.out(bundleHash);
}

export async function validateBundle(ctx: CommandContext, dir: string): Promise<void> {
  const bundle = await loadBundle(dir);
  ctx.out(`bundle ok: ${bundle.policyIds.length} policies, sha256:${bundle.bundleHash}`);
}
