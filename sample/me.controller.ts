import { BadRequestException, Body, Controller, Get, Patch } from '@nestjs/common';
import { AccessToken, CurrentUser, FiefService } from '../lib/index.js';
import type { FiefUserInfo } from '../lib/index.js';

/** The caller's own profile: read through the user info cache, updated through Fief's API. */
@Controller('me')
export class MeController {
  constructor(private readonly fief: FiefService) {}

  @Get()
  me(@CurrentUser() user: FiefUserInfo): FiefUserInfo {
    return user;
  }

  @Patch()
  update(@AccessToken() accessToken: string, @Body() body: { fields?: unknown }): Promise<FiefUserInfo> {
    if (body?.fields === null || typeof body?.fields !== 'object' || Array.isArray(body.fields)) {
      throw new BadRequestException('Send { "fields": { "first_name": "..." } }.');
    }
    return this.fief.updateProfile(accessToken, { fields: body.fields });
  }
}
