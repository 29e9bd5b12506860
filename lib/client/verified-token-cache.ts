import { fiefCacheStats, type FiefCacheStats } from '../telemetry/index.js';
import type { FiefAccessTokenInfo } from './types.js';

interface Entry {
  /** The whole token: the key is only its end. */
  token: string;
  info: FiefAccessTokenInfo;
  expiresAt: number;
  bytes: number;
  /** Second-chance bit: set on a hit, so eviction spares recently used entries once. */
  used: boolean;
}

/**
 * Bytes an entry holds besides the characters of its token, id, scopes and permissions: the string
 * headers (a token cut from its header is a slice of it), the frozen info and its arrays, the entry and
 * the Map slot and the key slice. Measured on Node 20 with 10,000 entries of 770-character tokens:
 * about 1,580 heap bytes an entry before the key slice, about 1,640 with it, so `maxBytes` bounds
 * the heap, not just the token text.
 */
const ENTRY_OVERHEAD = 840;

/**
 * Entries are keyed by the token's last 64 characters (384 bits of its signature), then compared
 * whole: a lookup hashes 64 characters rather than the 800-1,200 of a token, which is most of a hit's
 * cost. A look-alike with the same end finds the entry, fails the comparison, and is a miss.
 */
const KEY_CHARS = 64;
const keyOf = (token: string) => (token.length > KEY_CHARS ? token.slice(-KEY_CHARS) : token);

/**
 * Access tokens whose signature and claims were verified, with what they grant. It only saves
 * the signature check and claim parsing: requirements (scope, ACR, permissions) are checked on every
 * call, never cached as a verdict.
 *
 * A hit is one Map lookup (on the token's end, then the whole token compared), a clock comparison and
 * a flag write: no allocation beyond the key's slice. Bounded by entry count and by bytes; eviction is
 * CLOCK-like (second chance) from the oldest insertion, which approximates LRU without reordering the
 * Map on every hit.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Hits and misses for telemetry: plain increments, read only when an OpenTelemetry reader collects. */
  private readonly stats: FiefCacheStats;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    /** The tenant counted under, when the module serves several. */
    tenant?: string,
  ) {
    this.stats = fiefCacheStats('verified_token', tenant);
  }

  /** Number of cached tokens. */
  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held. */
  get totalBytes(): number {
    return this.bytes;
  }

  /** The info of a verified token that has not reached `expiresAt` yet. */
  get(token: string, now: number): FiefAccessTokenInfo | undefined {
    // Callers may hand in anything (a missing header is `undefined`): never a cache key.
    if (typeof token !== 'string') return undefined;
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(key, entry);
      return undefined;
    }
    entry.used = true;
    this.stats.hits++;
    return entry.info;
  }

  /**
   * Counts a lookup that found nothing and sent the token to verification. Counted by the verifier,
   * not by {@link get}: a guard that reads the cache, then verifies, looks twice for one miss.
   */
  countMiss(): void {
    this.stats.misses++;
  }

  /** Remembers a verified token until `expiresAt` (epoch ms) at the latest. */
  set(token: string, info: FiefAccessTokenInfo, expiresAt: number, now: number): void {
    if (expiresAt <= now) return;
    const bytes = estimateBytes(token, info);
    if (bytes > this.maxBytes || this.maxEntries < 1) return;
    const key = keyOf(token);
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    this.entries.set(key, { token, info, expiresAt, bytes, used: false });
    this.bytes += bytes;
    this.evict(now);
  }

  /** Forgets every token. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private evict(now: number): void {
    // Each pass either removes an entry or clears a used bit, so this ends within two laps.
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const [key, entry] = this.entries.entries().next().value as [string, Entry];
      if (entry.used && entry.expiresAt > now) {
        entry.used = false;
        this.entries.delete(key);
        this.entries.set(key, entry);
      } else {
        this.remove(key, entry);
      }
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

function estimateBytes(token: string, info: FiefAccessTokenInfo): number {
  let bytes = ENTRY_OVERHEAD + token.length + info.id.length;
  for (const scope of info.scope) bytes += scope.length + 16;
  for (const permission of info.permissions) bytes += permission.length + 16;
  return bytes;
}
