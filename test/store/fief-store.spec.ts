import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  FiefStoreUnavailableError,
  FiefUnavailableError,
  InMemoryFiefStore,
  RedisFiefStore,
  type FiefStore,
} from '../../lib/index.js';
import { connected, disconnectAll, startRedis, type TestRedis } from './redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every FiefStore must do, run on the in-memory one and on Redis. */
function storeContract(name: string, make: () => FiefStore) {
  describe(`${name}: the FiefStore contract`, () => {
    it('gets what was set, until the TTL runs out', async () => {
      const store = make();
      await store.set('a', 'one', 150);
      expect(await store.get('a')).toBe('one');
      await store.set('a', 'two', 150);
      expect(await store.get('a')).toBe('two');
      await sleep(250);
      expect(await store.get('a')).toBeUndefined();
    });

    it('setIfAbsent writes once, and again only after expiry or delete', async () => {
      const store = make();
      expect(await store.setIfAbsent('once', 'first', 150)).toBe(true);
      expect(await store.setIfAbsent('once', 'second', 150)).toBe(false);
      expect(await store.get('once')).toBe('first');
      await sleep(250);
      expect(await store.setIfAbsent('once', 'third', 5000)).toBe(true);
      await store.delete('once');
      expect(await store.get('once')).toBeUndefined();
      expect(await store.setIfAbsent('once', 'fourth', 5000)).toBe(true);
    });

    it('of many concurrent setIfAbsent on one key exactly one wins', async () => {
      const store = make();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent('race', String(i), 5000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get('race')).toBe(String(results.indexOf(true)));
    });

    it('delete of an absent key is fine', async () => {
      await expect(make().delete('never-set')).resolves.toBeUndefined();
    });
  });
}

storeContract('InMemoryFiefStore', () => new InMemoryFiefStore());

describe('InMemoryFiefStore', () => {
  it('is bounded: the oldest write goes first when full', async () => {
    const store = new InMemoryFiefStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) await store.set(key, key, 10_000);
    expect(store.size).toBe(3);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('d')).toBe('d');
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new InMemoryFiefStore({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => new InMemoryFiefStore({ maxEntries: 1.5 })).toThrow(/maxEntries/);
  });
});

describe('RedisFiefStore over a real redis-server', () => {
  let redis: TestRedis;
  let first: Redis;
  let second: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    first = await connected(redis.client());
    second = await connected(redis.client());
  });
  afterAll(async () => {
    disconnectAll(first, second);
    await redis?.stop();
  });

  storeContract('RedisFiefStore', () => new RedisFiefStore(first, { prefix: `t${Math.random()}:` }));

  it('two clients see one store, and single use holds between them', async () => {
    const a = new RedisFiefStore(first, { prefix: 'shared:' });
    const b = new RedisFiefStore(second, { prefix: 'shared:' });
    const claims = await Promise.all([
      ...Array.from({ length: 20 }, () => a.setIfAbsent('state', 'a', 5000)),
      ...Array.from({ length: 20 }, () => b.setIfAbsent('state', 'b', 5000)),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    await a.set('user', 'anne', 5000);
    expect(await b.get('user')).toBe('anne');
    await b.delete('user');
    expect(await a.get('user')).toBeUndefined();
  });

  it('writes under the prefix with a millisecond expiry set by Redis itself (SET … PX, SET … NX PX)', async () => {
    const store = new RedisFiefStore(first, { prefix: 'app1:fief:' });
    await store.set('k', 'v', 60_000);
    await store.setIfAbsent('n', 'v', 30_000);
    expect(await first.get('app1:fief:k')).toBe('v');
    expect(await first.get('k')).toBeNull();
    const [ttlSet, ttlNx] = [await first.pttl('app1:fief:k'), await first.pttl('app1:fief:n')];
    expect(ttlSet).toBeGreaterThan(55_000);
    expect(ttlSet).toBeLessThanOrEqual(60_000);
    expect(ttlNx).toBeGreaterThan(25_000);
    expect(ttlNx).toBeLessThanOrEqual(30_000);
  });

  it('a TTL below one millisecond still expires (Redis refuses PX 0)', async () => {
    const store = new RedisFiefStore(first, { prefix: 'tiny:' });
    await store.set('k', 'v', 0.2);
    await sleep(20);
    expect(await store.get('k')).toBeUndefined();
  });

  it('a Redis that stops answering rejects with FiefStoreUnavailableError within the timeout', async () => {
    const store = new RedisFiefStore(first, { prefix: 'hang:', timeout: 300 });
    redis.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const failure = await store.setIfAbsent('k', 'v', 1000).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(FiefStoreUnavailableError);
      expect(failure).toBeInstanceOf(FiefUnavailableError); // so any caller answers 503, never 500
      expect((failure as Error).message).toMatch(/did not answer SET within 300 ms/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      redis.process.kill('SIGCONT');
    }
  });

  it('refuses a client without call(), and bad options, at construction', () => {
    expect(() => new RedisFiefStore({} as never)).toThrow(/ioredis client/);
    expect(() => new RedisFiefStore(first, { timeout: 0 })).toThrow(/timeout/);
    expect(() => new RedisFiefStore(first, { prefix: 3 as never })).toThrow(/prefix/);
  });

  it('a client that throws synchronously rejects the same way', async () => {
    const store = new RedisFiefStore({ call: () => { throw new Error('boom'); } });
    await expect(store.get('k')).rejects.toThrow(FiefStoreUnavailableError);
  });
});

describe('RedisFiefStore when redis-server is gone', () => {
  it('every operation rejects with FiefStoreUnavailableError, never hangs', async () => {
    const redis = await startRedis();
    const client = await connected(redis.client());
    const store = new RedisFiefStore(client, { timeout: 500 });
    await store.set('k', 'v', 1000);
    await redis.stop();
    for (const operation of [() => store.get('k'), () => store.set('k', 'v', 10), () => store.setIfAbsent('k', 'v', 10), () => store.delete('k')]) {
      await expect(operation()).rejects.toThrow(FiefStoreUnavailableError);
    }
    disconnectAll(client);
  });
});
