/**
 * The monitor: the pipeline's `monitor` stage (a hook on every durable row), the kill_switch
 * and tool_drift guards, and the admin operations behind /v1/alerts, /v1/inventory and
 * /v1/admin/kill-switches. Its state is a fold over the trail (trail-state.ts): a change an
 * admin makes on any replica is a row, and every replica reads the trail's new rows every
 * `syncMs` (at once on its own), so a kill switch holds everywhere within about a second.
 * The counting rules run over the same fold (every replica counts every replica's rows, in
 * one set of windows); the replica whose raise is first in the shared rate counter writes the
 * alert, so three replicas raise it once.
 */
import { CustosError } from '../kernel/index.js';
import type {
  AuditMonitor,
  AuditRecord,
  AuditStore,
  CallGuard,
  Clock,
  IdSource,
  Logger,
  Pipeline,
  Principal,
  RateCounter,
  UpstreamPool,
} from '../kernel/index.js';
import { createAlertDelivery } from './alert-delivery.js';
import { formatKillTarget, matchKill, parseKillTarget } from './kill-switches.js';
import { createAlertRules, rulesKey } from './rules.js';
import { encodeSnapshot, restoreSnapshot } from './snapshot.js';
import type { MonitorSnapshotStore, MonitorStartReport, SnapshotSeal } from './snapshot.js';
import { MONITOR_ACTIONS, agentsOf, createTrailState, foldRow } from './trail-state.js';
import { createToolWatch } from './tool-watch.js';
import type { ToolWatch } from './tool-watch.js';
import { ALERT_TYPES, DEFAULT_RULE_SETTINGS } from './types.js';
import type { AlertSink, AlertView, Inventory, KillSwitch, RaisedMonitorAlert, RuleSettings } from './types.js';

export interface MonitorSettings {
  readonly rules: RuleSettings;
  /** How often the trail's new rows (other replicas' kill switches, approvals, acknowledgements) are read, in ms. */
  readonly syncMs: number;
  /** Upstreams whose changed tools are alerted but not quarantined. */
  readonly alertOnly: readonly string[];
  /** A snapshot of the state is saved after this many new rows (and at close); 0: only at close. */
  readonly snapshotEveryRows: number;
}

export interface MonitorDeps {
  readonly store: Pick<AuditStore, 'read'>;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly sinks?: readonly AlertSink[];
  readonly settings?: Partial<MonitorSettings>;
  /** The replicas' shared counters (the rate limits'): one raise per alert and cooldown across replicas. Absent: this replica alone. */
  readonly counter?: Pick<RateCounter, 'take'>;
  /** Where the start-up snapshot is kept (snapshot-store.ts). Absent: every start folds the whole trail. */
  readonly snapshots?: MonitorSnapshotStore;
  /** Signs the snapshots saved, and a start takes only one it signed. Absent: snapshots are unsigned (their digest catches damage, not forgery). */
  readonly snapshotSeal?: SnapshotSeal;
}

/** What the monitor sees of the upstream pool. */
export type MonitoredUpstreams = Pick<UpstreamPool, 'listTools' | 'status' | 'onEvent'>;

/** What the monitor writes its rows through (the kernel pipeline). */
export type MonitorRecorder = Pick<Pipeline, 'recordAlert' | 'recordAdmin'>;

export interface Monitor {
  /** The pipeline's monitor stage. */
  readonly hook: AuditMonitor;
  /** The pipeline's kill_switch and tool_drift stages. */
  readonly guard: CallGuard;
  /** The pipeline the monitor writes through (it is created after the monitor). */
  attach(recorder: MonitorRecorder): void;
  /** Folds the whole trail (raising nothing for rows already there), looks at the upstreams' tools (and watches them), and starts reading new rows every `syncMs`. */
  start(upstreams?: MonitoredUpstreams): Promise<void>;
  /** Folds the rows written since the last look, and raises the alerts the counting rules find in them. */
  sync(): Promise<void>;
  alerts(options?: { readonly all?: boolean }): AlertView[];
  /** Acknowledges an alert (by its row's seq) with a note: an admin row. */
  acknowledge(principal: Principal, seq: number, note: string): Promise<AlertView>;
  inventory(): Inventory;
  /** Approves a tool's current definition (after a change): an admin row; the tool is listed and callable again. */
  approveTool(principal: Principal, server: string, name: string): Promise<{ readonly hash: string; readonly seq: number }>;
  kills(): KillSwitch[];
  /** Sets a kill switch (`agent:NAME`, `tool:SERVER/NAME`, `upstream:SERVER`, `user:SUB`): an admin row naming the reason. */
  setKill(principal: Principal, target: string, reason: string): Promise<KillSwitch>;
  liftKill(principal: Principal, id: string, reason: string): Promise<{ readonly id: string; readonly seq: number }>;
  /** The policy side calls this when a bundle is activated: shadow and emergency modes raise an alert. */
  bundleActivated(mode: string, bundleHash: string): Promise<void>;
  /** A verification of the trail failed (the trail watch, trail-watch.ts): an alert, raised by one replica per failure and cooldown window. */
  chainVerificationFailed(detail: Readonly<Record<string, unknown>>): Promise<void>;
  /** How the last `start` went: from a snapshot or a full read (and why), and the rows it read. */
  startReport(): MonitorStartReport | undefined;
  /** Saves a snapshot of the state now (when there are rows since the last one). */
  saveSnapshot(): Promise<void>;
  /** Resolves when the rows and deliveries the monitor started have finished (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Bundle modes that turn enforcement down: activating one is an alert. */
const UNSAFE_MODES = new Set(['shadow', 'emergency']);

export function createMonitor(deps: MonitorDeps): Monitor {
  const settings: MonitorSettings = { rules: DEFAULT_RULE_SETTINGS, syncMs: 500, alertOnly: [], snapshotEveryRows: 10_000, ...deps.settings };
  const state = createTrailState();
  const rules = createAlertRules(settings.rules, () => deps.clock.now().getTime());
  const delivery = createAlertDelivery(deps.sinks ?? [], deps.logger);
  let upstreams: MonitoredUpstreams | undefined;
  let tools: ToolWatch | undefined;
  const pending = new Set<Promise<unknown>>();
  const announcedServers = new Map<string, string>();
  let recorder: MonitorRecorder | undefined;
  let syncing: Promise<void> | undefined;
  let syncAgain = false;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let live = false; // after the start's fold: rules raise only on rows written since
  let lastHash = ''; // of the row at state.lastSeq (the snapshot names it)
  let snapshotSeq = 0;
  let started: MonitorStartReport | undefined;
  let closed = false;
  /** Rows this process wrote (the hook saw them), not folded yet: folded without reading them back while they follow on. */
  const own = new Map<number, AuditRecord>();

  function track(work: Promise<unknown>): void {
    const p = work.catch((err: unknown) => deps.logger.error({ err: (err as { code?: string }).code ?? 'error' }, 'monitor: a row could not be written'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  function writer(): MonitorRecorder {
    if (!recorder) throw new CustosError('ERR_INTERNAL', 'The monitor is not attached to a pipeline.');
    return recorder;
  }

  /** Writes an alert row; the hook then delivers it. */
  function raise(alert: RaisedMonitorAlert): void {
    const principal = alert.cause?.user.sub ? principalOf(alert.cause) : null;
    track(writer().recordAlert({ type: alert.type, severity: alert.severity, principal, detail: { ...alert.detail, rule: alert.type } }));
  }

  function fold(r: AuditRecord): void {
    foldRow(state, r);
    lastHash = r.hash;
    const raised = rules.observe(r);
    if (live && recorder) for (const alert of raised) track(raiseOnce(alert, Date.parse(r.time)));
  }

  function sync(): Promise<void> {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        // This process's own rows, while they follow on from the fold: no read of the trail for them.
        for (let r = own.get(state.lastSeq + 1); r; r = own.get(state.lastSeq + 1)) {
          own.delete(r.seq);
          fold(r);
        }
        // Then the trail from there (other replicas' rows, and this process's after a gap).
        for await (const r of deps.store.read({ fromSeq: state.lastSeq + 1 })) {
          if (r.seq <= state.lastSeq) continue;
          if (started && !live) started.rowsRead++;
          own.delete(r.seq);
          fold(r);
        }
        for (const seq of own.keys()) if (seq <= state.lastSeq) own.delete(seq);
      } while (syncAgain);
      if (live && settings.snapshotEveryRows > 0 && state.lastSeq - snapshotSeq >= settings.snapshotEveryRows) track(saveSnapshot());
    })().finally(() => {
      syncing = undefined;
    });
    return syncing;
  }

  /** The state as of the last folded row, to the snapshot store (on another replica's newer one, kept as it is). */
  async function saveSnapshot(): Promise<void> {
    if (!deps.snapshots || state.lastSeq <= snapshotSeq || !lastHash) return;
    const seq = state.lastSeq;
    await deps.snapshots.save(seq, encodeSnapshot(state, rules.save(), lastHash, rulesKey(settings.rules), deps.snapshotSeal));
    snapshotSeq = seq;
  }

  /** Raises an alert the rules found unless another replica already raised it in this cooldown window. */
  async function raiseOnce(alert: RaisedMonitorAlert, t: number): Promise<void> {
    if (await firstRaise(alert, t)) raise(alert);
  }

  /** Whether this replica is the first to raise the alert (type and key) in its cooldown window (the shared counter). */
  async function firstRaise(alert: RaisedMonitorAlert, t: number): Promise<boolean> {
    if (deps.counter) {
      const cooldown = Math.max(1, settings.rules.cooldownMs);
      const window = Math.floor(t / cooldown);
      const key = { key: `monitor|${alert.type}|${alert.key}|${window}`, limit: 1, expiresAt: (window + 1) * cooldown };
      try {
        if ((await deps.counter.take([key])) !== null) return false; // raised on another replica
      } catch (err) {
        // Better twice than never: without the shared counter this replica raises it.
        deps.logger.warn({ err: (err as { code?: string }).code ?? 'error', alert: alert.type }, 'monitor: the shared alert counter is unavailable');
      }
    }
    return true;
  }

  function onAlertRow(r: AuditRecord): void {
    const fromRule = r.detail?.rule === r.alert?.type;
    const key = `${r.user.iss ?? ''}|${r.user.sub ?? ''}`;
    if (fromRule || rules.admit({ type: r.alert?.type ?? 'alert', severity: 'low', key, detail: {} })) track(delivery.deliver(r));
  }

  /** On the call's path: the row kept for the next fold, and the delivery of alert rows; the rules count in `sync`, beside the calls. */
  const hook: AuditMonitor = (r) => {
    if (live && !closed && r.seq > state.lastSeq) own.set(r.seq, r);
    if (r.event === 'alert') onAlertRow(r);
  };

  /** Approvals of first-seen tools, alerts of changed ones, inventory rows of new servers or versions. */
  function lookAtUpstreams(): void {
    if (!tools || !upstreams || !recorder) return;
    const found = tools.refresh();
    for (const t of found.firstSeen) {
      state.approved.set(`${t.server}/${t.name}`, { hash: t.hash, definition: t.definition, seq: 0, time: deps.clock.now().toISOString() });
      track(
        writer().recordAdmin({
          action: MONITOR_ACTIONS.TOOL_APPROVED,
          principal: 'custos',
          detail: { server: t.server, tool: t.name, hash: t.hash, definition: t.definition, by: 'first_seen' },
        }),
      );
    }
    for (const t of found.changed) {
      const quarantined = !settings.alertOnly.includes(t.server);
      raise({
        type: ALERT_TYPES.TOOL_DEFINITION_CHANGED,
        severity: 'high',
        key: `${t.server}/${t.name}|${t.hash}`,
        detail: { server: t.server, tool: t.name, approved_hash: t.approved.hash, current_hash: t.hash, definition: t.definition, quarantined },
      });
    }
    for (const s of upstreams.status()) announceServer(s);
  }

  function announceServer(s: ReturnType<UpstreamPool['status']>[number]): void {
    if (s.state !== 'ready') return;
    const list = tools?.toolsOf(s.name, undefined).map((t) => ({ name: t.name, hash: t.hash })) ?? [];
    const signature = JSON.stringify([s.server?.name, s.server?.version, s.transport, list]);
    const known = state.servers.get(s.name);
    if (announcedServers.get(s.name) === signature) return;
    announcedServers.set(s.name, signature);
    if (known && known.version === (s.server?.version ?? null) && known.server_name === (s.server?.name ?? null) && known.transport === s.transport) return;
    track(
      writer().recordAdmin({
        action: MONITOR_ACTIONS.INVENTORY_CHANGED,
        principal: 'custos',
        detail: {
          change: known ? 'server_changed' : 'server_seen',
          server: s.name,
          server_name: s.server?.name ?? null,
          version: s.server?.version ?? null,
          transport: s.transport,
          tools: list,
        },
      }),
    );
  }

  function onUpstreamEvent(event: { readonly type: string; readonly server: string }): void {
    if (event.type === 'tools_changed') lookAtUpstreams();
    if (event.type !== 'status_changed' || !upstreams) return;
    const s = upstreams.status().find((u) => u.name === event.server);
    if (s?.state === 'failed') {
      const alert = {
        type: ALERT_TYPES.UPSTREAM_DOWN,
        severity: 'high' as const,
        key: s.name,
        detail: { server: s.name, error: s.error ?? null, restarts: s.restarts ?? 0 },
      };
      if (rules.admit(alert)) raise(alert);
    } else lookAtUpstreams();
  }

  /** The servers of the trail and those the upstreams list now (live state, tools as listed now). */
  function inventory(): Inventory {
    const live = upstreams?.status() ?? [];
    const names = new Set([...state.servers.keys(), ...live.map((u) => u.name)]);
    const now = deps.clock.now().toISOString();
    const servers = [...names].sort().map((name) => {
      const seen = state.servers.get(name);
      const u = live.find((l) => l.name === name);
      return {
        name,
        server_name: seen?.server_name ?? u?.server?.name ?? null,
        version: seen?.version ?? u?.server?.version ?? null,
        transport: seen?.transport ?? u?.transport ?? null,
        state: u?.state ?? 'unknown',
        first_seen: seen?.first_seen ?? now,
        last_seen: seen?.last_seen ?? now,
        calls: seen?.calls ?? 0,
        tools: tools?.toolsOf(name, seen?.toolCalls) ?? [],
      };
    });
    return { generated_at: now, servers, agents: agentsOf(state) };
  }

  const guard: CallGuard = {
    killSwitch: (call) => matchKill(state.kills, call),
    quarantined: (call) => tools?.quarantined(call.tool.server, call.tool.name) ?? false,
  };

  async function admin(principal: Principal, action: string, detail: Record<string, unknown>): Promise<AuditRecord> {
    const record = await writer().recordAdmin({ action, principal, detail });
    await sync();
    return record;
  }

  return {
    hook,
    guard,
    attach(r) {
      recorder = r;
    },
    async start(pool) {
      started = await restoreSnapshot({
        snapshots: deps.snapshots,
        store: deps.store,
        state,
        rules,
        rulesKey: rulesKey(settings.rules),
        seal: deps.snapshotSeal,
      });
      if (started.snapshot === 'used') snapshotSeq = started.fromSeq;
      else if (started.reason)
        deps.logger.warn({ snapshot: started.snapshot, reason: started.reason }, 'monitor: the snapshot is not used; the whole trail is read');
      await sync();
      live = true;
      upstreams = pool;
      tools = pool ? createToolWatch(pool, state, new Set(settings.alertOnly)) : undefined;
      unsubscribe = pool?.onEvent(onUpstreamEvent);
      lookAtUpstreams();
      timer = setInterval(() => track(sync()), settings.syncMs);
      timer.unref();
    },
    sync,
    startReport: () => started && { ...started },
    saveSnapshot,
    alerts: (options = {}) => state.alerts.filter((a) => options.all || !a.acknowledged).map((a) => ({ ...a })),
    async acknowledge(principal, seq, note) {
      await sync();
      const alert = state.alerts.find((a) => a.seq === seq);
      if (!alert) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No alert has this seq.');
      await admin(principal, MONITOR_ACTIONS.ALERT_ACKNOWLEDGED, { alert_seq: seq, alert_type: alert.type, note });
      return { ...(state.alerts.find((a) => a.seq === seq) ?? alert) };
    },
    inventory,
    async approveTool(principal, server, name) {
      const tool = tools?.current(server, name);
      if (!tool) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No upstream lists a tool by this name.');
      const previous = state.approved.get(`${server}/${name}`);
      const record = await admin(principal, MONITOR_ACTIONS.TOOL_APPROVED, {
        server,
        tool: name,
        hash: tool.hash,
        definition: tool.definition,
        by: 'admin',
        previous_hash: previous?.hash ?? null,
      });
      return { hash: tool.hash, seq: record.seq };
    },
    kills: () => [...state.kills.values()],
    async setKill(principal, target, reason) {
      const normalised = formatKillTarget(parseKillTarget(target));
      const id = deps.ids.newId();
      await admin(principal, MONITOR_ACTIONS.KILL_SWITCH_SET, { id, target: normalised, reason });
      const set = state.kills.get(id);
      if (!set) throw new CustosError('ERR_INTERNAL', 'The kill switch row was written but not read back.');
      return set;
    },
    async liftKill(principal, id, reason) {
      await sync();
      const k = state.kills.get(id);
      if (!k) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No kill switch in force has this id.');
      const record = await admin(principal, MONITOR_ACTIONS.KILL_SWITCH_LIFTED, { id, target: k.target, reason });
      return { id, seq: record.seq };
    },
    async bundleActivated(mode, bundleHash) {
      if (!UNSAFE_MODES.has(mode)) return;
      await writer().recordAlert({
        type: ALERT_TYPES.BUNDLE_ACTIVATED_UNSAFE_MODE,
        severity: 'high',
        principal: null,
        detail: { mode, bundle_hash: bundleHash, rule: ALERT_TYPES.BUNDLE_ACTIVATED_UNSAFE_MODE },
      });
    },
    async chainVerificationFailed(detail) {
      // Every replica may watch the trail: the first to find a failure (its reason and first bad seq) in a cooldown window raises it.
      const key = `${String(detail.reason ?? '')}|${String(detail.first_bad_seq ?? '')}`;
      const alert = { type: ALERT_TYPES.CHAIN_VERIFICATION_FAILED, severity: 'high' as const, key, detail };
      if (!(await firstRaise(alert, deps.clock.now().getTime()))) return;
      await writer().recordAlert({ type: alert.type, severity: alert.severity, principal: null, detail: { ...detail, rule: alert.type } });
    },
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await Promise.allSettled([...pending]);
      // The rows since the last sync first, so the snapshot covers the trail as it stands.
      if (live)
        await sync()
          .then(saveSnapshot)
          .catch((err: unknown) => deps.logger.warn({ err: (err as { code?: string }).code ?? 'error' }, 'monitor: the snapshot was not saved'));
      await deps.snapshots?.close();
    },
  };
}

/** The user of a row, as a principal for an alert row that names them. */
function principalOf(r: AuditRecord): Principal {
  return { sub: r.user.sub ?? '', iss: r.user.iss ?? '', email: r.user.email, tenant: r.user.tenant, sessionId: r.user.session_id, roles: [], groups: [] };
}
