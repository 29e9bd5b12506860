import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import { MAX_COOKIE_BYTES } from './login.constants.js';
import { FiefCookieTooLargeError } from './login.errors.js';

/** The bits of an Express or Fastify request the cookie code reads. */
export interface CookieRequest {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The bits of a response the cookie code writes: an Express / Node `ServerResponse`
 * (`appendHeader`) or a Fastify reply (`header`, which appends `Set-Cookie`).
 */
export type CookieResponse = object;

/** Every cookie of the request, from its raw `Cookie` header (works on Express and Fastify alike). */
export function readCookies(request: CookieRequest): Record<string, string | undefined> {
  const header = request.headers.cookie;
  const raw = Array.isArray(header) ? header.join('; ') : header;
  return raw ? parseCookie(raw) : {};
}

/** One cookie of the request, or `undefined`. */
export function readCookie(request: CookieRequest, name: string): string | undefined {
  return readCookies(request)[name];
}

/**
 * Adds a `Set-Cookie` header to the response, keeping those already set (by the app, or another
 * cookie of the same request).
 *
 * @throws FiefCookieTooLargeError when `name=value` passes 4096 bytes: browsers would drop it silently.
 * @throws TypeError when `response` is neither an Express/Node response nor a Fastify reply.
 */
export function appendSetCookie(response: CookieResponse, cookie: SetCookie): void {
  const size = Buffer.byteLength(cookie.name) + 1 + Buffer.byteLength(cookie.value ?? '');
  if (size > MAX_COOKIE_BYTES) throw new FiefCookieTooLargeError(cookie.name, size);
  const header = stringifySetCookie(cookie);
  const target = response as {
    raw?: unknown;
    header?: (name: string, value: string) => unknown;
    appendHeader?: (name: string, value: string) => unknown;
  };
  // A Fastify reply wraps the Node response in `raw`; its `header()` appends Set-Cookie values.
  if (target.raw !== undefined && typeof target.header === 'function') {
    target.header('set-cookie', header);
  } else if (typeof target.appendHeader === 'function') {
    target.appendHeader('Set-Cookie', header);
  } else {
    throw new TypeError('Cannot set a cookie: the response is neither an Express/Node response nor a Fastify reply.');
  }
}
