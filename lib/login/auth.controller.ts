import {
  BadGatewayException,
  BadRequestException,
  Controller,
  Get,
  Header,
  Inject,
  Logger,
  Query,
  Redirect,
  Req,
  Res,
  ServiceUnavailableException,
  SetMetadata,
  UnauthorizedException,
  type HttpRedirectResponse,
  type Type,
} from '@nestjs/common';
import { FiefError, FiefIdTokenInvalid, FiefRequestError, FiefUnavailableError } from '../client/errors.js';
import type { FiefTokenResponse, FiefUserInfo } from '../client/types.js';
import { FIEF_PUBLIC_KEY } from '../fief.constants.js';
import type { CookieRequest, CookieResponse } from './http-cookies.js';
import { FIEF_LOGIN_OPTIONS } from './login.constants.js';
import { FiefCookieTooLargeError } from './login.errors.js';
import type { ResolvedFiefLoginOptions } from './login-options.interface.js';
import { FiefLoginTenants, type FiefLoginScope } from './login-tenants.js';
import { FiefLoginTransactions } from './login-transaction.service.js';
import { sanitizeReturnTo } from './return-to.js';
import { FiefSessionService, type FiefSession } from './session.service.js';

const TRANSACTION_FAILURES = {
  'malformed-state': 'The login callback has no valid state. Start the login again.',
  replayed: 'This login was already completed. Start the login again.',
  missing:
    'No login is in progress for this state (it expired, was already used, or began in another browser). Start the login again.',
} as const;

/** Fief's `error_description` is shown to the user: keep it printable and short. */
function describeFiefError(error: unknown, description: unknown): string {
  const clean = (value: unknown) =>
    typeof value === 'string' ? value.replace(/[^\x20-\x7E]/g, '').slice(0, 200) : '';
  const code = clean(error) || 'unknown_error';
  const detail = clean(description);
  return `Fief did not log you in: ${code}${detail ? ` (${detail})` : ''}.`;
}

function redirect(url: string): HttpRedirectResponse {
  return { url, statusCode: 302 };
}

/**
 * Builds the auth controller of the browser login flow, mounted at `path` (default `auth`):
 *
 * - `GET /auth/login?returnTo=/path` → 302 to Fief (state, PKCE S256, nonce), transaction cookie set;
 * - `GET /auth/callback` → checks the transaction, exchanges the code, sets the session cookie, 302 to `returnTo`;
 * - `GET /auth/logout` → clears the session, 302 to Fief's logout, which returns to `postLogoutRedirectUri`;
 * - `GET /auth/me` → the logged-in user as JSON, 401 when logged out.
 *
 * It needs `FIEF_LOGIN_OPTIONS`, `FIEF_LOGIN_CLIENT`, {@link FiefSessionService} and
 * {@link FiefLoginTransactions} as providers; `FiefLoginModule` and `FiefModule` provide them.
 *
 * @example
 * @Module({ controllers: [createFiefAuthController('auth')], providers: [...] })
 */
export function createFiefAuthController(path = 'auth', mount: { whenLoginOff?: 'error' | 'not-found' } = {}): Type<unknown> {
  @Controller(path)
  // These routes are how one gets a credential: a global FiefAuthGuard must let them through.
  @SetMetadata(FIEF_PUBLIC_KEY, true)
  class FiefAuthController {
    private readonly logger = new Logger('FiefAuth');

    constructor(
      @Inject(FIEF_LOGIN_OPTIONS) options: ResolvedFiefLoginOptions | null,
      // Each request's options, Fief client, sessions and transactions: its tenant's.
      private readonly tenants: FiefLoginTenants,
    ) {
      // Mounted by default (forRootAsync) with no `login` in the factory's result: the routes answer 404.
      if (!options && mount.whenLoginOff === 'not-found') return;
      if (!options) {
        throw new FiefError(
          `The auth controller is mounted at /${path} but the login flow is not configured: give the \`login\` options (redirectUri, cookieSecret).`,
        );
      }
    }

    /** Sends the browser to Fief's login page. */
    @Get('login')
    @Header('Cache-Control', 'no-store')
    @Redirect()
    async login(
      @Query('returnTo') returnTo: unknown,
      @Req() request: CookieRequest,
      @Res({ passthrough: true }) response: CookieResponse,
    ): Promise<HttpRedirectResponse> {
      const scope = await this.scope(request);
      // Any returnTo is either a bounded, percent-encoded same-site path or the default: the
      // transaction cookie stays under 4 KB and the final Location is valid on every adapter.
      const transaction = await scope.transactions.begin(
        request,
        response,
        sanitizeReturnTo(returnTo, scope.options.defaultReturnTo),
      );
      try {
        const url = await scope.client.authUrl(scope.options.redirectUri, {
          state: transaction.state,
          scope: scope.options.scope,
          codeChallenge: await scope.client.getCodeChallenge(transaction.codeVerifier, 'S256'),
          codeChallengeMethod: 'S256',
          nonce: transaction.nonce,
          ...(scope.options.lang && { lang: scope.options.lang }),
        });
        return redirect(url);
      } catch (error) {
        throw this.fiefFailure(error, 'build the login URL', ServiceUnavailableException);
      }
    }

    /** Where Fief sends the browser back: finishes the login. */
    @Get('callback')
    @Header('Cache-Control', 'no-store')
    @Redirect()
    async callback(
      @Query() query: Record<string, unknown>,
      @Req() request: CookieRequest,
      @Res({ passthrough: true }) response: CookieResponse,
    ): Promise<HttpRedirectResponse> {
      const scope = await this.scope(request);
      const transaction = await scope.transactions.consume(request, response, query.state);
      if (query.error !== undefined) {
        throw new BadRequestException(describeFiefError(query.error, query.error_description));
      }
      if (typeof transaction === 'string') throw new BadRequestException(TRANSACTION_FAILURES[transaction]);
      if (typeof query.code !== 'string' || query.code.length === 0) {
        throw new BadRequestException('The login callback has no authorization code. Start the login again.');
      }
      // Checked before the code is spent: a Location the adapter cannot send would lose the login.
      const returnTo = sanitizeReturnTo(transaction.returnTo, scope.options.defaultReturnTo);

      let tokens: FiefTokenResponse;
      try {
        [tokens] = await scope.client.authCallback(query.code, scope.options.redirectUri, {
          codeVerifier: transaction.codeVerifier,
          nonce: transaction.nonce,
        });
      } catch (error) {
        if (error instanceof FiefRequestError && error.status < 500) {
          if (/\binvalid_client\b/.test(error.detail)) {
            this.logger.warn(
              `Fief refused the client credentials (invalid_client) when exchanging a login code: check clientSecret ` +
                `(and login.publicClient) against the Fief client. ${error.detail.slice(0, 200)}`,
            );
          }
          throw new BadRequestException(
            `Fief refused the authorization code (${error.status}: ${error.detail.slice(0, 200)}). Start the login again.`,
          );
        }
        if (error instanceof FiefIdTokenInvalid) {
          throw new BadRequestException(`The ID token from Fief failed verification (${error.message}). Start the login again.`);
        }
        throw this.fiefFailure(error, 'exchange the authorization code', BadGatewayException);
      }

      try {
        await scope.sessions.write(response, scope.sessions.fromTokens(tokens));
      } catch (error) {
        // Fief's tokens cannot be kept (too many permissions for a cookie): an upstream answer this
        // app cannot use, so a 502 that says why, not a 500.
        if (error instanceof FiefCookieTooLargeError) {
          this.logger.error(error.message);
          throw new BadGatewayException(error.message);
        }
        throw error;
      }
      return redirect(returnTo);
    }

    /** Ends the session here, then at Fief. */
    @Get('logout')
    @Header('Cache-Control', 'no-store')
    @Redirect()
    async logout(@Req() request: CookieRequest, @Res({ passthrough: true }) response: CookieResponse): Promise<HttpRedirectResponse> {
      const scope = await this.scope(request);
      scope.sessions.clear(response);
      try {
        return redirect(await scope.client.logoutUrl(scope.options.postLogoutRedirectUri));
      } catch (error) {
        throw this.fiefFailure(error, 'build the logout URL', ServiceUnavailableException);
      }
    }

    /** The logged-in user, fresh from Fief; 401 when logged out. */
    @Get('me')
    @Header('Cache-Control', 'no-store')
    async me(
      @Req() request: CookieRequest,
      @Res({ passthrough: true }) response: CookieResponse,
    ): Promise<FiefUserInfo> {
      const scope = await this.scope(request);
      let session: FiefSession | undefined;
      try {
        session = await scope.sessions.authenticate(request, response);
      } catch (error) {
        throw this.fiefFailure(error, 'refresh the session', ServiceUnavailableException);
      }
      if (!session) throw new UnauthorizedException('Not logged in.');
      try {
        return await scope.client.userinfo(session.accessToken);
      } catch (error) {
        if (error instanceof FiefRequestError && (error.status === 401 || error.status === 403)) {
          scope.sessions.clear(response);
          throw new UnauthorizedException('The session is no longer valid. Log in again.');
        }
        throw this.fiefFailure(error, 'fetch the user', ServiceUnavailableException);
      }
    }

    /** The tenant's options and services for this request (the module's own with one tenant). */
    private scope(request: CookieRequest): Promise<FiefLoginScope> {
      return this.tenants.forRequest(request);
    }

    /** Fief could not be used: a 502/503 with a clear message, never a bare 500. */
    private fiefFailure(
      error: unknown,
      action: string,
      Exception: typeof BadGatewayException | typeof ServiceUnavailableException,
    ): Error {
      if (!(error instanceof FiefError)) return error as Error;
      const reason = error instanceof FiefUnavailableError ? 'Fief is unavailable' : 'Fief gave an unusable answer';
      this.logger.warn(`Could not ${action}: ${error.message}`);
      return new Exception(`${reason}; could not ${action}. Try again in a moment.`);
    }
  }
  return FiefAuthController;
}
