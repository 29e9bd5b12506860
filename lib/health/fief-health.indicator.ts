import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { FiefUnavailableError } from '../client/errors.js';
import { expectObject, requestFiefJson } from '../client/fief-http.js';
import type { FiefFetch } from '../client/types.js';
import { FiefService } from '../fief.service.js';

/** Options of {@link FiefHealthIndicator.isHealthy}. */
export interface FiefHealthCheckOptions {
  /** Time for discovery and the JWKS together, per tenant, in milliseconds. @default 3000 */
  timeout?: number;
  /** Check only this tenant (with several tenants). @default every tenant */
  tenant?: string;
}

/** What one probe found. */
interface Probe {
  status: 'up' | 'down';
  reason?: string;
}

/** What the probe reads from a tenant's options. */
interface ProbedOptions {
  baseURL: string;
  fetch?: FiefFetch;
}

const DEFAULT_TIMEOUT_MS = 3000;

/**
 * `@nestjs/terminus` health indicator (Terminus 11 and 12): Fief is up when its discovery document
 * and its JWKS (with at least one key) both answer within the timeout. It fetches them afresh, not
 * from the verification cache, so it reports what Fief does now. With several tenants, each is
 * probed at its own URL, and the indicator is up only when all are (details per tenant under `tenants`). Down comes with the
 * reason; Terminus then answers 503. Import it from `nestjs-fief/health`.
 *
 * @example
 * @Module({ imports: [TerminusModule, FiefModule.forRoot(…)], controllers: [HealthController], providers: [FiefHealthIndicator] })
 * // HealthController
 * @Get('health') @Public() @HealthCheck()
 * check() { return this.health.check([() => this.fief.isHealthy('fief')]); }
 */
@Injectable()
export class FiefHealthIndicator {
  private readonly inFlight = new Map<string, Promise<Probe>>();

  constructor(
    private readonly fief: FiefService,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  /** Probes Fief; `{ [key]: { status: 'up' | 'down', … } }`. */
  async isHealthy<const Key extends string = 'fief'>(key: Key = 'fief' as Key, options: FiefHealthCheckOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const names = this.fief.tenants?.names ?? [];
    if (names.length === 0) {
      const probe = await this.probe(this.fief.options, timeout);
      return (probe.status === 'up' ? indicator.up() : indicator.down({ reason: probe.reason })) as HealthIndicatorResult<Key>;
    }
    const chosen = options.tenant === undefined ? names : names.filter((name) => name === options.tenant);
    if (chosen.length === 0) {
      return indicator.down({ reason: `No Fief tenant is named ${JSON.stringify(options.tenant)}` }) as HealthIndicatorResult<Key>;
    }
    const probes = await Promise.all(chosen.map((name) => this.probe(this.fief.forTenant(name).options, timeout)));
    const tenants = Object.fromEntries(chosen.map((name, index) => [name, probes[index]]));
    const up = probes.every((probe) => probe.status === 'up');
    return (up ? indicator.up({ tenants }) : indicator.down({ tenants })) as HealthIndicatorResult<Key>;
  }

  /** One probe per tenant at a time: health checks arriving together share it. */
  private probe(options: ProbedOptions, timeout: number): Promise<Probe> {
    const flightKey = `${options.baseURL} ${timeout}`;
    let flight = this.inFlight.get(flightKey);
    if (!flight) {
      flight = probeFief(options, timeout).finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, flight);
    }
    return flight;
  }
}

async function probeFief(options: ProbedOptions, timeout: number): Promise<Probe> {
  const deadline = Date.now() + timeout;
  const fetch = options.fetch ?? globalThis.fetch;
  const remaining = () => Math.max(1, deadline - Date.now());
  try {
    const discovery = expectObject(
      await requestFiefJson({ fetch, timeout: remaining() }, 'discovery', `${options.baseURL}/.well-known/openid-configuration`),
      'discovery document',
    );
    const jwksUri = discovery.jwks_uri;
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new FiefUnavailableError('Fief discovery document has no valid "jwks_uri"');
    const jwks = expectObject(await requestFiefJson({ fetch, timeout: remaining() }, 'JWKS', jwksUri), 'JWKS');
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new FiefUnavailableError(`Fief JWKS at ${jwksUri} has no keys`);
    return { status: 'up' };
  } catch (error) {
    // Whatever went wrong is "down" with its reason, never an exception out of the indicator.
    return { status: 'down', reason: (error as Error)?.message ?? String(error) };
  }
}
