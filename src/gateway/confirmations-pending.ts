/**
 * The confirmations pending right now (the console's reviews page, through
 * `GET /v1/confirmations/pending`): MCP elicitation prompts waiting for the user's answer, which
 * live with this replica's stream (so each replica lists its own), and decision-API holds
 * (`POST /v1/authorize` decided `confirm`) waiting for `POST /v1/confirmations`, which live in the
 * shared store (every replica's). The answer's `scope` says so, by channel.
 */
import type { Authorization } from '../kernel/index.js';

export interface PendingConfirmation {
  readonly request_id: string;
  /** `mcp_elicitation` or `api`. */
  readonly channel: string;
  readonly user: string | null;
  readonly agent: string;
  readonly tool: string;
  readonly reasons: readonly string[];
  readonly since: string;
  readonly expires_at: string;
}

export function pendingView(auth: Authorization, channel: string, since: Date, expiresAt: Date): PendingConfirmation {
  const { call } = auth;
  return {
    request_id: call.requestId,
    channel,
    user: call.principal?.email ?? call.principal?.sub ?? null,
    agent: call.agent.name,
    tool: `${call.tool.server}/${call.tool.name}`,
    reasons: auth.decision.reasons,
    since: since.toISOString(),
    expires_at: expiresAt.toISOString(),
  };
}

/** MCP prompts in flight: `hold` when asked, the returned function when answered (or abandoned). */
export function createPromptRegistry(now: () => Date = () => new Date()): {
  hold(auth: Authorization, channel: string, timeoutMs: number): () => void;
  list(): PendingConfirmation[];
} {
  const held = new Map<symbol, PendingConfirmation>();
  return {
    hold(auth, channel, timeoutMs) {
      const key = Symbol(auth.call.requestId);
      const since = now();
      held.set(key, pendingView(auth, channel, since, new Date(since.getTime() + timeoutMs)));
      return () => void held.delete(key);
    },
    list: () => [...held.values()],
  };
}
