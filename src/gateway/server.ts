/** Runs a gateway on a node:http server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from './gateway.js';

export interface GatewayServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, closes MCP sessions and open connections. */
  close(): Promise<void>;
}

export async function startGatewayServer(gateway: Gateway, options: { host: string; port: number }): Promise<GatewayServer> {
  const server = createServer(gateway.handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
