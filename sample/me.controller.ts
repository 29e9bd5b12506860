import { BadRequestException, Body, Controller, Get, Patch } from '@nestjs/common';
import { AccessToken, Acr, CurrentUser, FiefACR, FiefService, FiefTenant, type FiefUserInfo } from '../lib/index.js';

/**
 * The caller's own profile: read through the user info cache, updated through Fief's API (of the
 * caller's tenant, when the app serves two).
 */
@Controller('me')
export class MeController {
  constructor(private readonly fief: FiefService) {}

  @Get() // GET /me
  me(@CurrentUser() user: FiefUserInfo): FiefUserInfo {
    return user;
  }

  @Patch() // PATCH /me: Fief down → 503 + Retry-After, Fief refusing → its 4xx (FiefErrorFilter)
  update(@AccessToken() token: string, @FiefTenant() tenant: string | undefined, @Body() body: { fields?: unknown }): Promise<FiefUserInfo> {
    if (body?.fields === null || typeof body?.fields !== 'object' || Array.isArray(body.fields)) {
      throw new BadRequestException('Send { "fields": { "first_name": "..." } }.');
    }
    return this.fiefOf(tenant).updateProfile(token, { fields: body.fields }); // also drops this token's cached user info
  }

  @Patch('password') // PATCH /me/password: needs a fresh login (ACR 1)
  @Acr(FiefACR.LEVEL_ONE)
  changePassword(@AccessToken() token: string, @FiefTenant() tenant: string | undefined, @Body('password') password: string): Promise<FiefUserInfo> {
    return this.fiefOf(tenant).changePassword(token, password);
  }

  /** The caller's tenant's service; the module's own with one tenant. */
  private fiefOf(tenant: string | undefined): FiefService {
    return tenant === undefined ? this.fief : this.fief.forTenant(tenant);
  }
}
