import { Controller, Get } from '@nestjs/common';
import { Public } from '../lib/index.js';

/** Liveness probe: public, and up even while Fief is down. */
@Controller('health')
export class HealthController {
  @Get()
  @Public()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
