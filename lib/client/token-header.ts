import { decodeProtectedHeader } from 'jose';
import { FiefIdTokenInvalid, type FiefAccessTokenInvalid } from './errors.js';

/** The refusal class of the token being checked: its name starts every message. */
export type TokenErrorClass = typeof FiefAccessTokenInvalid | typeof FiefIdTokenInvalid;

/** Header parameters that would make us fetch or trust keys named by the token itself, or process extensions we do not know (RFC 8725 3.10). */
const REFUSED_HEADER_PARAMETERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64'] as const;
/** RFC 9068 `at+jwt`, or plain `JWT`; Fief itself sends no `typ`. */
export const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
export const ID_TOKEN_TYPES = new Set(['jwt']);

/** "Access token" or "ID token", for messages. */
export function tokenKind(invalid: TokenErrorClass): string {
  return invalid === FiefIdTokenInvalid ? 'ID token' : 'Access token';
}

/**
 * Header checks jose leaves to us: compact JWS only, RS256, a `kid`, an expected `typ`, no key-bearing
 * or critical parameters. @returns the `kid`.
 */
export function checkHeader(token: string, invalid: TokenErrorClass, types: Set<string>): string {
  const kind = tokenKind(invalid);
  let header: Record<string, unknown>;
  try {
    const segments = token.split('.');
    if (segments.length !== 3) throw new Error('not a compact JWS');
    // One token, one string: jose and Buffer decode padded or non-zero-tail base64url too, which
    // would let a re-encoded token slip past anything keyed on the string (cache, deny-lists).
    if (!segments.every(isCanonicalBase64url)) throw new Error('not canonical unpadded base64url (RFC 7515)');
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch (error) {
    throw new invalid(`${kind} is malformed: ${(error as Error).message}`, { cause: error });
  }
  if (header.alg !== 'RS256') throw new invalid(`${kind} refused: alg ${JSON.stringify(header.alg)} is not RS256`);
  if (typeof header.kid !== 'string' || header.kid === '') throw new invalid(`${kind} refused: no "kid" in the header`);
  for (const parameter of REFUSED_HEADER_PARAMETERS) {
    if (parameter in header) throw new invalid(`${kind} refused: header parameter "${parameter}" is not accepted`);
  }
  if (header.typ !== undefined && (typeof header.typ !== 'string' || !types.has(header.typ.toLowerCase()))) {
    throw new invalid(`${kind} refused: unexpected typ ${JSON.stringify(header.typ)}`);
  }
  return header.kid;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a segment is the one unpadded base64url spelling of its bytes (RFC 4648 §3.5, RFC 7515 §2):
 * alphabet only, no length that leaves 6 spare bits, and zero spare bits in the last character. A string
 * test, with no decoding: this runs on every token that misses the cache.
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}
