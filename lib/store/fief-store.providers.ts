import type { InjectionToken, Provider } from '@nestjs/common';
import { FiefError } from '../client/errors.js';
import { InMemoryFiefStore } from './in-memory-fief-store.js';
import { isFiefStore, type FiefStore } from './fief-store.interface.js';

/** Injection token of the module's {@link FiefStore}: the `store` option, or an in-memory one. */
export const FIEF_STORE = Symbol('FIEF:STORE');

/**
 * The `FIEF_STORE` provider of a host module whose options (under `optionsToken`) may carry a
 * `store`; a value that is not a {@link FiefStore} stops the app at start-up.
 */
export function createFiefStoreProvider(optionsToken: InjectionToken): Provider<FiefStore> {
  return {
    provide: FIEF_STORE,
    inject: [optionsToken],
    useFactory: (options: { store?: unknown } | undefined): FiefStore => {
      const store = options?.store;
      if (store === undefined) return new InMemoryFiefStore();
      if (!isFiefStore(store)) {
        throw new FiefError(
          'Invalid FiefModule options:\n - store must be a FiefStore (get, set, setIfAbsent and delete), e.g. new RedisFiefStore(redis).',
        );
      }
      return store;
    },
  };
}
