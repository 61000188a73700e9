/**
 * A real load balancer for the multi-replica tests and benchmarks: Debian's HAProxy, HTTP mode,
 * round-robin with no affinity of any kind, health-checking each replica's `/healthz` every
 * 250 ms (two failures take it out). A request that could not connect (a replica just killed) is retried on another one
 * (each request opens its own connection to a replica: a reused idle one to a replica killed since would fail the request
 * after it was sent, which is not retried);
 * nothing that reached a replica is retried.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Balancer {
  readonly url: string;
  close(): Promise<void>;
}

export function haproxyConfig(port: number, backends: readonly number[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout check 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure',
    '  http-reuse never',
    'frontend custos',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  default-server inter 250ms fall 2 rise 1',
    ...backends.map((p, i) => `  server r${i} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`HAProxy did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** HAProxy on 127.0.0.1:`port` in front of the replicas on `backends` (config written into `dir`). */
export async function startHaproxy(port: number, backends: readonly number[], dir: string): Promise<Balancer> {
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = once(child, 'exit').then(() => {
    throw new Error(`haproxy exited: ${stderr}`);
  });
  await Promise.race([waitForPort(port, 10_000), exited]);
  exited.catch(() => undefined);
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
