import {
  Catch,
  Inject,
  Optional,
  UnauthorizedException,
  type ArgumentsHost,
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
export class FiefLoginRedirectFilter extends BaseExceptionFilter {
  private readonly loginPath: string;

  constructor(
    adapterHost: HttpAdapterHost,
    @Optional() @Inject(FIEF_LOGIN_OPTIONS) options?: ResolvedFiefLoginOptions,
  ) {
    super(adapterHost.httpAdapter);
    this.loginPath = options?.loginPath ?? '/auth/login';
  }

  override catch(exception: UnauthorizedException, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const request = host.switchToHttp().getRequest<PageRequest>();
    if (!this.isPageLoad(request)) return super.catch(exception, host);
    const returnTo = sanitizeReturnTo(request.originalUrl ?? request.url);
    const location = `${this.loginPath}?returnTo=${encodeURIComponent(returnTo)}`;
    this.applicationRef!.redirect(host.switchToHttp().getResponse(), 302, location);
  }

  /** Whether the request is a browser loading a page, which a redirect serves better than a 401. */
  protected isPageLoad(request: PageRequest): boolean {
    const method = request.method?.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return false;
    const accept = request.headers.accept;
    return (Array.isArray(accept) ? accept.join(',') : accept ?? '').toLowerCase().includes('text/html');
  }
}
