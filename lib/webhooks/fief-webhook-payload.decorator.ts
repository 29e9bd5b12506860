import { createParamDecorator, Logger, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { FiefWebhookEvent } from './fief-webhook-event.js';
import { FIEF_WEBHOOK_EVENT } from './fief-webhook.guard.js';

const logger = new Logger('FiefWebhook');

/**
 * The Fief event that `FiefWebhookGuard` verified. On a route without the guard there is none:
 * the request is refused (401) and the mistake logged, so an unverified body never reaches the handler.
 *
 * @example
 * @Post('fief') @Public() @UseGuards(FiefWebhookGuard)
 * handle(@FiefWebhookPayload() event: FiefWebhookEvent) { … }
 */
export const FiefWebhookPayload = createParamDecorator((_: unknown, context: ExecutionContext): FiefWebhookEvent => {
  const event = context.switchToHttp().getRequest<{ [FIEF_WEBHOOK_EVENT]?: FiefWebhookEvent }>()[FIEF_WEBHOOK_EVENT];
  if (!event) {
    logger.error(`@FiefWebhookPayload() on ${context.getClass().name}.${context.getHandler().name} needs @UseGuards(FiefWebhookGuard).`);
    throw new UnauthorizedException('This webhook was not verified.');
  }
  return event;
});
