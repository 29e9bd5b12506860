import { applyDecorators, SetMetadata, UseFilters } from '@nestjs/common';
import { FIEF_LOGIN_REDIRECT_METADATA } from './login.constants.js';
import { FiefLoginRedirectFilter } from './login-redirect.filter.js';

/**
 * Marks page routes (a handler or a whole controller): an unauthenticated browser loading them is
 * sent to the login route, and comes back here after logging in, instead of getting a 401.
 * API routes keep their 401. A logged-in user lacking a permission still gets 403, and Fief being
 * down 503, as a small HTML page with a way back when the browser asked for HTML (not JSON).
 *
 * @example
 * @Controller()
 * @UseGuards(FiefAuthGuard)
 * export class PagesController {
 *   @Get('castles') @LoginRedirect() @Render('castles')
 *   castles() { ... }
 * }
 */
export function LoginRedirect(): ClassDecorator & MethodDecorator {
  return applyDecorators(SetMetadata(FIEF_LOGIN_REDIRECT_METADATA, true), UseFilters(FiefLoginRedirectFilter));
}
