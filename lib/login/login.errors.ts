import { FiefError } from '../client/errors.js';

/**
 * A cookie would pass the browser's 4 KB limit. Browsers drop such a cookie silently, which would
 * look like a login that "does not stick"; this error says why instead.
 */
export class FiefCookieTooLargeError extends FiefError {
  static override readonly code: string = 'FIEF_COOKIE_TOO_LARGE';

  constructor(
    /** Name of the cookie. */
    readonly cookieName: string,
    /** Size of `name=value`, in bytes. */
    readonly size: number,
  ) {
    super(
      `The cookie "${cookieName}" would be ${size} bytes, over the browser limit of 4096: browsers would drop it. ` +
        'Ask Fief for fewer scopes or permissions, or use shorter tokens.',
    );
  }
}
