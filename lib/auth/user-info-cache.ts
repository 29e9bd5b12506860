import type { FiefUserInfo } from '../client/types.js';

/**
 * Where `@CurrentUser()` keeps the user info fetched from Fief. The default lives in memory; give
 * your own to share it between instances (keys are hashes of access tokens, never tokens).
 *
 * @example
 * // with @nestjs/cache-manager (Redis or any other Keyv store)
 * FiefModule.forRootAsync({
 *   imports: [CacheModule.register()],
 *   inject: [CACHE_MANAGER],
 *   useFactory: (cache: Cache) => ({
 *     baseURL, clientId, clientSecret,
 *     userInfoCache: { get: (key) => cache.get(key), set: (key, user, ttl) => cache.set(key, user, ttl), delete: (key) => cache.del(key) },
 *   }),
 * })
 */
export interface FiefUserInfoCache {
  /** The cached user info, or `undefined` when absent or expired. */
  get(key: string): Promise<FiefUserInfo | undefined> | FiefUserInfo | undefined;
  /** Stores the user info for `ttl` milliseconds (already capped at the token's expiry). */
  set(key: string, user: FiefUserInfo, ttl: number): Promise<unknown> | unknown;
  /** Forgets the entry (after the user's profile changed). */
  delete(key: string): Promise<unknown> | unknown;
}

/**
 * The default {@link FiefUserInfoCache}: in memory, bounded, least recently used entry evicted first.
 * Expired entries are dropped when read or when room is needed.
 */
export class InMemoryFiefUserInfoCache implements FiefUserInfoCache {
  private readonly entries = new Map<string, { user: FiefUserInfo; expiresAt: number }>();

  constructor(private readonly maxEntries = 1000) {}

  /** Number of entries held, expired ones included until they are dropped. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): FiefUserInfo | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    this.entries.set(key, entry); // most recently used goes last
    return entry.user;
  }

  set(key: string, user: FiefUserInfo, ttl: number): void {
    if (!(ttl > 0)) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { user, expiresAt: Date.now() + ttl });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Maps iterate in insertion order, and reads re-insert: the first key is the least recently used.
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
