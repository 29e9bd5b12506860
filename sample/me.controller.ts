import { BadRequestException, Body, Controller, Get, Patch } from '@nestjs/common';
import { AccessToken, Acr, CurrentUser, FiefACR, FiefService, type FiefUserInfo } from '../lib/index.js';

/** The caller's own profile: read through the user info cache, updated through Fief's API. */
@Controller('me')
export class MeController {
  constructor(private readonly fief: FiefService) {}

  @Get() // GET /me
  me(@CurrentUser() user: FiefUserInfo): FiefUserInfo {
    return user;
  }

  @Patch() // PATCH /me: Fief down → 503 + Retry-After, Fief refusing → its 4xx (FiefErrorFilter)
  update(@AccessToken() token: string, @Body() body: { fields?: unknown }): Promise<FiefUserInfo> {
    if (body?.fields === null || typeof body?.fields !== 'object' || Array.isArray(body.fields)) {
      throw new BadRequestException('Send { "fields": { "first_name": "..." } }.');
    }
    return this.fief.updateProfile(token, { fields: body.fields }); // also drops this token's cached user info
  }

  @Patch('password') // PATCH /me/password: needs a fresh login (ACR 1)
  @Acr(FiefACR.LEVEL_ONE)
  changePassword(@AccessToken() token: string, @Body('password') password: string): Promise<FiefUserInfo> {
    return this.fief.changePassword(token, password);
  }
}
