import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  FiefStoreUnavailableError,
  FiefUnavailableError,
  InMemoryFiefUserInfoCache,
  RedisFiefStore,
  type FiefStore,
  type FiefUserInfo,
} from '../../lib/index.js';
import { runOnceShared } from '../../lib/store/shared-single-flight.js';
import { FiefStoreUserInfoCache } from '../../lib/store/store-user-info-cache.js';
import { connected, disconnectAll, startRedis, type TestRedis } from './redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const anne: FiefUserInfo = { sub: 'a1', email: 'anne@bretagne.duchy', tenant_id: 't', fields: {} } as FiefUserInfo;

/** A store whose every call fails, as a Redis that went away does. */
const downStore: FiefStore = {
  get: () => Promise.reject(new FiefStoreUnavailableError('down')),
  set: () => Promise.reject(new FiefStoreUnavailableError('down')),
  setIfAbsent: () => Promise.reject(new FiefStoreUnavailableError('down')),
  delete: () => Promise.reject(new FiefStoreUnavailableError('down')),
};

describe('state shared through one real redis-server', () => {
  let redis: TestRedis;
  let clients: Redis[];
  let one: RedisFiefStore;
  let two: RedisFiefStore;

  beforeAll(async () => {
    redis = await startRedis();
    clients = [await connected(redis.client()), await connected(redis.client())];
    // Honest room on a loaded CI machine; the default timeout stays 1000 ms.
    one = new RedisFiefStore(clients[0], { prefix: 'app:', timeout: 5000 });
    two = new RedisFiefStore(clients[1], { prefix: 'app:', timeout: 5000 });
  });
  afterAll(async () => {
    disconnectAll(...clients);
    await redis?.stop();
  });

  describe('runOnceShared', () => {
    it('runs the work once for concurrent callers on two clients; all get its result', async () => {
      let runs = 0;
      const work = async () => {
        runs++;
        await sleep(150);
        return `result-${runs}`;
      };
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => runOnceShared(one, 'job1', work, { lockTtl: 5000, resultTtl: 5000, pollInterval: 10 })),
        ...Array.from({ length: 5 }, () => runOnceShared(two, 'job1', work, { lockTtl: 5000, resultTtl: 5000, pollInterval: 10 })),
      ]);
      expect(runs).toBe(1);
      expect(new Set(results)).toEqual(new Set(['result-1']));
      // A late caller inside resultTtl gets the same result without running anything.
      expect(await runOnceShared(two, 'job1', work, { lockTtl: 5000, resultTtl: 5000 })).toBe('result-1');
      expect(runs).toBe(1);
    });

    it('a failed run releases the lock: the next caller runs the work itself', async () => {
      await expect(
        runOnceShared(one, 'job2', () => Promise.reject(new Error('Fief said no')), { lockTtl: 5000, resultTtl: 5000 }),
      ).rejects.toThrow('Fief said no');
      expect(await runOnceShared(two, 'job2', async () => 'second try', { lockTtl: 5000, resultTtl: 5000 })).toBe('second try');
    });

    it('a holder that dies (never finishes) loses its lock after lockTtl: a waiter then runs the work, once', async () => {
      let runs = 0;
      void runOnceShared(one, 'job3', () => { runs++; return new Promise<string>(() => undefined); }, { lockTtl: 300, resultTtl: 5000 });
      await sleep(30);
      const started = Date.now();
      const result = await runOnceShared(two, 'job3', async () => `run ${++runs}`, { lockTtl: 300, resultTtl: 5000, pollInterval: 20 });
      expect(result).toBe('run 2');
      expect(Date.now() - started).toBeGreaterThanOrEqual(200); // it waited for the lock to expire
    });

    it('a lock others keep holding leaves a waiter a FiefUnavailableError (503), never a run of its own', async () => {
      await one.set('job5:lock', 'someone else', 60_000);
      let runs = 0;
      const failure = await runOnceShared(two, 'job5', async () => String(++runs), { lockTtl: 200, resultTtl: 5000, pollInterval: 20 }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(FiefUnavailableError);
      expect(failure).not.toBeInstanceOf(FiefStoreUnavailableError); // not "store down": no local fallback may run it
      expect(runs).toBe(0);
    });

    it('a store that is down fails before the work runs, with FiefStoreUnavailableError', async () => {
      let runs = 0;
      await expect(runOnceShared(downStore, 'job4', async () => String(++runs), { lockTtl: 1000, resultTtl: 1000 })).rejects.toThrow(
        FiefStoreUnavailableError,
      );
      expect(runs).toBe(0);
    });
  });

  describe('FiefStoreUserInfoCache', () => {
    it('user info one instance stored is reused by the other; a delete on one is seen by both', async () => {
      const a = new FiefStoreUserInfoCache(one, new InMemoryFiefUserInfoCache());
      const b = new FiefStoreUserInfoCache(two, new InMemoryFiefUserInfoCache());
      await a.set('u1', anne, 10_000);
      expect(await b.get('u1')).toEqual(anne);
      await a.delete('u1');
      expect(await b.get('u1')).toBeUndefined(); // b's local copy is not served while the store answers
    });

    it('entries expire with their TTL, in the store and in the local copy', async () => {
      const a = new FiefStoreUserInfoCache(one, new InMemoryFiefUserInfoCache());
      await a.set('u2', anne, 100);
      await sleep(150);
      expect(await a.get('u2')).toBeUndefined();
    });

    it('an entry that is not ours is ignored, not trusted', async () => {
      await clients[0].set('app:u3', '{"user":{"email":"x"},"expiresAt":99999999999999}');
      await clients[0].set('app:u4', 'not json');
      const a = new FiefStoreUserInfoCache(one, new InMemoryFiefUserInfoCache());
      expect(await a.get('u3')).toBeUndefined();
      expect(await a.get('u4')).toBeUndefined();
    });

    it('with the store down it falls back to the local copy, and reports the failure at most every 10 s', async () => {
      const reports: unknown[] = [];
      const local = new InMemoryFiefUserInfoCache();
      const cache = new FiefStoreUserInfoCache(downStore, local, (error) => reports.push(error));
      await cache.set('u5', anne, 10_000);
      expect(await cache.get('u5')).toEqual(anne);
      await cache.delete('u5');
      expect(await cache.get('u5')).toBeUndefined();
      expect(reports).toHaveLength(1);
      expect(reports[0]).toBeInstanceOf(FiefStoreUnavailableError);
    });
  });
});
