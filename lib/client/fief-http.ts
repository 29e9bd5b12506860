import { traceFiefCall, type FiefCallRecord } from '../telemetry/index.js';
import { FiefRequestError, FiefUnavailableError } from './errors.js';
import type { FiefFetch } from './types.js';

/**
 * Largest answer read from Fief. Its documents are a few kilobytes (a JWKS of 4096-bit keys, a
 * token response); the bound keeps a broken or hostile endpoint from filling the process's memory.
 */
export const MAX_FIEF_ANSWER_BYTES = 1024 * 1024;

/** How the client reaches Fief: which `fetch`, and how long any request may take. */
export interface FiefHttpSettings {
  fetch: FiefFetch;
  timeout: number;
  /** The tenant's name, for telemetry, when the client serves a named tenant. */
  tenant?: string;
}

/**
 * One request to Fief, answered as parsed JSON. Everything that says "Fief is not there or not
 * healthy" (network error, timeout, redirect, 5xx, a body that is not JSON) becomes a
 * {@link FiefUnavailableError} so callers answer 503; a 4xx is Fief's verdict, a {@link FiefRequestError}.
 * Redirects are never followed: Fief's API does not redirect, and following one could leak the
 * bearer token or the client secret to another host.
 */
export function requestFiefJson(
  http: FiefHttpSettings,
  what: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<unknown> {
  // The one wrap of telemetry: a span and a latency sample per call to Fief (no-ops without an SDK).
  return traceFiefCall({ what, url, method: init.method ?? 'GET', tenant: http.tenant }, (record) => request(http, what, url, init, record));
}

async function request(
  http: FiefHttpSettings,
  what: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  record: FiefCallRecord,
): Promise<unknown> {
  let response: Response;
  let text: string | undefined;
  try {
    response = await http.fetch(url, {
      ...init,
      headers: { accept: 'application/json', ...init.headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(http.timeout),
    });
    record.status = response.status;
    // The body is read under the same timeout signal: a server that sends headers then stalls is caught too.
    text = await readBounded(response, MAX_FIEF_ANSWER_BYTES);
  } catch (error) {
    // Duck-typed: fetch's DOMException may come from another realm than this module's Error.
    const name = (error as { name?: unknown } | null)?.name;
    const reason =
      name === 'TimeoutError' || name === 'AbortError'
        ? `did not answer within ${http.timeout} ms`
        : `is unreachable (${describe(error)})`;
    throw new FiefUnavailableError(`Fief ${what} at ${url} ${reason}`, { cause: error });
  }
  if (text === undefined) {
    throw new FiefUnavailableError(`Fief ${what} at ${url} answered more than ${MAX_FIEF_ANSWER_BYTES} bytes`);
  }
  const status = response.status;
  if (status >= 400 && status < 500) throw new FiefRequestError(status, text);
  if (status < 200 || status >= 300) {
    throw new FiefUnavailableError(
      status >= 300 && status < 400
        ? `Fief ${what} at ${url} answered a redirect (${status}) to ${response.headers.get('location') ?? 'nowhere'}; check baseURL`
        : `Fief ${what} at ${url} answered ${status}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new FiefUnavailableError(`Fief ${what} at ${url} answered ${status} with a non-JSON body (${type}); check baseURL`, {
      cause: error,
    });
  }
}

/** A JSON object, or else a {@link FiefUnavailableError} naming what was expected. */
export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FiefUnavailableError(`Fief ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The body as text, or `undefined` once it exceeds `max` bytes (the rest is not read). */
async function readBounded(response: Response, max: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > max) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function describe(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { message?: unknown } };
  if (typeof message !== 'string') return String(error);
  return typeof cause?.message === 'string' ? `${message}: ${cause.message}` : message;
}
