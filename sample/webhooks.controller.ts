import { Controller, HttpCode, Logger, Post, UseGuards } from '@nestjs/common';
import { FiefWebhookGuard, FiefWebhookPayload, isKnownFiefWebhookEvent, Public, type FiefWebhookEvent } from '../lib/index.js';

/** Receives Fief's webhooks (verified by `FiefWebhookGuard`) and logs them. */
@Controller('webhooks')
export class WebhooksController {
  private readonly logger = new Logger('FiefEvents');

  @Post('fief')
  @Public()
  @UseGuards(FiefWebhookGuard)
  @HttpCode(204)
  receive(@FiefWebhookPayload() event: FiefWebhookEvent): void {
    if (!isKnownFiefWebhookEvent(event)) {
      this.logger.warn(`Fief event of a type this version does not know: ${event.type}`);
      return;
    }
    switch (event.type) {
      case 'user.created':
      case 'user.updated':
      case 'user.deleted':
        this.logger.log(`${event.type}: ${event.data.email} (${event.data.id})`);
        break;
      case 'user_permission.created':
      case 'user_permission.deleted':
        this.logger.log(`${event.type}: ${event.data.permission?.codename ?? event.data.permission_id} for user ${event.data.user_id}`);
        break;
      default:
        this.logger.log(`${event.type}`);
    }
  }
}
