import { FiefAccessTokenExpired } from './errors.js';
import type { FiefMetadata } from './fief-metadata.js';
import type { PublishedKey, VerificationKey } from './signing-keys.js';
import { tokenKind, type TokenErrorClass } from './token-header.js';

/** What both token verifiers check against: one tenant, one client. */
export interface TokenVerificationContext {
  metadata: FiefMetadata;
  /** The configured issuer; the discovered one when absent. */
  issuer?: string;
  clientId: string;
  /** `clientId` first, then `allowedAudiences`. */
  audiences: string[];
  /** Seconds. */
  clockTolerance: number;
  /** Seconds: how far ahead `exp` may be. */
  maxTokenLifetime: number;
}

/** Claims of a token, as JSON gave them. */
export type Claims = Record<string, unknown>;

/** NumericDate claims (RFC 7519 §2) Fief sends, always as whole seconds. */
const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const;

export async function expectedIssuer(context: TokenVerificationContext): Promise<string> {
  return context.issuer ?? (await context.metadata.discovery()).issuer;
}

/**
 * The keys to verify a token under `kid` with: what the JWKS held when last fetched, or what a
 * (rate-limited) refetch finds. A kid published with unfit keys only is refused at once.
 *
 * @param issuedAt the token's `iat`, read only when the kid is unknown.
 */
export async function verificationKeys(
  context: TokenVerificationContext,
  kid: string,
  invalid: TokenErrorClass,
  issuedAt: () => number | undefined,
): Promise<readonly VerificationKey[]> {
  return fitKeys(context.metadata.knownSigningKey(kid) ?? (await context.metadata.signingKey(kid, issuedAt)), kid, invalid);
}

/** The fit keys of what Fief publishes under `kid`, or the refusal that says why there are none. */
export function fitKeys(published: PublishedKey | undefined, kid: string, invalid: TokenErrorClass): readonly VerificationKey[] {
  if (published === undefined) throw new invalid(`${tokenKind(invalid)} refused: Fief publishes no key "${kid}"`);
  if (!published.fit) throw new invalid(`${tokenKind(invalid)} refused: Fief's key "${kid}" is not fit to verify RS256 tokens: ${published.reason}`);
  return published.keys;
}

/**
 * The rules jose's `jwtVerify` applies to `iss`, `aud`, `exp`, `nbf` and the required claims, with
 * the same messages, plus Fief's shapes: NumericDates are safe integers (no 1.5, 1e20, or the
 * Infinity of JSON `1e400`), `exp` is at most `maxTokenLifetime` ahead, `iat` is not in the future.
 *
 * @throws FiefAccessTokenExpired for an access token past `exp` (beyond the tolerance).
 */
export function checkRegisteredClaims(
  claims: Claims,
  context: TokenVerificationContext,
  issuer: string,
  audiences: readonly string[],
  refuse: (reason: string) => Error,
): void {
  // jose's order: the last required claim is reported first.
  for (const claim of ['iss', 'aud', 'sub', 'iat', 'exp'] as const) {
    if (!Object.hasOwn(claims, claim)) throw refuse(`missing required "${claim}" claim`);
  }
  if (claims.iss !== issuer) throw refuse('unexpected "iss" claim value');
  const aud = claims.aud;
  const forUs = typeof aud === 'string' ? audiences.includes(aud) : Array.isArray(aud) && audiences.some((audience) => aud.includes(audience));
  if (!forUs) throw refuse('unexpected "aud" claim value');
  checkTimeClaims(claims, context, refuse, true);
}

/**
 * NumericDates as Fief sends them, and the time window: `nbf` passed, `exp` not passed (when
 * `checkWindow`) and no further ahead than `maxTokenLifetime`, `iat` not in the future.
 */
export function checkTimeClaims(claims: Claims, context: TokenVerificationContext, refuse: (reason: string) => Error, checkWindow: boolean): void {
  for (const claim of TIME_CLAIMS) {
    const value = claims[claim];
    if (value !== undefined && !Number.isSafeInteger(value)) throw refuse(`"${claim}" claim must be an integer number of seconds`);
  }
  const tolerance = context.clockTolerance;
  const nowMs = Date.now();
  const now = Math.floor(nowMs / 1000);
  const exp = claims.exp as number;
  if (checkWindow) {
    if ((claims.nbf as number | undefined) !== undefined && (claims.nbf as number) > now + tolerance) throw refuse('"nbf" claim timestamp check failed');
    if (exp <= now - tolerance) throw new FiefAccessTokenExpired('Access token has expired');
  }
  if (exp > now + context.maxTokenLifetime + tolerance) {
    throw refuse(`"exp" is more than maxTokenLifetime (${context.maxTokenLifetime} s) ahead`);
  }
  // jose checks `iat` only as a number; a token issued in the future is forged or from a broken clock.
  if ((claims.iat as number) > nowMs / 1000 + tolerance) throw refuse('"iat" is in the future');
}

/** OIDC Core 2 and 3.1.3.7 (4)-(5): `azp` names the party the token was issued to; several audiences need one, and it must be us. */
export function checkAuthorizedParty(claims: Claims, accepted: readonly string[], refuse: (reason: string) => Error): void {
  const azp = claims.azp;
  if (azp !== undefined && (typeof azp !== 'string' || !accepted.includes(azp))) {
    throw refuse(`issued to another client (azp ${JSON.stringify(azp)})`);
  }
  if (azp === undefined && Array.isArray(claims.aud) && claims.aud.length > 1) throw refuse('several audiences and no "azp"');
}
