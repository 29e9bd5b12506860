/**
 * Metadata keys and injection tokens of the Nest module. The keys are fixed strings (not symbols)
 * so that users' own guards and interceptors can read the same metadata with `Reflector`.
 */

/** Metadata key of {@link Public}: the route needs no credential. */
export const FIEF_PUBLIC_KEY = 'FIEF:PUBLIC';

/** Metadata key of {@link OptionalAuth}: anonymous when no credential is sent. */
export const FIEF_OPTIONAL_KEY = 'FIEF:OPTIONAL';

/** Metadata key of {@link Scopes}: `string[]`, every one required. */
export const FIEF_SCOPES_KEY = 'FIEF:SCOPES';

/** Metadata key of {@link Permissions}: `string[]`, every one required. */
export const FIEF_PERMISSIONS_KEY = 'FIEF:PERMISSIONS';

/** Metadata key of {@link Acr}: the minimum `FiefACR`. */
export const FIEF_ACR_KEY = 'FIEF:ACR';

/** Metadata key set on a handler by {@link CurrentUser}: the guard loads the user's info before it runs. */
export const FIEF_CURRENT_USER_KEY = 'FIEF:CURRENT_USER';

/** Name of the passport strategy: `AuthGuard('fief')`. */
export const FIEF_STRATEGY_NAME = 'fief';

/** Injection token of the passport strategy instance (`null` when `@nestjs/passport` is not installed). */
export const FIEF_PASSPORT_STRATEGY = Symbol('FIEF:PASSPORT_STRATEGY');
