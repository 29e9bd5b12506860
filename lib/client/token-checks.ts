import { decodeJwt, type CryptoKey, type JWTPayload } from 'jose';
import type { FiefMetadata } from './fief-metadata.js';
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
}

export async function expectedIssuer(context: TokenVerificationContext): Promise<string> {
  return context.issuer ?? (await context.metadata.discovery()).issuer;
}

/** The key Fief publishes under `kid`, or the refusal naming it. */
export async function verificationKey(context: TokenVerificationContext, kid: string, invalid: TokenErrorClass, token: string): Promise<CryptoKey> {
  const key = await context.metadata.signingKey(kid, () => issuedAt(token));
  if (!key) throw new invalid(`${tokenKind(invalid)} refused: Fief publishes no key "${kid}"`);
  return key;
}

/** OIDC Core 2: `azp` names the party the token was issued to; when present it must be us. */
export function checkAuthorizedParty(claims: JWTPayload, accepted: string[], refuse: (reason: string) => Error): void {
  if (claims.azp !== undefined && (typeof claims.azp !== 'string' || !accepted.includes(claims.azp))) {
    throw refuse(`issued to another client (azp ${JSON.stringify(claims.azp)})`);
  }
}

/** jose checks `iat` only as a number; a token issued in the future is forged or from a broken clock. */
export function checkIssuedAt(claims: JWTPayload, clockTolerance: number, refuse: (reason: string) => Error): void {
  if (claims.iat! > Date.now() / 1000 + clockTolerance) throw refuse('"iat" is in the future');
}

/** The token's `iat` before verification, only to judge whether its unknown key may be a new one. */
function issuedAt(token: string): number | undefined {
  try {
    const { iat } = decodeJwt(token);
    return typeof iat === 'number' ? iat : undefined;
  } catch {
    return undefined;
  }
}
