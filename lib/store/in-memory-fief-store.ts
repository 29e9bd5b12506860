import type { FiefStore } from './fief-store.interface.js';

/** Options of {@link InMemoryFiefStore}. */
export interface InMemoryFiefStoreOptions {
  /** Most entries held; the least recently written goes first when full. @default 10000 */
  maxEntries?: number;
}

/**
 * The default {@link FiefStore}: this process's memory, bounded, entries dropped when they expire.
 * Its promises hold for one instance only; give a shared store (e.g. {@link RedisFiefStore}) when
 * the app runs as several.
 */
export class InMemoryFiefStore implements FiefStore {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly maxEntries: number;

  constructor(options: InMemoryFiefStoreOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('InMemoryFiefStore: maxEntries must be a positive integer');
    this.maxEntries = max;
  }

  /** Number of entries held, expired ones included until they are dropped. */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value;
  }

  async set(key: string, value: string, ttl: number): Promise<void> {
    this.write(key, value, ttl);
  }

  async setIfAbsent(key: string, value: string, ttl: number): Promise<boolean> {
    // One event-loop turn from check to write: atomic within the process.
    if (this.live(key)) return false;
    this.write(key, value, ttl);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private live(key: string) {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttl: number): void {
    this.entries.delete(key);
    if (!(ttl > 0)) return;
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { value, expiresAt: Date.now() + ttl });
  }

  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Maps iterate in insertion order and writes re-insert: the first key is the oldest write.
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
