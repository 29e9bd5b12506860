import { attributes, fiefInstruments } from './fief-metrics.js';
import { openTelemetryApi, type OtelAttributes } from './opentelemetry-api.js';
import { FIEF_ATTRIBUTE, FIEF_INSTRUMENTATION_SCOPE, FIEF_SPAN, type FiefCallKind } from './telemetry-names.js';

/** What the traced call tells its span: the HTTP status Fief answered, once there is one. */
export interface FiefCallRecord {
  status?: number;
}

/** A call to Fief, described for its span. */
export interface FiefCallDescription {
  /** The client's name for the call ("discovery", "JWKS", "token endpoint", "userinfo", "profile update"…). */
  what: string;
  method: string;
  url: string;
  tenant?: string;
}

const SPAN_NAMES: Record<FiefCallKind, string> = {
  discovery: FIEF_SPAN.discovery,
  jwks: FIEF_SPAN.jwks,
  token: FIEF_SPAN.token,
  userinfo: FIEF_SPAN.userinfo,
  user_api: FIEF_SPAN.userApi,
};

/** The kind of call, from the client's name for it: every name not of the first four is the user API. */
export function fiefCallKind(what: string): FiefCallKind {
  const name = what.toLowerCase();
  if (name.includes('discovery')) return 'discovery';
  if (name.includes('jwks')) return 'jwks';
  if (name.startsWith('token')) return 'token';
  if (name === 'userinfo') return 'userinfo';
  return 'user_api';
}

/**
 * Runs one call to Fief inside a CLIENT span named for its kind (`fief.discovery`, `fief.jwks`,
 * `fief.token`, `fief.userinfo`, `fief.user_api`), made the active span so that an instrumented `fetch`
 * nests under it, and records its duration in `fief.client.request.duration`. A failure (no answer, a
 * status other than 2xx, a body that is not what was expected) sets the span's status to ERROR with
 * `error.type`. Without `@opentelemetry/api` the call runs as it is.
 */
export function traceFiefCall<T>(call: FiefCallDescription, run: (record: FiefCallRecord) => Promise<T>): Promise<T> {
  const api = openTelemetryApi();
  if (api === undefined) return run({});
  const kind = fiefCallKind(call.what);
  const common = attributes({
    [FIEF_ATTRIBUTE.call]: kind,
    [FIEF_ATTRIBUTE.method]: call.method,
    [FIEF_ATTRIBUTE.tenant]: call.tenant,
  });
  const spanAttributes: OtelAttributes = { ...common, ...urlAttributes(call.url) };
  // Looked up per call: the API's proxy tracer follows a provider registered after us.
  const tracer = api.trace.getTracer(FIEF_INSTRUMENTATION_SCOPE);
  return tracer.startActiveSpan(SPAN_NAMES[kind], { kind: api.SpanKind.CLIENT, attributes: spanAttributes }, async (span) => {
    const record: FiefCallRecord = {};
    const started = performance.now();
    let errorType: string | undefined;
    try {
      return await run(record);
    } catch (error) {
      errorType = errorTypeOf(error, record.status);
      span.setAttribute(FIEF_ATTRIBUTE.errorType, errorType);
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error | undefined)?.message });
      throw error;
    } finally {
      if (record.status !== undefined) span.setAttribute(FIEF_ATTRIBUTE.status, record.status);
      span.end();
      fiefInstruments()?.duration.record(
        (performance.now() - started) / 1000,
        attributes({ ...common, [FIEF_ATTRIBUTE.status]: record.status, [FIEF_ATTRIBUTE.errorType]: errorType }),
      );
    }
  });
}

/** `url.full` without any query (none is sent to Fief today, and a query could carry a secret one day). */
function urlAttributes(url: string): OtelAttributes {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return {
    [FIEF_ATTRIBUTE.urlFull]: `${parsed.origin}${parsed.pathname}`,
    // Fief's paths carry no identifiers: the path is its own low-cardinality template.
    [FIEF_ATTRIBUTE.urlTemplate]: parsed.pathname,
    [FIEF_ATTRIBUTE.serverAddress]: parsed.hostname,
    [FIEF_ATTRIBUTE.serverPort]: port,
  };
}

/** OpenTelemetry's `error.type`: the status when Fief answered one that is not 2xx, else what went wrong. */
function errorTypeOf(error: unknown, status: number | undefined): string {
  if (status !== undefined && (status < 200 || status >= 300)) return String(status);
  const cause = (error as { cause?: { name?: unknown } } | null)?.cause?.name;
  if (cause === 'TimeoutError' || cause === 'AbortError') return 'timeout';
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : '_OTHER';
}
