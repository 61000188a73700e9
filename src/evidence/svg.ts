/**
 * Inline SVG drawn from data, no library and no network: the identity-flow diagram (from the
 * configuration) and the report's bar charts. Every text is escaped.
 */
import type { ResolvedConfig } from '../config/index.js';

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FONT = 'font-family="sans-serif" font-size="12"';

function box(x: number, y: number, w: number, title: string, lines: readonly string[]): string {
  const h = 28 + lines.length * 16;
  const body = lines.map((l, i) => `<text x="${x + 8}" y="${y + 40 + i * 16}" ${FONT}>${esc(l.length > 46 ? `${l.slice(0, 45)}…` : l)}</text>`).join('');
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="#f4f6fa" stroke="#34495e"/><text x="${x + 8}" y="${y + 20}" ${FONT} font-weight="bold">${esc(title)}</text>${body}`;
}

function arrow(x1: number, y1: number, x2: number, y2: number, label: string): string {
  return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#34495e" stroke-width="1.5" marker-end="url(#arrow)"/><text x="${(x1 + x2) / 2 + 4}" y="${(y1 + y2) / 2 - 4}" ${FONT} fill="#555">${esc(label)}</text>`;
}

/** The identity flow user → agent → control plane → tool, as this deployment configures it. */
export function identityFlowSvg(config: ResolvedConfig, bundleHash: string | undefined): string {
  const issuers = config.identity.issuers.map((i) => i.issuer);
  const idle = Object.entries(config.identity.sessions.idleTimeoutSec).map(([t, s]) => `${t} ${s ? `${s}s` : 'off'}`);
  const tools = config.upstreams.map((u) => `${u.name} (${u.url ? 'http' : 'stdio'}${u.identity ? ', user identity' : ''})`);
  const models = config.llm.providers.map((p) => `model: ${p.name}`);
  const parts = [
    box(20, 20, 300, 'User (IdP-authenticated)', ['OIDC login at:', ...issuers]),
    box(20, 150, 300, 'Agent', [
      "presents the user's JWT (Bearer)",
      'sub-agents: RFC 8693 delegation',
      `at most ${config.identity.delegation.maxDepth} actors in the chain`,
    ]),
    box(400, 20, 380, 'Custos control plane', [
      'verify JWT: JWKS signature, iss, aud, exp',
      'machine tokens refused (no_user)',
      'tier from the credential, never the agent',
      `idle logoff: ${idle.join(', ')}`,
      `policy bundle sha256:${(bundleHash ?? 'none').slice(0, 16)}…`,
      'redact input/output, egress allow-list',
      'every decision a hash-chained audit row',
    ]),
    box(400, 220, 380, 'Tools and model providers', [...tools, ...models].length ? [...tools, ...models] : ['none configured']),
    arrow(170, 90, 170, 148, 'JWT'),
    arrow(320, 180, 398, 100, 'user token + tier'),
    arrow(590, 166, 590, 218, 'allowed, redacted'),
  ];
  const height = 260 + Math.max(1, tools.length + models.length) * 16 + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 ${height}" width="800" height="${height}" role="img" aria-label="Identity flow"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#34495e"/></marker></defs>${parts.join('')}</svg>`;
}

export interface Series {
  readonly name: string;
  readonly color: string;
}

/**
 * Horizontal stacked bars: one row per label, one segment per series. `values[i][j]` is
 * label i, series j.
 */
export function barChart(title: string, labels: readonly string[], series: readonly Series[], values: readonly (readonly number[])[]): string {
  const width = 760;
  const left = 230;
  const rowH = 18;
  const top = 40;
  const max = Math.max(1, ...values.map((v) => v.reduce((a, b) => a + b, 0)));
  const scale = (width - left - 60) / max;
  const rows = labels.map((label, i) => {
    let x = left;
    const segs = series.map((s, j) => {
      const w = (values[i]![j] ?? 0) * scale;
      const seg =
        w > 0
          ? `<rect x="${x.toFixed(1)}" y="${top + i * rowH}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${s.color}"><title>${esc(`${label} ${s.name}: ${values[i]![j]}`)}</title></rect>`
          : '';
      x += w;
      return seg;
    });
    const total = values[i]!.reduce((a, b) => a + b, 0);
    return `<text x="${left - 6}" y="${top + i * rowH + 11}" ${FONT} text-anchor="end">${esc(label.length > 34 ? `${label.slice(0, 33)}…` : label)}</text>${segs.join('')}<text x="${(x + 4).toFixed(1)}" y="${top + i * rowH + 11}" ${FONT}>${total}</text>`;
  });
  const legend = series.map(
    (s, j) =>
      `<rect x="${left + j * 110}" y="18" width="10" height="10" fill="${s.color}"/><text x="${left + j * 110 + 14}" y="27" ${FONT}>${esc(s.name)}</text>`,
  );
  const height = top + Math.max(1, labels.length) * rowH + 10;
  const empty = labels.length === 0 ? `<text x="${left}" y="${top + 12}" ${FONT}>no data in the window</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><text x="0" y="14" ${FONT} font-weight="bold">${esc(title)}</text>${series.length > 1 ? legend.join('') : ''}${rows.join('')}${empty}</svg>`;
}
