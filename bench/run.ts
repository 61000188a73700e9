/**
 * `npm run bench -- NAME`: runs bench/NAME.ts (compiled to dist-bench/) and prints its
 * report. Benchmarks are measurements, not tests: they never fail on a slow machine.
 */
const BENCHMARKS: Record<string, string> = {
  audit:
    'the audit trail in one run: durable rows/s (SQLite, PostgreSQL; one appender and many), offline verification rows/s beside the previous verifier, inclusion proofs/s, sink throughput per protocol',
  'audit-store':
    'durable audit appends (appends/s, p50/p99, event-loop stall): the old synchronous path against the writer thread with group commit, 1 and 50 appenders; and encryption at rest (sealed rows) against clear rows, appending and reading back',
  'audit-handoff':
    'the CPU of one durable SQLite append by thread (main thread: the hand-off to the writer thread; the rest: the writer), 1 and 50 appenders, beside another build (BENCH_BASELINE_ROOT) interleaved',
  console: 'the audit explorer in Chromium on a generated trail (BENCH_ROWS, default 1 000 000): time to first render, a search p50/p95',
  gateway: 'read_text_file direct, through a minimal forwarder, supergateway, mcp-proxy and Custos: sequential and concurrent; writes docs/performance.md',
  'intent-overlap':
    'the overlap lever alone: pipeline.run of a read-only call forwarded after vs while its intent row is made durable (SQLite, real upstream), interleaved',
  identity: 'token verification (RS256, ES256) and the RFC 8693 token exchange round trip',
  load: 'load and soak: K MCP sessions and K decision-API clients for T s through one Custos (SQLite), one and three replicas behind HAProxy on PostgreSQL, supergateway and mcp-proxy, interleaved runs: calls/s, p50/p99, RSS per run, the count check (BENCH_SHORT=1: a quick check)',
  'monitor-start':
    "the monitor's start on a generated trail (BENCH_ROWS, default 100 000, and a BENCH_TAIL of 1 000 after its snapshot): a full read against the start-up snapshot, interleaved: wall, CPU, trail rows read",
  llm: 'the model-provider proxy: a local OpenAI-compatible provider direct and through /llm/openai, not streamed (per request) and streamed (per chunk)',
  policy: 'the cost of one Cedar decision, uncached and from the decision cache',
  sdk: 'the SDK guard against a bare fetch of the decision API (authorize + results), interleaved, p50/p90/p99',
  evidence: 'an evidence pack of a generated million-row trail (BENCH_EVIDENCE_N): time, CPU and size; report.pdf; the nine control tests per run',
  'search-index':
    'building the audit search index from a generated SQLite trail (BENCH_ROWS, default 100 000): rows per CPU-second, beside another build (BENCH_BASELINE_ROOT) interleaved over BENCH_RUNS rounds',
  protect: 'redaction throughput (4 KB chunks, adversarial inputs) and recall/precision per type beside secretlint and redact-pii',
};

const name = process.argv[2];
if (!name || !Object.hasOwn(BENCHMARKS, name)) {
  const help = name === '--help' || name === '-h';
  const out = help ? console.log : console.error;
  if (name && !help) out(`unknown benchmark: ${name}`);
  out('usage: npm run bench -- NAME\n\nbenchmarks:');
  for (const [n, what] of Object.entries(BENCHMARKS)) out(`  ${n.padEnd(10)} ${what}`);
  out(
    '\nThe gateway benchmark reads BENCH_N, BENCH_WARMUP, BENCH_SESSIONS, BENCH_SECONDS, BENCH_RUNS, BENCH_TARGETS, BENCH_WRITE, BENCH_NOTE, BENCH_BASELINE_ROOT, BENCH_CUSTOS_NODE_ARGS and BENCH_BASE_NODE_ARGS (see bench/gateway.ts).',
  );
  process.exit(help ? 0 : 2);
}
const mod = (await import(`./${name}.js`)) as { run: () => Promise<void> };
await mod.run();
process.exit(0);
