import type { FiefUserInfo } from '../client/types.js';
import { isFiefStore, type FiefStore } from './fief-store.interface.js';
import { InMemoryFiefStore } from './in-memory-fief-store.js';

/** The user info cache shape (`FiefUserInfoCache`), restated so this folder stays below `auth/`. */
interface UserInfoCache {
  get(key: string): Promise<FiefUserInfo | undefined> | FiefUserInfo | undefined;
  set(key: string, user: FiefUserInfo, ttl: number): Promise<unknown> | unknown;
  delete(key: string): Promise<unknown> | unknown;
}

/** How often a failing store is reported, at most: a Redis outage must not write a log line per request. */
const REPORT_EVERY_MS = 10_000;

/**
 * User info kept in a shared {@link FiefStore}, so what one instance fetched from Fief the others
 * reuse, with a copy in this instance's `local` cache that serves while the store is down.
 *
 * The shared store is read first: after a profile change one instance forgets the entry, and the
 * others must not keep serving their copy. The local copy is read only when the store fails.
 */
export class FiefStoreUserInfoCache implements UserInfoCache {
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: FiefStore,
    private readonly local: UserInfoCache,
    /** Told (at most every 10 s) that the store failed and the local copy was used. */
    private readonly onStoreError: (error: unknown) => void = () => undefined,
  ) {}

  async get(key: string): Promise<FiefUserInfo | undefined> {
    let raw: string | undefined;
    try {
      raw = await this.store.get(key);
    } catch (error) {
      this.report(error);
      return this.local.get(key);
    }
    const entry = raw === undefined ? undefined : parse(raw);
    if (!entry) return undefined;
    const ttl = entry.expiresAt - Date.now();
    if (ttl <= 0) return undefined;
    // Keep a local copy for a store outage; it never outlives the shared entry.
    await this.local.set(key, entry.user, ttl);
    return entry.user;
  }

  async set(key: string, user: FiefUserInfo, ttl: number): Promise<void> {
    await this.local.set(key, user, ttl);
    try {
      await this.store.set(key, JSON.stringify({ user, expiresAt: Date.now() + ttl }), ttl);
    } catch (error) {
      this.report(error);
    }
  }

  async delete(key: string): Promise<void> {
    await this.local.delete(key);
    try {
      await this.store.delete(key);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    const now = Date.now();
    if (now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    this.onStoreError(error);
  }
}

/** A stored entry, or `undefined` for anything else (an entry written by another program is ignored, not trusted). */
function parse(raw: string): { user: FiefUserInfo; expiresAt: number } | undefined {
  try {
    const entry = JSON.parse(raw) as { user?: unknown; expiresAt?: unknown };
    const user = entry?.user as FiefUserInfo | undefined;
    if (typeof entry?.expiresAt !== 'number' || typeof user !== 'object' || user === null || typeof user.sub !== 'string') return undefined;
    return { user, expiresAt: entry.expiresAt };
  } catch {
    return undefined;
  }
}

/**
 * The user info cache for the module's `store`: `local` alone when there is no shared store (the
 * in-memory store would only add a copy), else the shared cache over `local`.
 */
export function createUserInfoCache<Cache extends UserInfoCache>(
  store: unknown,
  local: Cache,
  logger: { warn(message: string): void },
): Cache | FiefStoreUserInfoCache {
  if (!isFiefStore(store) || store instanceof InMemoryFiefStore) return local;
  return new FiefStoreUserInfoCache(store, local, (error) =>
    logger.warn(`The FiefStore failed; user info is cached per instance meanwhile: ${(error as Error)?.message}`),
  );
}
