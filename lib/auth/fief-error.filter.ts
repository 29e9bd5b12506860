import { Catch, HttpException, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { throwError } from 'rxjs';
import { FiefAccessTokenInvalid, FiefError, FiefIdTokenInvalid, FiefRequestError, FiefUnavailableError } from '../client/errors.js';
import { FiefService } from '../fief.service.js';
import { refusalHeaders, toAuthFailure } from './fief-auth-responses.js';

/** What a {@link FiefError} thrown by an app's handler is answered with. */
export interface FiefErrorAnswer {
  status: number;
  /** Nest's body: `{ statusCode, error, message }`, plus the error's `code` when it has one. */
  body: { statusCode: number; error: string; message: string; code?: string };
  headers: [name: string, value: string][];
}

// Statuses of Fief's refusals that mean the same to the app's caller (a profile field Fief rejects is
// the caller's 400 or 422, an unknown user their 404). Other 4xx are this app's bug: 502.
const PASSED_THROUGH = new Set([400, 401, 403, 404, 409, 422]);
// Nest's own `error` texts, so these bodies look like those of its exceptions.
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};
const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '').slice(0, 300);

/** Fief's own words for a refusal: `detail` (FastAPI), `error_description` or `error` (OAuth), else the body. */
function fiefDetail(error: FiefRequestError): string {
  try {
    const body = JSON.parse(error.detail) as Record<string, unknown>;
    const detail = body.detail ?? body.error_description ?? body.error;
    return printable(typeof detail === 'string' ? detail : JSON.stringify(detail));
  } catch {
    return printable(error.detail);
  }
}

/**
 * How a {@link FiefError} maps to an HTTP answer: Fief unreachable → 503 + `Retry-After`; an
 * invalid or expired token (the client's check, or Fief's 401) → 401 `invalid_token`; a missing
 * scope, permission or ACR → 403; Fief refusing the request → the same 4xx with Fief's detail;
 * anything else → 503 (never 500: the app could not do what Fief was needed for).
 */
export function answerFiefError(error: FiefError, realm = 'fief', retryAfter = 10): FiefErrorAnswer {
  const answer = (status: number, message: string, headers: [string, string][] = []): FiefErrorAnswer => {
    const code = (error as { code?: unknown }).code;
    return {
      status,
      body: { statusCode: status, error: REASONS[status] ?? 'Error', message, ...(typeof code === 'string' && { code }) },
      headers,
    };
  };
  if (error instanceof FiefRequestError && error.status !== 401) {
    if (error.status === 429) {
      return answer(503, 'Fief is rate-limiting this app; try again later.', [['Retry-After', String(retryAfter)]]);
    }
    if (PASSED_THROUGH.has(error.status)) return answer(error.status, `Fief refused the request: ${fiefDetail(error)}`);
    return answer(502, `Fief refused the request (${error.status}); this is a bug of the app, not of the caller.`);
  }
  if (error instanceof FiefIdTokenInvalid) return answer(401, `The ID token failed verification: ${printable(error.message)}`);
  const failure = toAuthFailure(error, undefined, retryAfter);
  const message =
    failure.status === 503 && !(error instanceof FiefUnavailableError) && !(error instanceof FiefAccessTokenInvalid)
      ? 'Fief could not be used for this request; try again later.'
      : failure.description;
  return answer(failure.status, message, refusalHeaders(realm, { ...failure, description: printable(failure.description) }));
}

/**
 * Answers the {@link FiefError}s that an app's own handlers let escape from `FiefService` calls
 * (`updateProfile`, `userinfo`, `changePassword`, …) as {@link answerFiefError} says, instead of
 * Nest's 500. `FiefModule` registers it app-wide (`APP_FILTER`); turn that off with
 * `errorFilter: false`, or apply it yourself with `@UseFilters(FiefErrorFilter)`.
 *
 * HTTP gets the status, headers and Nest's JSON body; GraphQL gets an `HttpException` of the same
 * status; microservices an error `{ status: 'error', statusCode, message }`; socket.io an
 * `exception` event of that shape, as `FiefTransportAuthGuard` answers.
 *
 * @example
 * @Patch()
 * update(@AccessToken() token: string, @Body() body: { fields: Record<string, unknown> }) {
 *   return this.fief.updateProfile(token, { fields: body.fields }); // Fief down → 503 + Retry-After
 * }
 */
@Catch(FiefError)
export class FiefErrorFilter implements ExceptionFilter<FiefError> {
  private readonly logger = new Logger('FiefErrorFilter');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly fief?: FiefService,
  ) {}

  catch(error: FiefError, host: ArgumentsHost): unknown {
    const { realm, retryAfter } = this.fief?.options ?? { realm: 'fief', retryAfter: 10 };
    const { status, body, headers } = answerFiefError(error, realm, retryAfter);
    if (status >= 500) this.logger.warn(`${error.name} answered ${status}: ${error.message}`);
    const type = host.getType<string>();
    if (type === 'http') {
      const response = host.switchToHttp().getResponse();
      const adapter = this.adapterHost.httpAdapter;
      for (const [name, value] of headers) adapter.setHeader(response, name, value);
      adapter.reply(response, body, status);
      return undefined;
    }
    const shaped = { status: 'error', statusCode: status, message: body.message };
    if (type === 'rpc') return throwError(() => shaped);
    if (type === 'ws') {
      (host.switchToWs().getClient() as { emit?: (event: string, data: unknown) => unknown }).emit?.('exception', shaped);
      return undefined;
    }
    // GraphQL reads the filter's return value: an HttpException becomes an error with its status.
    return new HttpException(body, status, { cause: error });
  }
}
