import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { FiefError } from '../client/errors.js';
import type { FiefStore } from '../store/fief-store.interface.js';
import { FIEF_STORE } from '../store/fief-store.providers.js';
import { parseFiefWebhookEvent, type FiefWebhookEvent } from './fief-webhook-event.js';
import { FIEF_WEBHOOK_OPTIONS, type ResolvedFiefWebhookOptions } from './fief-webhook-options.js';
import { isValidFiefWebhookSignature } from './fief-webhook-signature.js';
import { readRawBody, type RawBodyRequest } from './raw-body.js';

/** Where the guard leaves the verified event for `@FiefWebhookPayload()`. */
export const FIEF_WEBHOOK_EVENT = Symbol('FIEF:WEBHOOK_EVENT');

const TIMESTAMP_FORMAT = /^\d{1,15}$/;
const JSON_TYPE = /^application\/json\s*(;|$)/i;
const RAW_BODY_HELP =
  'FiefWebhookGuard cannot verify webhooks: the raw request body is not available, and a re-serialized body is not what Fief signed. ' +
  'Create the app with NestFactory.create(AppModule, { rawBody: true }) (Express and Fastify alike).';
/** How often the misconfiguration is logged while deliveries keep arriving. */
const RAW_BODY_LOG_EVERY_MS = 60_000;

interface WebhookRequest extends RawBodyRequest {
  headers: Record<string, string | string[] | undefined>;
  [FIEF_WEBHOOK_EVENT]?: FiefWebhookEvent;
}

/**
 * Lets a request through only when it is a genuine, fresh, first delivery of a Fief webhook:
 *
 * - `X-Fief-Webhook-Signature` is Fief's HMAC-SHA256 of `"{X-Fief-Webhook-Timestamp}.{raw body}"`
 *   under one of the configured secrets (checked in constant time), else 401;
 * - the timestamp is within `tolerance` of our clock, else 401;
 * - the same delivery (timestamp and signature) was not accepted before, on any instance sharing
 *   the `store`, else 409; a store that cannot tell answers 503;
 * - the body is `application/json` (415), at most `maxBodyBytes` (413) and a Fief event (400).
 *
 * The handler reads the event with `@FiefWebhookPayload()`. It needs the app created with
 * `rawBody: true`; without it every delivery is refused with 503 and the fix is logged.
 *
 * @example
 * @Post('fief') @Public() @UseGuards(FiefWebhookGuard)
 * handle(@FiefWebhookPayload() event: FiefWebhookEvent) { … }
 */
@Injectable()
export class FiefWebhookGuard implements CanActivate {
  private readonly logger = new Logger('FiefWebhook');
  private readonly options: ResolvedFiefWebhookOptions;
  private lastRawBodyLog = Number.NEGATIVE_INFINITY;

  /** @throws FiefError at start-up when the `webhooks` option is not configured. */
  constructor(
    @Inject(FIEF_WEBHOOK_OPTIONS) options: ResolvedFiefWebhookOptions | null,
    @Inject(FIEF_STORE) private readonly store: FiefStore,
  ) {
    if (!options) {
      throw new FiefError('FiefWebhookGuard is used but webhooks are not configured: give FiefModule the `webhooks: { secret }` option.');
    }
    this.options = options;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') throw new UnauthorizedException('Fief webhooks arrive over HTTP only.');
    const request = context.switchToHttp().getRequest<WebhookRequest>();
    const timestamp = singleHeader(request, 'x-fief-webhook-timestamp');
    const signature = singleHeader(request, 'x-fief-webhook-signature');
    if (timestamp === undefined || signature === undefined) {
      throw new UnauthorizedException('A Fief webhook needs one X-Fief-Webhook-Timestamp and one X-Fief-Webhook-Signature header.');
    }
    if (!TIMESTAMP_FORMAT.test(timestamp)) throw new UnauthorizedException('X-Fief-Webhook-Timestamp is not a unix time in seconds.');
    // Fief sends JSON only; other types would meet other body parsers, some of which keep no raw bytes.
    if (!JSON_TYPE.test(singleHeader(request, 'content-type') ?? '')) {
      throw new UnsupportedMediaTypeException('A Fief webhook is sent as application/json.');
    }

    const raw = await readRawBody(request, this.options.maxBodyBytes);
    if ('tooLarge' in raw) throw new PayloadTooLargeException(`A Fief webhook body is at most ${this.options.maxBodyBytes} bytes.`);
    if ('aborted' in raw) throw new BadRequestException('The webhook body could not be read.');
    if ('unavailable' in raw) {
      this.logRawBodyMissing();
      throw new ServiceUnavailableException('This app cannot verify Fief webhooks yet (see its log).');
    }

    const age = Math.floor(Date.now() / 1000) - Number(timestamp);
    if (Math.abs(age) > this.options.tolerance) {
      throw new UnauthorizedException(`The webhook's timestamp is ${Math.abs(age)} s away from our clock; at most ${this.options.tolerance} s is accepted.`);
    }
    if (!isValidFiefWebhookSignature(this.options.secrets, timestamp, signature, raw.body)) {
      throw new UnauthorizedException('The webhook signature does not match.');
    }

    const event = parseFiefWebhookEvent(raw.body);
    if ('invalid' in event) throw new BadRequestException(event.invalid);

    // Claimed last, so only genuine deliveries take room in the store. It lives as long as the
    // timestamp is accepted: after that, the tolerance check refuses a replay on its own.
    const ttl = (Number(timestamp) + this.options.tolerance + 1) * 1000 - Date.now();
    let first: boolean;
    try {
      first = await this.store.setIfAbsent(`webhook:${timestamp}.${signature.toLowerCase()}`, '1', Math.max(1000, ttl));
    } catch (error) {
      this.logger.warn(`Cannot check a webhook delivery for replay, refused with 503: ${(error as Error)?.message}`);
      throw new ServiceUnavailableException('The webhook cannot be checked for replay right now; deliver it again later.');
    }
    if (!first) throw new ConflictException('This webhook delivery was already received.');
    request[FIEF_WEBHOOK_EVENT] = event;
    return true;
  }

  private logRawBodyMissing(): void {
    const now = Date.now();
    if (now - this.lastRawBodyLog < RAW_BODY_LOG_EVERY_MS) return;
    this.lastRawBodyLog = now;
    this.logger.error(RAW_BODY_HELP);
  }
}

function singleHeader(request: WebhookRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
