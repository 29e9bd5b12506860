/**
 * Storage for oidc-provider, one per dev server. oidc-provider's built-in memory adapter keeps a
 * single module-wide store capped at 1000 entries, so two dev servers in one test process would see
 * each other's codes and grants, and a load test would lose them: this one is private and unbounded
 * but for expiry.
 */
type Payload = Record<string, unknown> & { grantId?: string; uid?: string; userCode?: string; consumed?: number };

interface Entry {
  payload: Payload;
  expiresAt: number;
}

/**
 * The adapter class oidc-provider instantiates once per model name, bound to one shared map.
 * Clients are looked up through `findClient` rather than configured statically: oidc-provider
 * copies static client metadata with `structuredClone`, whose objects come from Node's own realm and
 * fail its plain-object checks under Jest's VM context (an encrypting client could not be used in a
 * Jest test otherwise).
 */
export function createMemoryAdapter(
  findClient: (clientId: string) => Record<string, unknown> | undefined,
): new (model: string) => object {
  const entries = new Map<string, Entry>();
  const live = (key: string): Payload | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  return class DevServerAdapter {
    constructor(private readonly model: string) {}

    private key(id: string) {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number) {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
      entries.set(this.key(id), { payload, expiresAt });
    }

    async find(id: string) {
      if (this.model === 'Client') return findClient(id);
      return live(this.key(id));
    }

    async findByUid(uid: string) {
      for (const [key, entry] of entries) {
        if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) return live(key);
      }
      return undefined;
    }

    async findByUserCode(userCode: string) {
      for (const [key, entry] of entries) {
        if (key.startsWith(`${this.model}:`) && entry.payload.userCode === userCode) return live(key);
      }
      return undefined;
    }

    async consume(id: string) {
      const payload = live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string) {
      entries.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string) {
      for (const [key, entry] of entries) {
        if (entry.payload.grantId === grantId) entries.delete(key);
      }
    }
  };
}
