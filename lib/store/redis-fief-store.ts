import { FiefStoreUnavailableError } from './fief-store.errors.js';
import type { FiefStore } from './fief-store.interface.js';

/**
 * The one method {@link RedisFiefStore} needs from a Redis client: send a command, get its reply.
 * An `ioredis` client has it as is; adapt any other client in one line.
 *
 * @example
 * // node-redis (`redis` package) v4+
 * const client: RedisFiefStoreClient = { call: (command, args) => nodeRedis.sendCommand([command, ...args.map(String)]) };
 */
export interface RedisFiefStoreClient {
  call(command: string, args: (string | number)[]): Promise<unknown>;
}

/** Options of {@link RedisFiefStore}. */
export interface RedisFiefStoreOptions {
  /** Prepended to every key, to share a Redis database with other data. @default 'fief:' */
  prefix?: string;
  /**
   * Longest wait for one command, in milliseconds; past it the store counts as down. Keep it short:
   * `ioredis` queues commands while disconnected, and a request should not wait for a reconnect.
   * @default 1000
   */
  timeout?: number;
}

/**
 * A {@link FiefStore} in Redis, shared by every instance of the app. Single use rests on Redis's
 * atomic `SET key value NX PX ttl`; entries expire in Redis (`PX`), so nothing needs sweeping.
 * Any failure or timeout rejects with {@link FiefStoreUnavailableError}.
 *
 * @example
 * import Redis from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
 * FiefModule.forRoot({ ...fief, store: new RedisFiefStore(redis, { prefix: 'fief:' }) });
 */
export class RedisFiefStore implements FiefStore {
  private readonly prefix: string;
  private readonly timeout: number;

  constructor(
    private readonly redis: RedisFiefStoreClient,
    options: RedisFiefStoreOptions = {},
  ) {
    if (typeof redis?.call !== 'function') {
      throw new TypeError('RedisFiefStore needs an ioredis client (or any object with call(command, args)); see the README.');
    }
    this.prefix = options.prefix ?? 'fief:';
    this.timeout = options.timeout ?? 1000;
    if (typeof this.prefix !== 'string') throw new TypeError('RedisFiefStore: prefix must be a string');
    if (!(Number.isFinite(this.timeout) && this.timeout > 0)) throw new TypeError('RedisFiefStore: timeout must be a positive number of ms');
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.command('GET', [this.prefix + key]);
    if (value === null || value === undefined) return undefined;
    return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }

  async set(key: string, value: string, ttl: number): Promise<void> {
    await this.command('SET', [this.prefix + key, value, 'PX', milliseconds(ttl)]);
  }

  async setIfAbsent(key: string, value: string, ttl: number): Promise<boolean> {
    // SET … NX answers OK when it wrote, nil when the key was there: one atomic command.
    const reply = await this.command('SET', [this.prefix + key, value, 'PX', milliseconds(ttl), 'NX']);
    return reply !== null && reply !== undefined;
  }

  async delete(key: string): Promise<void> {
    await this.command('DEL', [this.prefix + key]);
  }

  private async command(name: string, args: (string | number)[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FiefStoreUnavailableError(`Redis did not answer ${name} within ${this.timeout} ms`)),
        this.timeout,
      );
    });
    // Called in a then: a client that throws synchronously rejects like one that fails later.
    const reply = Promise.resolve().then(() => this.redis.call(name, args));
    // A reply that comes after the timeout has no one waiting for it: do not let it reject unhandled.
    reply.catch(() => undefined);
    try {
      return await Promise.race([reply, timedOut]);
    } catch (error) {
      if (error instanceof FiefStoreUnavailableError) throw error;
      throw new FiefStoreUnavailableError(`Redis failed ${name}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Redis wants a positive integer: a TTL below 1 ms still expires, at once. */
const milliseconds = (ttl: number): number => Math.max(1, Math.ceil(ttl));
