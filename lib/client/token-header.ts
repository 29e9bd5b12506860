import { FiefIdTokenInvalid, type FiefAccessTokenInvalid } from './errors.js';

/** The refusal class of the token being checked: its name starts every message. */
export type TokenErrorClass = typeof FiefAccessTokenInvalid | typeof FiefIdTokenInvalid;

/** Header parameters that would make us fetch or trust keys named by the token itself, or process extensions we do not know (RFC 8725 3.10). */
const REFUSED_HEADER_PARAMETERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64'] as const;
/** RFC 9068 `at+jwt`, or plain `JWT`; Fief itself sends no `typ`. */
export const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
export const ID_TOKEN_TYPES = new Set(['jwt']);

/**
 * Encoded access-token headers that passed every check, with their kid. A tenant's tokens share one
 * header (the same alg and kid), so a miss skips decoding and checking it again. The checks depend
 * on nothing but the segment, so the verdict is the same; only passes are kept, and the bound keeps
 * forged variants from growing it.
 */
const ACCEPTED_ACCESS_TOKEN_HEADERS = new Map<string, string>();
const MAX_ACCEPTED_HEADERS = 64;

/** Three base64url segments, nothing else: the only shape of a compact JWS. */
const COMPACT_JWS = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** JOSE headers and claims are UTF-8 JSON (RFC 7515 §5.2): an ill-formed byte refuses the token, as jose does. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** "Access token" or "ID token", for messages. */
export function tokenKind(invalid: TokenErrorClass): string {
  return invalid === FiefIdTokenInvalid ? 'ID token' : 'Access token';
}

/** A compact JWS whose header passed {@link parseCompactJws}: where its segments are, and its `kid`. */
export interface CompactJws {
  readonly token: string;
  readonly kid: string;
  /** Index of the dot that ends the header; the payload starts after it. */
  readonly payloadStart: number;
  /** Index of the dot that ends the payload: also the length of the signing input. */
  readonly signatureStart: number;
}

/**
 * Header checks jose leaves to us: compact JWS only, canonical base64url, RS256, a `kid`, an expected
 * `typ`, no key-bearing or critical parameters. Splits the token once, decodes the header once.
 */
export function parseCompactJws(token: string, invalid: TokenErrorClass, types: Set<string>): CompactJws {
  const kind = tokenKind(invalid);
  const payloadStart = token.indexOf('.');
  const signatureStart = payloadStart === -1 ? -1 : token.indexOf('.', payloadStart + 1);
  try {
    if (signatureStart === -1 || token.indexOf('.', signatureStart + 1) !== -1) throw new Error('not a compact JWS');
    // One token, one string: jose and Buffer decode padded or non-zero-tail base64url too, which
    // would let a re-encoded token slip past anything keyed on the string (cache, deny-lists).
    if (!COMPACT_JWS.test(token) || !canonicalTail(token, 0, payloadStart) || !canonicalTail(token, payloadStart + 1, signatureStart) || !canonicalTail(token, signatureStart + 1, token.length)) {
      throw new Error('not canonical unpadded base64url (RFC 7515)');
    }
  } catch (error) {
    throw new invalid(`${kind} is malformed: ${(error as Error).message}`, { cause: error });
  }
  const encodedHeader = token.slice(0, payloadStart);
  const accepted = types === ACCESS_TOKEN_TYPES ? ACCEPTED_ACCESS_TOKEN_HEADERS.get(encodedHeader) : undefined;
  const kid = accepted ?? checkHeaderObject(token, payloadStart, kind, invalid, types);
  if (accepted === undefined && types === ACCESS_TOKEN_TYPES) {
    if (ACCEPTED_ACCESS_TOKEN_HEADERS.size >= MAX_ACCEPTED_HEADERS) ACCEPTED_ACCESS_TOKEN_HEADERS.clear();
    ACCEPTED_ACCESS_TOKEN_HEADERS.set(encodedHeader, kid);
  }
  return { token, kid, payloadStart, signatureStart };
}

/** The header's own checks; its `kid`. */
function checkHeaderObject(token: string, payloadStart: number, kind: string, invalid: TokenErrorClass, types: Set<string>): string {
  let header: Record<string, unknown>;
  try {
    header = decodeJsonObject(token, 0, payloadStart, 'Invalid Token or Protected Header formatting');
  } catch (error) {
    throw new invalid(`${kind} is malformed: ${(error as Error).message}`, { cause: error });
  }
  if (header.alg !== 'RS256') throw new invalid(`${kind} refused: alg ${JSON.stringify(header.alg)} is not RS256`);
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') throw new invalid(`${kind} refused: no "kid" in the header`);
  for (const parameter of REFUSED_HEADER_PARAMETERS) {
    if (parameter in header) throw new invalid(`${kind} refused: header parameter "${parameter}" is not accepted`);
  }
  if (header.typ !== undefined && (typeof header.typ !== 'string' || !types.has(header.typ.toLowerCase()))) {
    throw new invalid(`${kind} refused: unexpected typ ${JSON.stringify(header.typ)}`);
  }
  return kid;
}

/** {@link parseCompactJws} for callers that only need the `kid`. */
export function checkHeader(token: string, invalid: TokenErrorClass, types: Set<string>): string {
  return parseCompactJws(token, invalid, types).kid;
}

/**
 * The JSON object a base64url segment of `token` encodes (strict UTF-8, a plain object as jose
 * demands), or an Error with `message`.
 */
export function decodeJsonObject(token: string, start: number, end: number, message: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(STRICT_UTF8.decode(Buffer.from(token.slice(start, end), 'base64url')));
  } catch (cause) {
    throw new Error(message, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(message);
  return value as Record<string, unknown>;
}

/** jose's words for a payload that is not a JSON object. */
export const CLAIMS_SET_INVALID_MESSAGE = 'JWT Claims Set must be a top-level JSON object';

/** The token's `iat` before verification, only to judge whether its unknown key may be a new one. */
export function unverifiedIssuedAt(jws: CompactJws): number | undefined {
  try {
    const { iat } = decodeJsonObject(jws.token, jws.payloadStart + 1, jws.signatureStart, CLAIMS_SET_INVALID_MESSAGE);
    return typeof iat === 'number' ? iat : undefined;
  } catch {
    return undefined;
  }
}

/** The token's `iss` before any check, to refuse another issuer's token before fetching keys for it. */
export function unverifiedIssuer(jws: CompactJws): unknown {
  try {
    return decodeJsonObject(jws.token, jws.payloadStart + 1, jws.signatureStart, CLAIMS_SET_INVALID_MESSAGE).iss;
  } catch {
    return undefined;
  }
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether `text[start, end)`, known to be in the base64url alphabet, is the one unpadded spelling of
 * its bytes (RFC 4648 §3.5, RFC 7515 §2): no length that leaves 6 spare bits, and zero spare bits in
 * the last character. A string test, with no decoding: this runs on every token that misses the cache.
 */
function canonicalTail(text: string, start: number, end: number): boolean {
  const tail = (end - start) % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = BASE64URL_ALPHABET.indexOf(text[end - 1]);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}
