import { randomBytes } from 'node:crypto';
import { FiefUnavailableError } from '../client/errors.js';
import { FiefStoreUnavailableError } from './fief-store.errors.js';
import type { FiefStore } from './fief-store.interface.js';

/** Options of {@link runOnceShared}. */
export interface SharedSingleFlightOptions {
  /**
   * How long the winner may take, in ms: longer than `work` can last (its requests have timeouts),
   * so a lock that expires belongs to an instance that died, and another caller may take over.
   */
  lockTtl: number;
  /** How long the result is handed to late callers, in ms. */
  resultTtl: number;
  /** How often a waiting instance looks for the result, in ms. @default 50 */
  pollInterval?: number;
  /** Told when the store fails after `work` succeeded (the result is still returned). */
  onStoreError?: (error: unknown) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` once for `key` across every instance sharing `store`: the first caller takes a lock
 * with `setIfAbsent`, runs `work` and leaves its result in the store; the others wait for that
 * result and return it. Made for work that must not run twice (a refresh token is single use).
 *
 * @throws FiefStoreUnavailableError when the store fails before `work` ran: the caller may fall
 *   back to local single flight. Once `work` ran, store failures no longer throw.
 * @throws FiefUnavailableError when other instances hold the lock for `2 × lockTtl` and leave no result.
 * @throws whatever `work` throws (the lock is released, so the next caller tries again).
 */
export async function runOnceShared(
  store: FiefStore,
  key: string,
  work: () => Promise<string>,
  options: SharedSingleFlightOptions,
): Promise<string> {
  const resultKey = `${key}:result`;
  const lockKey = `${key}:lock`;
  const owner = randomBytes(9).toString('base64url');
  // A lock expires after lockTtl; one still held after twice that is being renewed by others.
  const deadline = Date.now() + 2 * options.lockTtl;
  for (;;) {
    const ready = await storeCall(() => store.get(resultKey));
    if (ready !== undefined) return ready;
    if (await storeCall(() => store.setIfAbsent(lockKey, owner, options.lockTtl))) {
      // The previous holder may have finished between our read and our lock.
      const late = await storeCall(() => store.get(resultKey));
      if (late !== undefined) {
        await store.delete(lockKey).catch(() => undefined);
        return late;
      }
      let value: string;
      try {
        value = await work();
      } catch (error) {
        await store.delete(lockKey).catch(() => undefined);
        throw error;
      }
      try {
        await store.set(resultKey, value, options.resultTtl);
        await store.delete(lockKey);
      } catch (error) {
        options.onStoreError?.(error);
      }
      return value;
    }
    if (Date.now() >= deadline) {
      throw new FiefUnavailableError(`Another instance holds "${lockKey}" and left no result within ${options.lockTtl} ms`);
    }
    await sleep(options.pollInterval ?? 50);
  }
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof FiefStoreUnavailableError) throw error;
    throw new FiefStoreUnavailableError(`The FiefStore failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}
