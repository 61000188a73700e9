/**
 * The tools the configured upstreams list, read once (for `custos policy init --from-upstreams`):
 * the upstreams are started or connected as `serve` would (the same outbound TLS and pins),
 * listed, and closed. An upstream that cannot be reached is an error naming it.
 */
import type { ResolvedConfig } from '../config/index.js';
import { CustosError } from '../kernel/index.js';
import type { UpstreamTool } from '../kernel/index.js';
import { createUpstreamPool } from '../upstream/index.js';
import type { Logger } from './logger.js';
import { createOutbound } from './outbound.js';

export async function listUpstreamTools(config: ResolvedConfig, logger: Logger): Promise<UpstreamTool[]> {
  const outbound = createOutbound(config, () => undefined);
  try {
    const pool = await createUpstreamPool(outbound.upstreams, {
      logger,
      tokens: { issue: () => Promise.reject(new CustosError('ERR_INTERNAL', 'no upstream tokens while listing tools')) },
    });
    try {
      const down = pool.status().filter((s) => s.state !== 'ready');
      if (down.length > 0) throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE', `Upstream(s) not reachable: ${down.map((s) => s.name).join(', ')}.`);
      return pool.listTools();
    } finally {
      await pool.close();
    }
  } finally {
    await outbound.close();
  }
}
