/**
 * The `EvidencePort` the gateway serves at `/v1/evidence/*`: the checklist evaluated live (at most
 * once a minute: reads in between, and reads while an evaluation runs, get its answer), packs
 * written into `evidence.dir/<id>/` (no PDF: that is `custos evidence`'s, where Chromium runs),
 * the packs there, and the files each pack's manifest lists (nothing else is served).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { AuditStoreAdmin } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { FILES, evaluateDeployment, manifestFiles, writePack } from '../evidence/index.js';
import type { Framework } from '../evidence/index.js';
import type { EvidencePort } from '../gateway/index.js';
import { createEvidenceSources } from './evidence-sources.js';
import type { EvidenceKeys, EvidenceSourceOptions } from './evidence-sources.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
};

/** How long one evaluation of the checklist (a whole-trail read and check, and the control tests' processes) answers reads. */
export const CHECKLIST_TTL_MS = 60_000;

/**
 * `fn`'s answer, shared by every call while it runs and for `ttlMs` after it resolves (`now` in
 * ms); a failure is not kept, so the next call tries again.
 */
export function cachedFor<T>(ttlMs: number, now: () => number, fn: () => Promise<T>): () => Promise<T> {
  let last: { value: Promise<T>; until: number } | undefined;
  return () => {
    if (last && now() < last.until) return last.value;
    const entry = { value: fn(), until: Infinity };
    last = entry;
    entry.value.then(
      () => void (entry.until = now() + ttlMs),
      () => void (last === entry && (last = undefined)),
    );
    return entry.value;
  };
}

export function createEvidenceService(
  config: ResolvedConfig,
  store: AuditStoreAdmin,
  keys: EvidenceKeys,
  options: Pick<EvidenceSourceOptions, 'sessions'> = {},
): EvidencePort {
  const dir = config.evidence.dir;
  const packDir = (id: string): string | undefined => {
    const full = path.join(dir, id);
    return /^[A-Za-z0-9._-]+$/.test(id) && existsSync(path.join(full, FILES.manifest)) ? full : undefined;
  };
  const checklist = cachedFor(CHECKLIST_TTL_MS, Date.now, async () => {
    const sources = await createEvidenceSources(config, store, keys, { ...options, tls: false });
    const { checklist: boxes } = await evaluateDeployment(sources);
    return { generated_at: sources.now.toISOString(), bundle_hash: sources.bundle?.bundleHash ?? 'none', boxes };
  });
  return {
    roles: config.audit.search.roles,
    adminRoles: config.identity.admin.roles,
    checklist,
    async createPack(request) {
      const sources = await createEvidenceSources(config, store, keys, options);
      const id = `${sources.now.toISOString().replace(/[:.]/g, '-')}-${request.framework}-${randomBytes(4).toString('hex')}`;
      const pack = await writePack(sources, {
        framework: request.framework as Framework,
        out: path.join(dir, id),
        controlTests: request.liveTests,
        ...(request.from ? { from: new Date(request.from) } : {}),
        ...(request.to ? { to: new Date(request.to) } : {}),
      });
      return {
        id,
        framework: request.framework,
        manifest_sha256: pack.manifestSha256,
        files: pack.files,
        checklist: { generated_at: sources.now.toISOString(), bundle_hash: sources.bundle?.bundleHash ?? 'none', boxes: pack.checklist },
      };
    },
    async listPacks() {
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((id) => packDir(id))
        .sort()
        .map((id) => {
          const m = manifestFiles(path.join(dir, id));
          const matrix = JSON.parse(readFileSync(path.join(dir, id, FILES.matrix), 'utf8')) as { framework: string };
          return { id, framework: matrix.framework, created_at: m.createdAt, manifest_sha256: m.manifestSha256 };
        });
    },
    async file(pack, rel) {
      const full = packDir(pack);
      if (!full) return undefined;
      const listed = manifestFiles(full).files.some((f) => f.path === rel);
      if (!listed) return undefined;
      return { bytes: readFileSync(path.join(full, rel)), contentType: TYPES[path.extname(rel)] ?? 'application/octet-stream' };
    },
  };
}
