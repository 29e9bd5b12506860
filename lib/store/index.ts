/** State shared across the app's instances: login single use, user info, session refresh, webhook replay. */
export { FiefStoreUnavailableError } from './fief-store.errors.js';
export { isFiefStore, type FiefStore } from './fief-store.interface.js';
export { createFiefStoreProvider, FIEF_STORE } from './fief-store.providers.js';
export { InMemoryFiefStore, type InMemoryFiefStoreOptions } from './in-memory-fief-store.js';
export { RedisFiefStore, type RedisFiefStoreClient, type RedisFiefStoreOptions } from './redis-fief-store.js';
