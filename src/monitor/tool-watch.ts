/**
 * Drift quarantine: the tools this replica's upstreams list now, against the definitions
 * approved in the trail. A tool seen for the first time is approved as it is (trust on first
 * use, an admin row); a tool whose definition then differs from its approved one is
 * quarantined (not listed, not callable: `tool_definition_changed`) and alerted once per new
 * definition, until an admin approves the new one. An upstream listed in `alertOnly` is
 * alerted but not quarantined.
 */
import type { UpstreamPool } from '../kernel/index.js';
import { definitionOf, diffDefinitions, hashDefinition } from './tool-definitions.js';
import type { TrailState } from './trail-state.js';
import type { InventoryTool, ToolDefinitionView } from './types.js';

export interface CurrentTool {
  readonly server: string;
  readonly name: string;
  readonly hash: string;
  readonly definition: Record<string, unknown>;
}

/** What a look at the upstreams' tools found to write: approvals of new tools, alerts of changed ones. */
export interface ToolFindings {
  readonly firstSeen: CurrentTool[];
  readonly changed: Array<CurrentTool & { readonly approved: ToolDefinitionView }>;
}

export interface ToolWatch {
  /** Re-reads the upstreams' tool lists; returns what is new since the last look. */
  refresh(): ToolFindings;
  /** True when this tool's current definition is not the approved one (and its upstream quarantines). */
  quarantined(server: string, name: string): boolean;
  /** The current definition of a tool, if an upstream lists it. */
  current(server: string, name: string): CurrentTool | undefined;
  /** The inventory view of one upstream's tools. */
  toolsOf(server: string, calls: ReadonlyMap<string, number> | undefined): InventoryTool[];
}

export function createToolWatch(upstreams: Pick<UpstreamPool, 'listTools'>, state: TrailState, alertOnly: ReadonlySet<string>): ToolWatch {
  const current = new Map<string, CurrentTool>();
  /** `key|hash` of changes already alerted, and keys whose first approval is being written. */
  const alerted = new Set<string>();
  const approving = new Set<string>();

  function refresh(): ToolFindings {
    current.clear();
    for (const { server, tool } of upstreams.listTools()) {
      const definition = definitionOf(tool);
      current.set(`${server}/${tool.name}`, { server, name: tool.name, hash: hashDefinition(definition), definition });
    }
    const findings: ToolFindings = { firstSeen: [], changed: [] };
    for (const [key, tool] of current) {
      const approved = state.approved.get(key);
      if (!approved) {
        if (!approving.has(key)) findings.firstSeen.push(tool);
        approving.add(key);
      } else if (approved.hash !== tool.hash && !alerted.has(`${key}|${tool.hash}`)) {
        alerted.add(`${key}|${tool.hash}`);
        findings.changed.push({ ...tool, approved });
      }
    }
    return findings;
  }

  function quarantined(server: string, name: string): boolean {
    if (alertOnly.has(server)) return false;
    const key = `${server}/${name}`;
    const tool = current.get(key);
    const approved = state.approved.get(key);
    return tool !== undefined && approved !== undefined && approved.hash !== tool.hash;
  }

  function toolsOf(server: string, calls: ReadonlyMap<string, number> | undefined): InventoryTool[] {
    return [...current.values()]
      .filter((t) => t.server === server)
      .map((t): InventoryTool => {
        const approved = state.approved.get(`${server}/${t.name}`);
        const changed = approved !== undefined && approved.hash !== t.hash;
        return {
          name: t.name,
          hash: t.hash,
          status: !changed ? 'approved' : alertOnly.has(server) ? 'changed_alert_only' : 'quarantined',
          ...(approved ? { approved } : {}),
          ...(changed ? { pending: { hash: t.hash, definition: t.definition }, diff: diffDefinitions(approved.definition, t.definition) } : {}),
          calls: calls?.get(t.name) ?? 0,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  return { refresh, quarantined, current: (server, name) => current.get(`${server}/${name}`), toolsOf };
}
