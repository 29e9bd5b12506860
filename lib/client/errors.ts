/** Base class of every error this client throws. */
export class FiefError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Fief answered a request with an error status (e.g. 400 `invalid_grant`, 403 ACR too low). */
export class FiefRequestError extends FiefError {
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
export class FiefUnavailableError extends FiefError {}

/** The access token is not a valid access token of this client. */
export class FiefAccessTokenInvalid extends FiefError {}

/** The access token was valid but has expired. */
export class FiefAccessTokenExpired extends FiefAccessTokenInvalid {}

/** The access token lacks a required scope. */
export class FiefAccessTokenMissingScope extends FiefError {
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
  constructor(
    /** The permissions that were required. */
    readonly requiredPermissions: string[],
    message = `Missing required permission: ${requiredPermissions.join(' ')}`,
  ) {
    super(message);
  }
}

/** The ID token failed verification (signature, issuer, audience, expiry, nonce, hashes, decryption). */
export class FiefIdTokenInvalid extends FiefError {}
