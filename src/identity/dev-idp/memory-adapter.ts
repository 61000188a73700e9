/** DEV ONLY: the dev provider's state (sessions, grants, codes) in process memory, dropped on close. */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { isClientIdUrl } from './client-metadata.js';
import type { ClientMetadataResolver } from './client-metadata.js';

interface Entry {
  readonly payload: AdapterPayload;
  readonly expiresAt: number;
}

/**
 * Returns an adapter class whose instances share one store per provider. A `Client` id that is
 * a URL is resolved as a client ID metadata document by `resolveClient`, never stored.
 */
export function createMemoryAdapter(resolveClient?: ClientMetadataResolver): new (name: string) => Adapter {
  const store = new Map<string, Entry>();
  const grants = new Map<string, Set<string>>();

  const read = (key: string): AdapterPayload | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  return class MemoryAdapter implements Adapter {
    readonly #name: string;

    constructor(name: string) {
      this.#name = name;
    }

    #key(id: string): string {
      return `${this.#name}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.#key(id);
      store.set(key, { payload: { ...payload }, expiresAt: Date.now() + expiresIn * 1000 });
      if (payload.grantId) {
        const keys = grants.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        grants.set(payload.grantId, keys);
      }
      if (payload.uid) store.set(`${this.#name}:uid:${payload.uid}`, { payload: { id } as AdapterPayload, expiresAt: Date.now() + expiresIn * 1000 });
      if (payload.userCode)
        store.set(`${this.#name}:userCode:${payload.userCode}`, { payload: { id } as AdapterPayload, expiresAt: Date.now() + expiresIn * 1000 });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.#name === 'Client' && resolveClient && isClientIdUrl(id)) return resolveClient(id);
      return read(this.#key(id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const ref = read(`${this.#name}:uid:${uid}`) as { id?: string } | undefined;
      return ref?.id === undefined ? undefined : read(this.#key(ref.id));
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const ref = read(`${this.#name}:userCode:${userCode}`) as { id?: string } | undefined;
      return ref?.id === undefined ? undefined : read(this.#key(ref.id));
    }

    async consume(id: string): Promise<void> {
      const key = this.#key(id);
      const entry = store.get(key);
      if (entry) store.set(key, { ...entry, payload: { ...entry.payload, consumed: Math.floor(Date.now() / 1000) } });
    }

    async destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}
