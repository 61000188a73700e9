/**
 * The `custos` command. Commands are thin: they parse flags, call a module's public
 * surface and print. `runCli` returns the exit code (0 ok, 1 check failed, 2 usage or
 * config error) so tests drive it in-process. Long-running commands resolve once started.
 */
import { Command, CommanderError } from 'commander';
import { isCustosError } from '../kernel/index.js';
import { registerAuditCommands } from './audit.js';
import { registerPolicyCommands } from './policy.js';
import { registerServeCommands } from './serve.js';
import { registerRedactCommand, registerTokenCommand } from './tools.js';
import { registerReviewCommands } from './review.js';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin?: NodeJS.ReadableStream;
}

export interface CommandContext {
  readonly io: CliIo;
  out(line: string): void;
  err(line: string): void;
  /** Set by a command that wants a non-zero exit without throwing. */
  exitCode: number | undefined;
}

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('custos')
    .description('Custos: the control plane AI agents\' tool calls go through (identity, policy, redaction, audit).')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) })
    .exitOverride();
  registerServeCommands(program, ctx);
  registerTokenCommand(program, ctx);
  registerAuditCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerRedactCommand(program, ctx);
  registerReviewCommands(program, ctx);
  return program;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const ctx: CommandContext = {
    io,
    out: (line) => io.stdout.write(`${line}\n`),
    err: (line) => io.stderr.write(`${line}\n`),
    exitCode: undefined,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isCustosError(err)) {
      ctx.err(`custos: ${err.code}: ${err.message}`);
      return 2;
    }
    ctx.err(`custos: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
