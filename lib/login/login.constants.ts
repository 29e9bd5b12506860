/** Injection token of the resolved {@link ResolvedFiefLoginOptions}. */
export const FIEF_LOGIN_OPTIONS = Symbol('FIEF:LOGIN_OPTIONS');

/** Injection token of the {@link FiefLoginClient} the login flow talks to Fief with (`FiefClient` or `FiefService`). */
export const FIEF_LOGIN_CLIENT = Symbol('FIEF:LOGIN_CLIENT');

/** Metadata key set by {@link LoginRedirect}, so users' own guards and filters can tell page routes apart. */
export const FIEF_LOGIN_REDIRECT_METADATA = 'FIEF:LOGIN_REDIRECT';

/** Browsers drop a cookie whose name and value together pass this many bytes (RFC 6265 §6.1 minimum). */
export const MAX_COOKIE_BYTES = 4096;

/** A login transaction lives at most this long, in seconds: Fief's authorization codes live 600 s too. */
export const LOGIN_TRANSACTION_TTL = 600;

/** Injection token of the tenant a login service belongs to, with several tenants (absent otherwise). */
export const FIEF_LOGIN_TENANT = Symbol('FIEF:LOGIN_TENANT');
