/**
 * The deployment as users run it (deploy/kubernetes, Dockerfile): the manifests render (with
 * `kubectl kustomize` when kubectl is on the machine, else file by file from the
 * kustomization's resources), the Deployment has liveness and readiness probes on /healthz and
 * /readyz, runs non-root on a read-only root filesystem with secrets by reference only, a
 * PodDisruptionBudget covers its pods, and the config and bundle it mounts, laid out as the pod
 * sees them, pass `custos serve --check` and load as a bundle. The image itself is not built
 * here (Docker may not run in CI); its Dockerfile is checked for the same rules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadBundle } from '../src/policy/index.js';
import { repoRoot } from './e2e/harness.js';

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

const dir = path.join(repoRoot, 'deploy/kubernetes');

function render(): K8sObject[] {
  const kubectl = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  const text =
    kubectl.status === 0
      ? kubectl.stdout
      : (parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources
          .map((f) => readFileSync(path.join(dir, f), 'utf8'))
          .join('\n---\n');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
}

describe('the Kubernetes manifests and the Dockerfile', () => {
  const objects = render();
  const find = (kind: string, name?: string): K8sObject => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name))!;
  const deployment = find('Deployment', 'custos');
  interface Container {
    livenessProbe: { httpGet: { path: string } };
    readinessProbe: { httpGet: { path: string } };
    securityContext: Record<string, unknown>;
    env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
    volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
  }
  interface Volume {
    name: string;
    configMap?: { name: string; items?: Array<{ key: string; path: string }> };
    secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  }
  type Pod = { securityContext: Record<string, unknown>; containers: Container[]; volumes: Volume[] };
  const pod = (deployment.spec as { template: { spec: Pod } }).template.spec;
  const container = pod.containers[0]!;
  const scratch = mkdtempSync(path.join(tmpdir(), 'custos-deploy-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('probe /healthz and /readyz, run non-root on a read-only root filesystem, and take secrets by reference', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    for (const e of container.env) expect(e.value, e.name).toBeUndefined();
    expect(container.env).toContainEqual({ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'custos-postgres', key: 'password' } } });
    expect(find('Secret')).toBeUndefined(); // no secret values in the manifests
    // The checkpoint key is a Secret mounted as a file the config references, readable by the pod's group only.
    const key = pod.volumes.find((v) => v.secret?.secretName === 'custos-checkpoint-key');
    expect(key?.secret).toMatchObject({ defaultMode: 0o440, items: [{ key: 'checkpoint.pem', path: 'checkpoint.pem' }] });
    expect(container.volumeMounts).toContainEqual({ name: key!.name, mountPath: '/etc/custos/keys', readOnly: true });
    const cfg = parse(find('ConfigMap', 'custos-config').data!['custos.yaml']!) as { audit: { checkpoints?: { signingKey?: string } } };
    expect(cfg.audit.checkpoints?.signingKey).toBe('file:/etc/custos/keys/checkpoint.pem');
  });

  it('keep two replicas through a voluntary disruption', () => {
    const pdb = find('PodDisruptionBudget', 'custos');
    expect(pdb.spec).toMatchObject({ minAvailable: 2, selector: (deployment.spec as { selector: unknown }).selector });
    expect((deployment.spec as { replicas: number }).replicas).toBeGreaterThan(2);
  });

  it('mount a config that passes `custos serve --check`, on PostgreSQL, and a bundle that loads', async () => {
    // Lay the ConfigMaps out where the pod mounts them, under `scratch` as the root.
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((v) => v.name === mount.name)!;
      if (volume.secret) {
        // A Secret's value is the operator's: a fresh Ed25519 key stands in for it.
        for (const item of volume.secret.items ?? []) {
          mkdirSync(path.join(scratch, mount.mountPath), { recursive: true });
          const { privateKey } = generateKeyPairSync('ed25519');
          writeFileSync(path.join(scratch, mount.mountPath, item.path), privateKey.export({ type: 'pkcs8', format: 'pem' }));
        }
        continue;
      }
      if (!volume.configMap) continue;
      const data = find('ConfigMap', volume.configMap.name).data!;
      const target = path.join(scratch, mount.mountPath);
      if (mount.subPath) {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, data[mount.subPath]!);
        continue;
      }
      const items = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        mkdirSync(path.dirname(path.join(target, item.path)), { recursive: true });
        writeFileSync(path.join(target, item.path), data[item.key]!);
      }
    }
    const configFile = path.join(scratch, 'etc/custos/custos.yaml');
    // The config names absolute paths in the pod: check it with those paths under `scratch`.
    const config = readFileSync(configFile, 'utf8')
      .replaceAll('/etc/custos/', `${scratch}/etc/custos/`)
      .replaceAll('/var/lib/custos/', `${scratch}/var/lib/custos/`);
    writeFileSync(configFile, config);
    expect((parse(config) as { audit: { store: string } }).audit.store).toMatch(/^postgres:\/\/[^:@]+@/); // no password in the URL
    const out = execFileSync(process.execPath, [path.join(repoRoot, 'bin/custos.js'), 'serve', '--check', '--config', configFile], { encoding: 'utf8' });
    expect(out).toContain(': ok');
    const bundle = await loadBundle(path.join(scratch, 'etc/custos/bundle'));
    expect(bundle.bundleHash).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('build the image in stages and run it as a non-root user', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/COPY --from=build/);
  });

  it('build the SDK and the console in the build stage and carry the SDK check the evidence pack runs', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    const [build = '', image = ''] = dockerfile.split(/^FROM .*$/m).slice(1);
    expect(build).toMatch(/^COPY sdk \.\/sdk$/m);
    expect(build).toMatch(/^COPY console \.\/console$/m);
    expect(build.indexOf('COPY sdk')).toBeLessThan(build.indexOf('RUN npm run build'));
    expect(image).toMatch(/^COPY --from=build \/src\/sdk\/dist \.\/sdk\/dist$/m);
    expect(image).toMatch(/^COPY --from=build \/src\/sdk\/package\.json \.\/sdk\/package\.json$/m);
    // npm run build compiles the SDK: the check the pack runs is where the image carries it.
    const scripts = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: { build: string } }).scripts;
    expect(scripts.build).toContain('tsc -p sdk/tsconfig.json');
    expect(existsSync(path.join(repoRoot, 'sdk/src/fail-closed-check.ts'))).toBe(true);
  });
});
