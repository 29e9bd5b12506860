/**
 * Base class of every error this client throws. Each class has a stable `code` (as jose's
 * `ERR_JWT_EXPIRED`), on the class and on every instance, so code can switch on it without
 * `instanceof` chains or message matching.
 *
 * @example
 * switch ((error as FiefError).code) {
 *   case FiefAccessTokenExpired.code: // 'FIEF_ACCESS_TOKEN_EXPIRED'
 *   case FiefAccessTokenInvalid.code: // 'FIEF_ACCESS_TOKEN_INVALID'
 * }
 */
export class FiefError extends Error {
  /** The code of this class; subclasses give their own. */
  static readonly code: string = 'FIEF_ERROR';
  /** Stable identifier of the error's class, e.g. `FIEF_ACCESS_TOKEN_EXPIRED`; never changes with the message. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof FiefError).code;
  }
}

/** Fief answered a request with an error status (e.g. 400 `invalid_grant`, 403 ACR too low). */
export class FiefRequestError extends FiefError {
  static override readonly code: string = 'FIEF_REQUEST_ERROR';

  constructor(
    /** HTTP status Fief answered with. */
    readonly status: number,
    /** Fief's error body, as text (`{"error": ..., "error_description": ...}` for OAuth errors). */
    readonly detail: string,
    message = `Fief answered ${status}: ${detail}`,
  ) {
    super(message);
  }
}

/**
 * Fief cannot be reached, timed out, or answered something that is not a valid answer (HTML,
 * non-JSON, a 5xx, a JWKS without usable keys). The credential may be fine: answer 503, not 401.
 */
export class FiefUnavailableError extends FiefError {
  static override readonly code: string = 'FIEF_UNAVAILABLE';
}

/** The access token is not a valid access token of this client. */
export class FiefAccessTokenInvalid extends FiefError {
  static override readonly code: string = 'FIEF_ACCESS_TOKEN_INVALID';
}

/**
 * The access token was valid but has expired. Not a {@link FiefAccessTokenInvalid}: as in Fief's
 * Python client, both are `FiefError`s, so catching "invalid" does not swallow "expired".
 */
export class FiefAccessTokenExpired extends FiefError {
  static override readonly code: string = 'FIEF_ACCESS_TOKEN_EXPIRED';
}

/** The access token lacks a required scope. */
export class FiefAccessTokenMissingScope extends FiefError {
  static override readonly code: string = 'FIEF_ACCESS_TOKEN_MISSING_SCOPE';

  constructor(
    /** The scopes that were required. */
    readonly requiredScope: string[],
    message = `Missing required scope: ${requiredScope.join(' ')}`,
  ) {
    super(message);
  }
}

/** The access token's authentication level is below the required one. */
export class FiefAccessTokenACRTooLow extends FiefError {
  static override readonly code: string = 'FIEF_ACCESS_TOKEN_ACR_TOO_LOW';

  constructor(
    /** The level that was required. */
    readonly requiredAcr: string,
    message = `ACR too low: ${requiredAcr} required`,
  ) {
    super(message);
  }
}

/** The access token lacks a required permission. */
export class FiefAccessTokenMissingPermission extends FiefError {
  static override readonly code: string = 'FIEF_ACCESS_TOKEN_MISSING_PERMISSION';

  constructor(
    /** The permissions that were required. */
    readonly requiredPermissions: string[],
    message = `Missing required permission: ${requiredPermissions.join(' ')}`,
  ) {
    super(message);
  }
}

/** The ID token failed verification (signature, issuer, audience, expiry, nonce, hashes, decryption). */
export class FiefIdTokenInvalid extends FiefError {
  static override readonly code: string = 'FIEF_ID_TOKEN_INVALID';
}
