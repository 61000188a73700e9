/** The per-request context type, in a file of its own so the governed call and the session types need not import each other. */
import type { Principal } from '../../kernel/index.js';
import type { RuntimeHeaders } from '../shared/agent-runtime.js';

/** What the HTTP layer attaches to each MCP request (as authInfo.extra). */
export interface RequestContext {
  readonly principal: Principal;
  readonly declaredTier?: string;
  readonly traceId?: string;
  /** The client's `User-Agent` and SDK headers (inventory). */
  readonly runtime?: RuntimeHeaders;
}
