import type { ExecutionContext } from '@nestjs/common';
import { bearerHeaderExtractor, type FiefTokenExtractor } from '../auth/token-extractor.js';
import type { FiefSessionService } from './session.service.js';

/**
 * A token extractor for `FiefAuthGuard` that accepts the login flow's session cookie as well as a
 * bearer header. The header wins when both are sent (API clients keep working inside a logged-in
 * browser); otherwise the session's access token is used, refreshed once it has expired, with the
 * new cookie set on the response. A tampered, expired or foreign cookie counts as no credential.
 *
 * `FiefAuthGuard` reads the cookie this way when `FiefModule` has `login` options; use it yourself to
 * put the cookie behind another extractor, or in a guard of your own.
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
      // Without the response a refreshed session could not be re-set, and Fief's refresh token
      // rotation would end it on the next request: only HTTP contexts read the cookie.
      if (context?.getType() !== 'http') return undefined;
      const session = await sessions.authenticate(request, context.switchToHttp().getResponse());
      return session?.accessToken;
    },
  };
}
