/**
 * Largest `returnTo` kept, counted on its percent-encoded form: what the transaction cookie and the
 * `Location` header really carry. One `é` is 6 bytes there, one `"` is 3: bounding the raw length
 * would let 2 KB of them pass the browser's 4 KB cookie limit.
 */
export const MAX_RETURN_TO_BYTES = 1024;
const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';
// Browsers strip tabs and newlines from URLs and treat `\` as `/`, so `/\tevil` or `/\evil`
// would become `//evil`: anything of the kind is refused outright rather than cleaned.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001F\u007F\\]/;

function looksDangerous(candidate: string): boolean {
  return !candidate.startsWith('/') || candidate.startsWith('//') || FORBIDDEN.test(candidate);
}

/**
 * The redirect target `value` names, percent-encoded as a browser would send it (printable ASCII
 * only, so it is a valid `Location` on every adapter), or `undefined` when it is not a safe
 * same-site path or is longer than {@link MAX_RETURN_TO_BYTES} once encoded.
 *
 * @example
 * normalizeReturnTo('/café?q=a b'); // '/caf%C3%A9?q=a%20b'
 * normalizeReturnTo('//evil.com');  // undefined
 */
export function normalizeReturnTo(value: unknown): string | undefined {
  // Encoding never shortens a string: a longer raw value cannot fit, so huge inputs cost nothing.
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO_BYTES) return undefined;
  const location = sameSiteLocation(value);
  // Serializing removes dot segments (`/./%2F` becomes `/%2F`, which decodes to `//`): what is sent
  // must pass on its own.
  if (location === undefined || location.length > MAX_RETURN_TO_BYTES || sameSiteLocation(location) !== location) return undefined;
  return location;
}

/** `value` serialized as a same-site path, or `undefined` when it is not one at every decoding depth. */
function sameSiteLocation(value: string): string | undefined {
  let decoded = value;
  // Encoded variants (`/%2F%2Fevil`, `%252F`...) are harmless to a browser but not to every proxy
  // or framework that decodes again downstream: every decoding layer must pass too.
  for (let depth = 0; depth < 5; depth++) {
    if (looksDangerous(decoded)) return undefined;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return undefined;
    }
    if (next === decoded) break;
    decoded = next;
  }
  if (decoded !== value && looksDangerous(decoded)) return undefined;
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return undefined;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN || url.pathname.startsWith('//')) return undefined;
  // WHATWG serialization percent-encodes non-ASCII, quotes, spaces and controls: what is left is
  // printable ASCII, the same bytes in the cookie, in JSON and in the Location header.
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Whether `value` is a path on this site that is safe to redirect a browser to: it starts with one
 * `/`, holds no backslash or control character (also once percent-decoded, at any depth), still
 * starts with a single `/` once a browser has normalized it (`/.//evil.com` does not), and is at
 * most {@link MAX_RETURN_TO_BYTES} bytes once percent-encoded.
 *
 * @example
 * isSafeReturnTo('/castles?page=2'); // true
 * isSafeReturnTo('//evil.com');      // false
 * isSafeReturnTo('/%2F%2Fevil.com'); // false
 */
export function isSafeReturnTo(value: unknown): value is string {
  return normalizeReturnTo(value) !== undefined;
}

/**
 * The percent-encoded form of `value` when it is a safe same-site path (see {@link isSafeReturnTo}),
 * else `fallback`. Used for the `returnTo` of the login route, the only user input that becomes a redirect.
 *
 * @example
 * sanitizeReturnTo('https://evil.com/'); // '/'
 * sanitizeReturnTo('/castles', '/home'); // '/castles'
 * sanitizeReturnTo('/château');          // '/ch%C3%A2teau'
 */
export function sanitizeReturnTo(value: unknown, fallback = '/'): string {
  return normalizeReturnTo(value) ?? fallback;
}
