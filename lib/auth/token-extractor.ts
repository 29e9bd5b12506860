import type { ExecutionContext } from '@nestjs/common';
import { FiefError } from '../client/errors.js';

/**
 * The request carries a credential the guard refuses to read: malformed (401) or sent in more than
 * one way (400), RFC 6750 §2 and §3.1 `invalid_request`.
 */
export class FiefInvalidRequestError extends FiefError {
  static override readonly code: string = 'FIEF_INVALID_REQUEST';

  constructor(
    message: string,
    /** 400 for an ambiguous request, 401 for a malformed credential. */
    readonly status: 400 | 401 = 401,
  ) {
    super(message);
  }
}

/**
 * Reads the access token out of one kind of request (HTTP, WebSocket handshake, GraphQL context...).
 * The guard picks the extractor by `ExecutionContext.getType()`.
 *
 * @example
 * // accept tokens from an `X-Api-Token` header instead of `Authorization`
 * const apiToken: FiefTokenExtractor = { extract: (request) => request.headers['x-api-token'] || undefined };
 * FiefModule.forRoot({ ...fief, tokenExtractors: { http: apiToken } });
 */
export interface FiefTokenExtractor {
  /**
   * @param context absent under `AuthGuard('fief')`, which does not pass it to strategies.
   * @returns the token, or `undefined` when the request carries none; a promise for sources that
   *   must do I/O (a session cookie whose access token needs a refresh).
   * @throws FiefInvalidRequestError when a credential is there but malformed or ambiguous (or rejects with it).
   */
  extract(request: any, context?: ExecutionContext): string | undefined | Promise<string | undefined>;
}

/** Extractors by `ExecutionContext` type (`'http'`, `'ws'`, `'rpc'`, `'graphql'`). */
export type FiefTokenExtractors = Partial<Record<string, FiefTokenExtractor>>;

// token68 (RFC 7235 §2.1) after the case-insensitive scheme and at least one space (RFC 6750 §2.1).
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
// The scheme is a token (RFC 9110 §11.1): `Bearer` followed by anything but a tchar (a tab, a comma,
// nothing) is the Bearer scheme badly written, never another scheme to let through as anonymous.
const BEARER_SCHEME = /^bearer(?![!#$%&'*+\-.^_`|~0-9A-Za-z])/i;
// Cheap pre-test on the raw query: the name may be percent-encoded (`access%5Ftoken`), which every
// query parser decodes, so anything that could spell it is parsed properly before deciding.
const MAYBE_QUERY_TOKEN = /access|%/i;

function hasQueryToken(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1) return false;
  const query = url.slice(start + 1);
  return MAYBE_QUERY_TOKEN.test(query) && new URLSearchParams(query).has('access_token');
}

/**
 * Parses an `Authorization` header value.
 *
 * @returns the token when the scheme is `Bearer`; `undefined` when there is no header or it uses
 *   another scheme (that is no bearer credential at all, RFC 6750 §3: no error code then).
 * @throws FiefInvalidRequestError when the scheme is `Bearer` but the rest is not one token68.
 * @example
 * parseBearerAuthorization('bearer eyJhbGciOi...') // 'eyJhbGciOi...'
 */
export function parseBearerAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = BEARER_CREDENTIALS.exec(header);
  if (match) return match[1];
  if (BEARER_SCHEME.test(header)) {
    throw new FiefInvalidRequestError('The Authorization header must be "Bearer <token>" with a single token.');
  }
  return undefined;
}

function countAuthorizationHeaders(rawHeaders: string[] | undefined): number {
  if (!rawHeaders) return 1;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function isFormBody(request: any): boolean {
  const type = request.headers?.['content-type'];
  return typeof type === 'string' && type.startsWith('application/x-www-form-urlencoded');
}

/**
 * The default HTTP extractor (Express and Fastify): `Authorization: Bearer <token>` only. A token in
 * the query string or a form body is refused (RFC 9700 §4.3.2 forbids URI tokens; RFC 6750 §2 forbids
 * two methods at once), and so is a repeated `Authorization` header, which Node would otherwise
 * silently reduce to the first one.
 */
export const bearerHeaderExtractor: FiefTokenExtractor = {
  extract(request: any): string | undefined {
    const url: unknown = request.url;
    if (typeof url === 'string' && hasQueryToken(url)) {
      throw new FiefInvalidRequestError('Send the access token in the Authorization header, not in the URL.', 400);
    }
    if (request.body?.access_token !== undefined && isFormBody(request)) {
      throw new FiefInvalidRequestError('Send the access token in the Authorization header, not in the request body.', 400);
    }
    const header = request.headers?.authorization;
    if (header === undefined) return undefined;
    if (typeof header !== 'string' || countAuthorizationHeaders(request.rawHeaders ?? request.raw?.rawHeaders) > 1) {
      throw new FiefInvalidRequestError('Send a single Authorization header.', 400);
    }
    return parseBearerAuthorization(header);
  },
};

/**
 * What an extractor returned, as a token or `undefined`. Custom extractors may hand back header
 * values as they come: `''` and `null` mean none; anything but a string (e.g. a repeated header's
 * array) is a malformed credential, never a pass.
 */
export function credentialOrNone(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new FiefInvalidRequestError('The access token must be sent once, as a string.', 400);
  return value;
}
