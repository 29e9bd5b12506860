import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { FiefHealthIndicator } from '../lib/health/index.js';
import { Public } from '../lib/index.js';

/**
 * Readiness: `GET /health` is 200 while Fief's discovery and JWKS answer, 503 with the reason when
 * not (Terminus). `GET /health/live` is the liveness probe: up even while Fief is down, since the
 * app itself is fine and restarting it would not bring Fief back.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly fief: FiefHealthIndicator,
  ) {}

  @Get()
  @Public()
  @HealthCheck()
  ready() {
    return this.health.check([() => this.fief.isHealthy('fief')]);
  }

  @Get('live')
  @Public()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
