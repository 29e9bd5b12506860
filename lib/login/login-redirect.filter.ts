import {
  Catch,
  ForbiddenException,
  HttpException,
  Inject,
  Optional,
  ServiceUnavailableException,
  UnauthorizedException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { ResolvedFiefLoginOptions } from './login-options.interface.js';
import { refusalPage } from './refusal-page.js';
import { sanitizeReturnTo } from './return-to.js';

interface PageRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * For browsers loading a page (`GET`/`HEAD` accepting `text/html` and not JSON), turns the guard's
 * refusals into what a person can use: a 401 becomes a 302 to the login route
 * (`/auth/login?returnTo=<this page>`); a 403 or 503 keeps its status and headers but answers a
 * small HTML page with a way back (home, and log in as someone else / try again) instead of JSON.
 * Everything else (API calls, `fetch`, form posts) keeps Nest's JSON answer. Applied by
 * {@link LoginRedirect}; not meant to be global.
 */
@Catch(UnauthorizedException, ForbiddenException, ServiceUnavailableException)
export class FiefLoginRedirectFilter implements ExceptionFilter<HttpException> {
  private readonly loginPath: string;

  constructor(
    // Read at catch time: the HTTP adapter is attached after providers are built (e.g. in tests).
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(FIEF_LOGIN_OPTIONS) options?: ResolvedFiefLoginOptions,
  ) {
    this.loginPath = options?.loginPath ?? '/auth/login';
  }

  catch(exception: HttpException, host: ArgumentsHost): unknown {
    // Pages are HTTP; other transports (GraphQL reads a filter's return value) get the error back.
    if (host.getType() !== 'http') return exception;
    const adapter = this.adapterHost.httpAdapter;
    const request = host.switchToHttp().getRequest<PageRequest>();
    // Anything but a page load gets Nest's own answer, exactly as without this filter.
    if (!this.isPageLoad(request)) return new BaseExceptionFilter(adapter).catch(exception, host);
    const page = sanitizeReturnTo(request.originalUrl ?? request.url);
    const response = host.switchToHttp().getResponse();
    const status = exception.getStatus();
    if (status === 401) {
      adapter.redirect(response, 302, `${this.loginPath}?returnTo=${encodeURIComponent(page)}`);
      return undefined;
    }
    // The guard already set WWW-Authenticate / Retry-After on the response: they stay.
    adapter.setHeader(response, 'Content-Type', 'text/html; charset=utf-8');
    adapter.setHeader(response, 'Cache-Control', 'no-store');
    adapter.reply(response, this.renderRefusal(status === 403 ? 403 : 503, page, exception), status);
    return undefined;
  }

  /** The HTML of a refused page load (403 or 503); override to match the app's look. */
  protected renderRefusal(status: 403 | 503, page: string, exception: HttpException): string {
    const body = exception.getResponse();
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    return refusalPage(status, page, this.loginPath, typeof message === 'string' ? message : undefined);
  }

  /** Whether the request is a browser loading a page, which a redirect or a page serves better than JSON. */
  protected isPageLoad(request: PageRequest): boolean {
    const method = request.method?.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return false;
    const header = request.headers.accept;
    const accept = (Array.isArray(header) ? header.join(',') : header ?? '').toLowerCase();
    return accept.includes('text/html') && !accept.includes('json');
  }
}
