/**
 * Why the guard refused a request, in RFC 6750 terms. The guard turns it into the HTTP answer
 * (status, `WWW-Authenticate`, Nest's JSON error body); `exceptionFactory` and the guard's
 * protected `throw*` methods receive it to answer differently.
 */
export interface FiefAuthFailure {
  /**
   * - 400: the credential was sent in more than one way (RFC 6750 §2);
   * - 401: no credential, a malformed one, or one that is not a valid token;
   * - 403: a valid token without the required scope / permission / ACR;
   * - 503: Fief must be asked and cannot be reached (unknown signing key, user info).
   */
  status: 400 | 401 | 403 | 503;
  /** RFC 6750 §3.1 error code; absent when no credential was sent (§3). */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  /** Human-readable reason, safe to show the caller (never contains the token). */
  description: string;
  /** Scopes the route needs, sent as the challenge's `scope` attribute on 403. */
  scope?: string[];
  /** Minimum ACR the route needs, sent as `acr_values` (RFC 9470) when the ACR was too low. */
  acr?: string;
  /** Seconds the caller should wait before retrying (503 only). */
  retryAfter?: number;
  /** The underlying error, for logs; never serialized into the response. */
  cause?: unknown;
}
