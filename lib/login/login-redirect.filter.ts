import {
  Catch,
  Inject,
  Optional,
  UnauthorizedException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { ResolvedFiefLoginOptions } from './login-options.interface.js';
import { sanitizeReturnTo } from './return-to.js';

interface PageRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Turns the guard's 401 into a 302 to the login route (`/auth/login?returnTo=<this page>`) for
 * browsers loading a page: `GET`/`HEAD` requests that accept `text/html`. Everything else (API
 * calls, `fetch`, form posts) keeps its 401. Applied by {@link LoginRedirect}; not meant to be global.
 */
@Catch(UnauthorizedException)
export class FiefLoginRedirectFilter implements ExceptionFilter<UnauthorizedException> {
  private readonly loginPath: string;

  constructor(
    // Read at catch time: the HTTP adapter is attached after providers are built (e.g. in tests).
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(FIEF_LOGIN_OPTIONS) options?: ResolvedFiefLoginOptions,
  ) {
    this.loginPath = options?.loginPath ?? '/auth/login';
  }

  catch(exception: UnauthorizedException, host: ArgumentsHost): unknown {
    // Pages are HTTP; other transports (GraphQL reads a filter's return value) get the error back.
    if (host.getType() !== 'http') return exception;
    const adapter = this.adapterHost.httpAdapter;
    const request = host.switchToHttp().getRequest<PageRequest>();
    // Anything but a page load gets Nest's own 401, exactly as without this filter.
    if (!this.isPageLoad(request)) return new BaseExceptionFilter(adapter).catch(exception, host);
    const returnTo = sanitizeReturnTo(request.originalUrl ?? request.url);
    adapter.redirect(host.switchToHttp().getResponse(), 302, `${this.loginPath}?returnTo=${encodeURIComponent(returnTo)}`);
  }

  /** Whether the request is a browser loading a page, which a redirect serves better than a 401. */
  protected isPageLoad(request: PageRequest): boolean {
    const method = request.method?.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return false;
    const accept = request.headers.accept;
    return (Array.isArray(accept) ? accept.join(',') : accept ?? '').toLowerCase().includes('text/html');
  }
}
