/**
 * Where the module keeps state that must hold across every instance of the app behind a load
 * balancer: used login states (single use), user info, session-refresh locks and their results,
 * accepted webhook deliveries. Values are strings; keys are already namespaced and never hold a
 * secret in clear (tokens and states are hashed first).
 *
 * Implement it over any shared store whose "set if absent" is atomic. Every method may reject (the
 * store is down): the module then fails closed where a promise needs the store (login callback,
 * webhook replay check: 503) and falls back to this instance's memory where it only saves work.
 *
 * @example
 * // Memcached, DynamoDB, a SQL table …: anything with an atomic "add"
 * const store: FiefStore = {
 *   get: async (key) => (await db.get(key)) ?? undefined,
 *   set: async (key, value, ttl) => void (await db.put(key, value, { ttlMs: ttl })),
 *   setIfAbsent: (key, value, ttl) => db.add(key, value, { ttlMs: ttl }), // true when added
 *   delete: async (key) => void (await db.delete(key)),
 * };
 */
export interface FiefStore {
  /** The value of `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` for `ttl` milliseconds, replacing any value. */
  set(key: string, value: string, ttl: number): Promise<void>;
  /**
   * Stores `value` under `key` for `ttl` milliseconds only if `key` holds nothing; `true` when it
   * did. Must be atomic across instances: single use rests on it.
   */
  setIfAbsent(key: string, value: string, ttl: number): Promise<boolean>;
  /** Forgets `key` (nothing happens when it is absent). */
  delete(key: string): Promise<void>;
}

/** Whether `value` has the four methods of a {@link FiefStore}. */
export function isFiefStore(value: unknown): value is FiefStore {
  const store = value as Partial<FiefStore> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    ['get', 'set', 'setIfAbsent', 'delete'].every((name) => typeof store[name as keyof FiefStore] === 'function')
  );
}
