/**
 * report.html: the pack for a reader without Custos. One self-contained file: no script, no
 * external request (a Content-Security-Policy of `default-src 'none'` with the one style block
 * allowed by its hash), charts as inline SVG, every figure linked to the pack file behind it.
 */
import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../config/index.js';
import type { LoadedBundle } from '../policy/index.js';
import type { Box } from './checklist.js';
import type { ControlTestResult } from './control-tests.js';
import { FILES } from './controls.js';
import type { Framework } from './controls.js';
import { barChart, esc, identityFlowSvg } from './svg.js';
import type { TrailFacts } from './trail-facts.js';

const NAMES: Record<Framework, string> = {
  soc2: 'SOC 2 (CC6.1, CC6.6, CC7.1, CC7.2, CC8.1)',
  hipaa: 'HIPAA Security Rule 164.312',
  pci: 'PCI DSS 10.2',
  gdpr: 'GDPR Article 30',
  euaiact: 'EU AI Act Article 12',
  nist: 'NIST AI RMF MEASURE 2.7',
};

const STYLE = `body{font-family:sans-serif;font-size:13px;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eef1f5}
.pass{color:#1e7e34;font-weight:bold}.fail{color:#b00020;font-weight:bold}.not_configured,.empty{color:#8a6d00;font-weight:bold}.present{color:#1e7e34}
code{font-size:12px}section{page-break-inside:avoid}`;

interface ReportInput {
  readonly framework: Framework;
  readonly generatedAt: Date;
  readonly window: { readonly from?: Date; readonly to?: Date };
  readonly config: ResolvedConfig;
  readonly bundle: LoadedBundle | undefined;
  readonly facts: TrailFacts;
  readonly checklist: readonly Box[];
  readonly tests: readonly ControlTestResult[];
  readonly matrix: {
    readonly controls: ReadonlyArray<{
      id: string;
      title: string;
      mechanism: string;
      config: readonly string[];
      evidence: ReadonlyArray<{ title: string; file: string; status: string; why?: string }>;
    }>;
    readonly crosswalk: ReadonlyArray<{ clause: string; title: string; controls: readonly string[] }>;
  };
}

const link = (file: string): string => `<a href="${esc(encodeURI(file))}"><code>${esc(file)}</code></a>`;
const status = (s: string): string => `<span class="${esc(s)}">${esc(s.replace('_', ' '))}</span>`;

function charts(f: TrailFacts): string {
  const tiers = [...new Set(f.timeline.buckets.flatMap((b) => Object.keys(b.tiers)))].sort();
  const tierColors = ['#4e79a7', '#f28e2b', '#76b7b2', '#edc948', '#b07aa1'];
  const decisions = barChart(
    `Decisions over time by outcome (${f.timeline.bucketMs >= 86_400_000 ? 'per day' : 'per hour'})`,
    f.timeline.buckets.map((b) => b.start.replace('T', ' ').slice(0, 16)),
    [
      { name: 'allow', color: '#59a14f' },
      { name: 'deny', color: '#e15759' },
      { name: 'confirm', color: '#f1a340' },
    ],
    f.timeline.buckets.map((b) => [b.allow, b.deny, b.confirm]),
  );
  const byTier = barChart(
    'Decisions over time by tier',
    f.timeline.buckets.map((b) => b.start.replace('T', ' ').slice(0, 16)),
    tiers.map((t, i) => ({ name: t, color: tierColors[i % tierColors.length]! })),
    f.timeline.buckets.map((b) => tiers.map((t) => b.tiers[t] ?? 0)),
  );
  const tools = f.tools.slice(0, 20);
  const denyRate = barChart(
    'Deny rate by tool (% of decisions; top 20 tools by calls)',
    tools.map((t) => `${t.tool} (${t.denied}/${t.calls})`),
    [{ name: 'deny %', color: '#e15759' }],
    tools.map((t) => [Math.round((100 * t.denied) / Math.max(1, t.calls))]),
  );
  const red = Object.entries(f.redactions).sort((a, b) => b[1] - a[1]);
  const redactions = barChart(
    'Redactions by type',
    red.map(([k]) => k),
    [{ name: 'values', color: '#4e79a7' }],
    red.map(([, v]) => [v]),
  );
  const rules = Object.entries(f.alerts.reduce<Record<string, number>>((m, a) => ({ ...m, [a.type]: (m[a.type] ?? 0) + 1 }), {}));
  const alerts = barChart(
    'Alerts by rule',
    rules.map(([k]) => k),
    [{ name: 'alerts', color: '#b07aa1' }],
    rules.map(([, v]) => [v]),
  );
  return [
    [decisions, FILES.stats],
    [byTier, FILES.stats],
    [denyRate, FILES.stats],
    [redactions, FILES.stats],
    [alerts, FILES.alerts],
  ]
    .map(([svg, file]) => `<figure>${svg}<figcaption>Data: ${link(file!)}</figcaption></figure>`)
    .join('\n');
}

export function renderReport(r: ReportInput): string {
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src data:`;
  const counts = { pass: 0, fail: 0, not_configured: 0 };
  for (const b of r.checklist) counts[b.status]++;
  const window = `${r.window.from?.toISOString() ?? 'the first row'} – ${r.window.to?.toISOString() ?? r.generatedAt.toISOString()}`;
  const checklist = r.checklist
    .map((b) => `<tr><td>${b.id}</td><td>${esc(b.title)}</td><td>${status(b.status)}</td><td>${esc(b.why)}</td><td>${link(b.file)}</td></tr>`)
    .join('\n');
  const matrix = r.matrix.controls
    .map(
      (c) =>
        `<section><h3>${esc(c.id)} — ${esc(c.title)}</h3><p>${esc(c.mechanism)}<br>Turned on by: <code>${esc(c.config.join('; '))}</code></p><table><tr><th>Evidence the playbook asks for</th><th>Status</th><th>File</th></tr>${c.evidence
          .map((e) => `<tr><td>${esc(e.title)}</td><td>${status(e.status)}${e.why ? `<br>${esc(e.why)}` : ''}</td><td>${link(e.file)}</td></tr>`)
          .join('')}</table></section>`,
    )
    .join('\n');
  const crosswalk = r.matrix.crosswalk.map((x) => `<tr><td>${esc(x.clause)}</td><td>${esc(x.title)}</td><td>${esc(x.controls.join(', '))}</td></tr>`).join('');
  const tests = r.tests
    .map((t) => `<tr><td>${esc(t.title)}</td><td>${status(t.status)}</td><td>${esc(t.why)}</td><td>${link(`control-tests/${t.id}.json`)}</td></tr>`)
    .join('\n');
  const f = r.facts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<title>Custos evidence pack — ${esc(NAMES[r.framework])}</title><style>${STYLE}</style></head>
<body>
<h1>Evidence pack: ${esc(NAMES[r.framework])}</h1>
<p>Generated ${esc(r.generatedAt.toISOString())} for the window ${esc(window)}. Policy bundle in force:
<code>${esc(r.bundle ? `${r.bundle.info.name} v${r.bundle.info.version} sha256:${r.bundle.bundleHash}` : 'none')}</code>.
Every file of this pack is listed with its SHA-256 in ${link(FILES.manifest)}, signed in ${link(FILES.signature)}; check it with <code>custos evidence verify DIR</code>.</p>
<p>Trail in the window: ${f.rows} rows (${f.calls} call rows), seq ${f.firstSeq ?? '-'}–${f.lastSeq ?? '-'}; ${f.checkpoints.length} signed checkpoint(s). Chain report: ${link(FILES.chain)}.</p>
<h2>Checklist: ${counts.pass} pass, ${counts.fail} fail, ${counts.not_configured} not configured</h2>
<table><tr><th>#</th><th>Box</th><th>Status</th><th>Why</th><th>File</th></tr>
${checklist}</table>
<h2>Control tests</h2>
<p>Run as the control-test identity <code>custos:control-test:*</code> (tenant <code>custos-control-test</code>) through the deployment's decision stages.</p>
<table><tr><th>Test</th><th>Status</th><th>Result</th><th>File</th></tr>
${tests}</table>
<h2>Controls</h2>
${matrix}
<h2>Crosswalk</h2>
<table><tr><th>Clause</th><th>Asks for</th><th>Served by</th></tr>${crosswalk}</table>
<h2>Identity flow</h2>
<figure>${identityFlowSvg(r.config, r.bundle?.bundleHash)}<figcaption>Drawn from the configuration: ${link(FILES.diagram)}, ${link(FILES.identity)}</figcaption></figure>
<h2>Activity</h2>
${charts(f)}
</body></html>
`;
}
