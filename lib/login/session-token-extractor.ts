import type { ExecutionContext } from '@nestjs/common';
import type { FiefCredentialSource } from '../auth/credential-source.js';
import { bearerHeaderExtractor, type FiefTokenExtractor } from '../auth/token-extractor.js';
import type { FiefSessionService } from './session.service.js';

/**
 * The login flow's session cookie as a credential source of the authentication pipeline (what
 * `FiefModule` plugs in when `login` is given): present when the request carries the cookie; read,
 * it is the session's access token, refreshed once it has expired with the new cookie set on the
 * response. A tampered, expired or foreign cookie reads as no credential (and is cleared).
 *
 * @param sessionsOf the session service of a tenant (`undefined`: the only one).
 */
export function createFiefSessionSource(sessionsOf: (tenant: string | undefined) => FiefSessionService): FiefCredentialSource {
  return {
    // Without the response a refreshed session could not be re-set, and Fief's refresh token
    // rotation would end it on the next request: only HTTP reads the cookie.
    types: ['http'],
    isPresent: (request, tenant) => sessionsOf(tenant).hasCookie(request),
    async read(request, response, tenant) {
      const session = await sessionsOf(tenant).authenticate(request, response);
      return session?.accessToken;
    },
  };
}

/**
 * A token extractor that accepts the login flow's session cookie as well as a bearer header, for a
 * guard of your own. The header wins when both are sent; otherwise the session's access token is
 * used, refreshed once it has expired. (`FiefAuthGuard` and `AuthGuard('fief')` read the cookie
 * through the module's pipeline, which also refuses a header and a cookie of different users.)
 *
 * @param sessions the app's {@link FiefSessionService}.
 * @param bearer the extractor tried first. @default bearerHeaderExtractor
 * @example
 * const extractor = createFiefSessionExtractor(sessions, apiKeyHeaderExtractor);
 * const accessToken = await extractor.extract(request, context); // undefined: no credential at all
 */
export function createFiefSessionExtractor(
  sessions: FiefSessionService,
  bearer: FiefTokenExtractor = bearerHeaderExtractor,
): FiefTokenExtractor {
  return {
    async extract(request: any, context?: ExecutionContext): Promise<string | undefined> {
      const token = await bearer.extract(request, context);
      if (token !== undefined || !sessions.enabled) return token;
      if (context?.getType() !== 'http') return undefined;
      const session = await sessions.authenticate(request, context.switchToHttp().getResponse());
      return session?.accessToken;
    },
  };
}
