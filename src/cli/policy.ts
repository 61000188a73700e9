import type { Command } from 'commander';
import { computeBundleHash, loadBundle } from '../policy/index.js';
import type { CommandContext } from './program.js';

export function registerPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('Work with policy bundles.');

  policy
    .command('hash')
    .description('Print the bundle hash and its manifest (the same as `sha256sum` over the files; see docs/policy.md).')
    .argument('<dir>', 'bundle directory')
    .option('--manifest', 'also print the manifest lines')
    .action(async (dir: string, opts: { manifest?: boolean }) => {
      const { bundleHash, manifestText } = await computeBundleHash(dir);
      if (opts.manifest) ctx.io.stdout.write(manifestText);
      ctx.out(bundleHash);
    });

  policy
    .command('validate')
    .description('Load a bundle (schema, policies, catalog) and report every problem at once.')
    .argument('<dir>', 'bundle directory')
    .action(async (dir: string) => {
      const bundle = await loadBundle(dir);
      ctx.out(`bundle ok: ${bundle.policyIds.length} policies, sha256:${bundle.bundleHash}`);
    });
}
