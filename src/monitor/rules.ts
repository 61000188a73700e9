/**
 * The alert rules over the trail: each row of the trail goes through `observe` (in seq order,
 * as the monitor folds it), which returns the alerts it raises. Counting rules keep per-key
 * windows of `windowMs` on the rows' own times and compare the current window with a rolling
 * baseline of the windows before it, so every replica folding the same trail counts the same
 * windows. The same alert (type and key) is raised again only after the cooldown. Pure state,
 * no I/O.
 */
import type { AuditRecord } from '../kernel/index.js';
import { ALERT_TYPES } from './types.js';
import type { RaisedMonitorAlert, RuleSettings, Severity } from './types.js';

/** Counts per window for one key: the current window and the finished ones before it. */
interface Series {
  start: number;
  count: number;
  history: number[];
}

export interface AlertRules {
  /** The alerts a durable row raises (none for the monitor's own alert rows). */
  observe(record: AuditRecord): RaisedMonitorAlert[];
  /** Passes an alert through the cooldown, at `t` (epoch ms; the clock's now when absent). */
  admit(alert: RaisedMonitorAlert, t?: number): boolean;
  /** The windows, last raises and first-seen sets, for the start-up snapshot. */
  save(): RulesState;
  /** Takes a saved state (before any row is observed). */
  restore(saved: RulesState): void;
}

/** The rules' state as plain data (snapshot.ts). */
export interface RulesState {
  readonly series: Array<[string, Series]>;
  readonly lastRaised: Array<[string, number]>;
  readonly usedTools: string[];
  readonly usedByUser: string[];
}

/** What the rules' counts depend on besides the rows: a snapshot counted under other windows is not taken. */
export const rulesKey = (settings: RuleSettings): string => `${settings.windowMs}|${settings.baselineWindows}|${settings.firstUse}`;

/** The rows the counting rules look at (one place to leave a kind of row out): a live control test's rows are evidence, not traffic. */
export function ruleSees(r: AuditRecord): boolean {
  if (r.control_test) return false;
  return r.event === 'deny' || r.event === 'intent' || r.event === 'result' || r.event === 'auth_failure';
}

const userKey = (r: AuditRecord): string | undefined => (r.user.sub ? `${r.user.iss ?? ''}|${r.user.sub}` : undefined);
const toolKey = (r: AuditRecord): string | undefined => (r.tool ? `${r.tool.server}/${r.tool.name}` : undefined);

export function createAlertRules(settings: RuleSettings, now: () => number): AlertRules {
  const series = new Map<string, Series>();
  const lastRaised = new Map<string, number>();
  const usedTools = new Set<string>();
  const usedByUser = new Set<string>();

  /** Moves a series to the window that holds `t`, closing the windows in between (empty ones count 0). */
  function roll(key: string, t: number): Series {
    let s = series.get(key);
    if (!s) {
      s = { start: t - (t % settings.windowMs), count: 0, history: [] };
      series.set(key, s);
    }
    while (t >= s.start + settings.windowMs) {
      s.history.push(s.count);
      if (s.history.length > settings.baselineWindows) s.history.shift();
      s.count = 0;
      s.start += settings.windowMs;
      if (s.history.length === settings.baselineWindows && s.history.every((c) => c === 0)) s.start = t - (t % settings.windowMs); // idle: jump ahead
    }
    return s;
  }

  function add(key: string, by: number, t: number): Series {
    const s = roll(key, t);
    s.count += by;
    return s;
  }

  function admit(alert: RaisedMonitorAlert, t = now()): boolean {
    const id = `${alert.type}|${alert.key}`;
    const last = lastRaised.get(id);
    if (last !== undefined && t - last < settings.cooldownMs) return false;
    lastRaised.set(id, t);
    return true;
  }

  function raise(
    out: RaisedMonitorAlert[],
    type: string,
    severity: Severity,
    key: string,
    cause: AuditRecord | undefined,
    detail: Record<string, unknown>,
  ): void {
    const alert = { type, severity, key, cause, detail };
    if (admit(alert, at)) out.push(alert);
  }

  function denySpikes(r: AuditRecord, out: RaisedMonitorAlert[]): void {
    const keys: Array<[string, string | undefined]> = [
      ['user', userKey(r)],
      ['agent', r.agent?.name],
      ['tool', toolKey(r)],
    ];
    for (const [scope, value] of keys) {
      if (value === undefined) continue;
      const s = add(`deny|${scope}|${value}`, 1, at);
      const baseline = s.history.length === 0 ? 0 : s.history.reduce((a, b) => a + b, 0) / s.history.length;
      const { minDenies, factor } = settings.denySpike;
      if (s.count >= minDenies && s.count >= factor * Math.max(baseline, 1))
        raise(out, ALERT_TYPES.DENY_RATE_SPIKE, 'medium', `${scope}:${value}`, scope === 'user' ? r : undefined, {
          scope,
          key: value,
          denies: s.count,
          baseline: Math.round(baseline * 100) / 100,
          window_sec: settings.windowMs / 1000,
        });
    }
  }

  function firstUse(r: AuditRecord, out: RaisedMonitorAlert[]): void {
    const tool = toolKey(r);
    const user = userKey(r);
    if (!settings.firstUse || r.kind !== 'tool' || tool === undefined) return;
    if (!usedTools.has(tool)) raise(out, ALERT_TYPES.TOOL_FIRST_USE, 'low', tool, r, { tool, scope: 'deployment' });
    if (user !== undefined && !usedByUser.has(`${user}|${tool}`))
      raise(out, ALERT_TYPES.TOOL_FIRST_USE_BY_USER, 'low', `${user}|${tool}`, r, { tool, scope: 'user' });
    markUsed(r);
  }

  function redactions(r: AuditRecord, out: RaisedMonitorAlert[]): void {
    const user = userKey(r);
    if (user === undefined || r.redactions.count === 0) return;
    const s = add(`redact|${user}`, r.redactions.count, at);
    if (s.count >= settings.redactionsPerWindow)
      raise(out, ALERT_TYPES.REDACTIONS_OVER_THRESHOLD, 'medium', user, r, {
        redactions: s.count,
        types: r.redactions.types,
        threshold: settings.redactionsPerWindow,
        window_sec: settings.windowMs / 1000,
      });
  }

  function authFailures(r: AuditRecord, out: RaisedMonitorAlert[]): void {
    const aggregate = (r.detail?.aggregate ?? undefined) as { count?: unknown } | undefined;
    const count = typeof aggregate?.count === 'number' ? aggregate.count : 1;
    const s = add('auth_failure', count, at);
    if (s.count >= settings.authFailuresPerWindow)
      raise(out, ALERT_TYPES.AUTH_FAILURE_FLOOD, 'high', 'all', undefined, {
        failures: s.count,
        threshold: settings.authFailuresPerWindow,
        window_sec: settings.windowMs / 1000,
        last_source: r.detail?.source ?? null,
      });
  }

  function markUsed(r: AuditRecord): void {
    const tool = toolKey(r);
    const user = userKey(r);
    if (r.kind !== 'tool' || tool === undefined || (r.event !== 'intent' && r.event !== 'result')) return;
    usedTools.add(tool);
    if (user !== undefined) usedByUser.add(`${user}|${tool}`);
  }

  let at = 0; // the time of the row being observed

  function observe(r: AuditRecord): RaisedMonitorAlert[] {
    const out: RaisedMonitorAlert[] = [];
    if (!ruleSees(r)) return out;
    at = Date.parse(r.time);
    if (r.event === 'deny') denySpikes(r, out);
    if (r.event === 'intent') firstUse(r, out);
    if (r.event === 'intent' || r.event === 'result') redactions(r, out);
    if (r.event === 'auth_failure') authFailures(r, out);
    return out;
  }

  function save(): RulesState {
    return {
      series: [...series].map(([k, s]) => [k, { ...s, history: [...s.history] }]),
      lastRaised: [...lastRaised],
      usedTools: [...usedTools],
      usedByUser: [...usedByUser],
    };
  }

  function restore(saved: RulesState): void {
    for (const [k, s] of saved.series) series.set(k, { start: s.start, count: s.count, history: [...s.history] });
    for (const [k, t] of saved.lastRaised) lastRaised.set(k, t);
    for (const t of saved.usedTools) usedTools.add(t);
    for (const u of saved.usedByUser) usedByUser.add(u);
  }

  return { observe, admit, save, restore };
}
