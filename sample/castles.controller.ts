import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { AccessTokenInfo, Permissions } from '../lib/index.js';
import type { FiefAccessTokenInfo } from '../lib/index.js';

/** A castle of the duchy, as in Fief's own examples. */
export interface Castle {
  name: string;
  createdBy: string;
}

/** The castles API of Fief's docs: reading needs `castles:read`, building needs `castles:create`. */
@Controller('castles')
export class CastlesController {
  private readonly castles: Castle[] = [{ name: 'Château des ducs de Bretagne', createdBy: 'seed' }];

  @Get()
  @Permissions('castles:read')
  list(): Castle[] {
    return this.castles;
  }

  @Post()
  @HttpCode(201)
  @Permissions('castles:create')
  create(@Body() body: { name?: unknown }, @AccessTokenInfo() token: FiefAccessTokenInfo): Castle {
    const name = typeof body?.name === 'string' && body.name.trim() ? body.name.trim() : 'Unnamed castle';
    const castle = { name, createdBy: token.id };
    this.castles.push(castle);
    return castle;
  }
}
