const MAX_RETURN_TO_LENGTH = 2048;
const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';
// Browsers strip tabs and newlines from URLs and treat `\` as `/`, so `/\tevil` or `/\evil`
// would become `//evil`: anything of the kind is refused outright rather than cleaned.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001F\u007F\\]/;

function looksDangerous(candidate: string): boolean {
  return !candidate.startsWith('/') || candidate.startsWith('//') || FORBIDDEN.test(candidate);
}

/**
 * Whether `value` is a path on this site that is safe to redirect a browser to: it starts with one
 * `/`, holds no backslash or control character (also once percent-decoded, at any depth), and
 * still starts with a single `/` once a browser has normalized it (`/.//evil.com` does not).
 *
 * @example
 * isSafeReturnTo('/castles?page=2'); // true
 * isSafeReturnTo('//evil.com');      // false
 * isSafeReturnTo('/%2F%2Fevil.com'); // false
 */
export function isSafeReturnTo(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO_LENGTH) return false;
  let decoded = value;
  // Encoded variants (`/%2F%2Fevil`, `%252F`...) are harmless to a browser but not to every proxy
  // or framework that decodes again downstream: every decoding layer must pass too.
  for (let depth = 0; depth < 5; depth++) {
    if (looksDangerous(decoded)) return false;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return false;
    }
    if (next === decoded) break;
    decoded = next;
  }
  if (decoded !== value && looksDangerous(decoded)) return false;
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return false;
  }
  return url.origin === PLACEHOLDER_ORIGIN && !url.pathname.startsWith('//');
}

/**
 * Returns `value` when it is a safe same-site path (see {@link isSafeReturnTo}), else `fallback`.
 * Used for the `returnTo` of the login route, the only user input that becomes a redirect.
 *
 * @example
 * sanitizeReturnTo('https://evil.com/'); // '/'
 * sanitizeReturnTo('/castles', '/home'); // '/castles'
 */
export function sanitizeReturnTo(value: unknown, fallback = '/'): string {
  return isSafeReturnTo(value) ? value : fallback;
}
