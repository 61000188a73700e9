/**
 * Replicas on one PostgreSQL follow each other's activations: a replica that activates a
 * bundle NOTIFYs `custos_policy` with its hash; every other replica LISTENs and checks its
 * source at once (its watched directory or its git branch) instead of waiting for the poll.
 * A listener that drops reconnects after a second; the poll keeps following meanwhile.
 */
import pg from 'pg';

export const POLICY_CHANNEL = 'custos_policy';

export interface PolicyNotifier {
  publish(bundleHash: string): void;
  close(): Promise<void>;
}

export async function createPostgresPolicyNotifier(
  url: string,
  onNotice: (bundleHash: string) => void,
  onError: (err: unknown) => void,
): Promise<PolicyNotifier> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined)); // a checked-out client's too (see src/audit/postgres-store.ts)
  let listener: pg.Client | undefined;
  let closed = false;
  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    let dropped = false;
    // Once per client: a lost connection, or a failed reconnect while the server is still away, tries again a second later.
    const drop = (): void => {
      if (dropped) return;
      dropped = true;
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      if (!closed) setTimeout(() => void listen().catch(onError), 1000).unref();
    };
    client.on('error', drop);
    client.on('notification', (msg) => {
      if (msg.channel === POLICY_CHANNEL && msg.payload && /^[0-9a-f]{64}$/.test(msg.payload)) onNotice(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${POLICY_CHANNEL}`);
      listener = client;
    } catch (err) {
      drop();
      throw err;
    }
  }
  try {
    await listen();
  } catch (err) {
    closed = true; // no retry for a notifier that did not open
    await pool.end().catch(() => undefined);
    throw err;
  }
  return {
    publish(bundleHash) {
      pool.query('SELECT pg_notify($1, $2)', [POLICY_CHANNEL, bundleHash]).catch(onError);
    },
    async close() {
      closed = true;
      await listener?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
