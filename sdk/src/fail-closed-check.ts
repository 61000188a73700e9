/**
 * The evidence pack's live check that the SDK fails closed (issue 16): run as
 * `node sdk/dist/src/fail-closed-check.js URL TOOL` against a control plane that does not answer
 * (a closed port). A guarded tool must not run: the SDK throws CustosUnavailableError before it.
 * Prints one JSON line, `{ denied, ran, error, reason }`, and exits 0 when it failed closed, 1 otherwise.
 */
import { pathToFileURL } from 'node:url';
import { createCustos } from './client.js';
import { CustosUnavailableError } from './errors.js';

export interface FailClosedReport {
  /** The SDK refused the call (no allow). */
  readonly denied: boolean;
  /** The guarded function ran: the SDK failed open. */
  readonly ran: boolean;
  readonly error?: string;
  readonly reason?: string;
  /** CPU this check used (user + system), ms: the pack counts it in the test's cost. */
  readonly cpuMs?: number;
}

export async function checkFailsClosed(baseUrl: string, tool: string, timeoutMs = 2000): Promise<FailClosedReport> {
  const custos = createCustos({ baseUrl, token: 'control-test-token', agent: { name: 'custos-control-test' }, timeoutMs });
  let ran = false;
  const guarded = custos.guard(tool as `${string}/${string}`, () => {
    ran = true;
    return 'the tool ran';
  });
  try {
    await guarded({ path: 'control-test/control-test.md' });
    return { denied: false, ran };
  } catch (err) {
    const error = err instanceof Error ? err.name : String(err);
    return { denied: !ran, ran, error, ...(err instanceof CustosUnavailableError ? { reason: err.reason } : {}) };
  }
}

const [url, tool] = process.argv.slice(2);
if (url !== undefined && tool !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await checkFailsClosed(url, tool);
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ ...report, cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10 })}\n`);
  process.exitCode = report.denied ? 0 : 1;
}
