import type { Adapter, AdapterPayload, ClientMetadata } from 'oidc-provider';

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

interface Stored {
  payload: AdapterPayload;
  expiresAt: number;
}

/**
 * node-oidc-provider's storage, in memory and private to one sandbox (its bundled memory adapter
 * shares one LRU across every provider in the process). Returns the adapter factory for the
 * `adapter` setting, and `upsertClient` to register clients after start.
 */
export function memoryStorage() {
  const rows = new Map<string, Stored>();
  const grants = new Map<string, Set<string>>();
  const sessionsByUid = new Map<string, string>();
  const live = (key: string): AdapterPayload | undefined => {
    const row = rows.get(key);
    if (!row) return undefined;
    if (row.expiresAt <= Date.now()) {
      rows.delete(key);
      return undefined;
    }
    return row.payload;
  };

  class SandboxAdapter implements Adapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const key = this.key(id);
      if (this.model === 'Session' && payload.uid) sessionsByUid.set(payload.uid, id);
      if (GRANTABLE.has(this.model) && payload.grantId) {
        const keys = grants.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        grants.set(payload.grantId, keys);
      }
      rows.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY });
    }
    async find(id: string) {
      return live(this.key(id));
    }
    async findByUid(uid: string) {
      const id = sessionsByUid.get(uid);
      return id ? live(this.key(id)) : undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const payload = live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      rows.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) rows.delete(key);
      grants.delete(grantId);
    }
  }

  return {
    Adapter: SandboxAdapter,
    /** Registers (or replaces) a client, e.g. a Gatehouse whose callback URL is known only now. */
    upsertClient: (metadata: ClientMetadata & { client_id: string }) => new SandboxAdapter('Client').upsert(metadata.client_id, metadata as AdapterPayload),
  };
}
