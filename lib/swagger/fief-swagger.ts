import type { INestApplication } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
// Types of the implementation only: the declarations of this file must not name the optional peer
// (an app without @nestjs/swagger type-checks with skipLibCheck: false), hence the structural types below.
import type { OpenAPIObject, SecuritySchemeObject as SwaggerSecurityScheme, SwaggerDocumentOptions } from '@nestjs/swagger';
import { FiefAuthGuard } from '../auth/fief-auth.guard.js';
import { resolveRoutePolicy, type FiefRoutePolicy } from '../auth/route-policy.js';
import { importOptionalPeer } from '../transports/optional-peer.js';

/** Options of {@link createFiefSwaggerDocument}. */
export interface FiefSwaggerOptions {
  /** Name of the security scheme in `components.securitySchemes`. @default 'fief' */
  securitySchemeName?: string;
  /** The scheme itself. @default `{ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }` */
  securityScheme?: SecuritySchemeObject;
  /**
   * Every route is behind the guard (`FiefModule.forRoot({ globalGuard: true })`, an `APP_GUARD`,
   * `app.useGlobalGuards`). @default detected from the app's global guards
   */
  globalGuard?: boolean;
  /** Guard classes that stand for Fief authentication besides `FiefAuthGuard` and its subclasses (e.g. `AuthGuard('fief')`). */
  guards?: Function[];
  /**
   * Document the guard's refusals on the operations it covers, unless they document them already:
   * 401, and 403 with what the route requires when it requires something. @default true
   */
  refusalResponses?: boolean;
  /** `SwaggerDocumentOptions` passed to `SwaggerModule.createDocument`. */
  documentOptions?: object;
}

/** An OpenAPI security scheme, as `DocumentBuilder.addSecurity` takes it. */
interface SecuritySchemeObject {
  type: 'apiKey' | 'http' | 'oauth2' | 'openIdConnect';
  description?: string;
  name?: string;
  in?: string;
  scheme?: string;
  bearerFormat?: string;
  flows?: object;
  openIdConnectUrl?: string;
}

/** What `DocumentBuilder.build()` returns: an OpenAPI document without its paths. */
export interface FiefOpenAPIConfig {
  openapi: string;
  info: object;
}

/** The paths that {@link createFiefSwaggerDocument} adds to the config it is given. */
export interface FiefOpenAPIPaths {
  paths: Record<string, any>;
}

interface FiefRoute {
  handler: Function;
  policy: FiefRoutePolicy;
}

// Marks each operation with the handler it documents, so the document can be matched back to routes
// whatever the paths, prefixes, versions or operation ids; removed before the document is returned.
const ROUTE_MARKER = 'x-fief-route';
const API_EXTENSION = 'swagger/apiExtension';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'search', 'query'];

function isFiefGuard(guard: unknown, extra: Function[]): boolean {
  const type = typeof guard === 'function' ? guard : (guard as object | null)?.constructor;
  if (typeof type !== 'function') return false;
  return type === FiefAuthGuard || type.prototype instanceof FiefAuthGuard || extra.includes(type);
}

function hasGlobalFiefGuard(app: INestApplication, extra: Function[]): boolean {
  // Nest keeps app.useGlobalGuards() and APP_GUARD providers in its ApplicationConfig, which it does not expose.
  const config = (app as unknown as { config?: { getGlobalGuards?(): unknown[]; getGlobalRequestGuards?(): { metatype?: unknown }[] } })
    .config;
  const guards = [...(config?.getGlobalGuards?.() ?? []), ...(config?.getGlobalRequestGuards?.() ?? []).map((wrapper) => wrapper.metatype)];
  return guards.some((guard) => isFiefGuard(guard, extra));
}

/** The HTTP routes of the app with their Fief policy; `undefined` policy when no Fief guard covers them. */
function collectRoutes(app: INestApplication, options: FiefSwaggerOptions): (FiefRoute | { handler: Function; policy: undefined })[] {
  const extra = options.guards ?? [];
  const globalGuard = options.globalGuard ?? hasGlobalFiefGuard(app, extra);
  const reflector = new Reflector();
  const scanner = new MetadataScanner();
  const routes: (FiefRoute | { handler: Function; policy: undefined })[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Function | null;
      if (typeof controller !== 'function') continue;
      const classGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, controller) ?? [];
      for (const name of scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name];
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const handlerGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, handler) ?? [];
        const guarded = globalGuard || [...classGuards, ...handlerGuards].some((guard) => isFiefGuard(guard, extra));
        routes.push({ handler, policy: guarded ? resolveRoutePolicy(reflector, handler, controller) : undefined });
      }
    }
  }
  return routes;
}

function describeRequirements(policy: FiefRoutePolicy): string | undefined {
  const requirements = policy.requirements;
  if (!requirements) return undefined;
  const parts: string[] = [];
  if (requirements.requiredScope) parts.push(`scope ${requirements.requiredScope.join(', ')}`);
  if (requirements.requiredPermissions) parts.push(`permission ${requirements.requiredPermissions.join(', ')}`);
  if (requirements.requiredAcr) parts.push(`ACR ${requirements.requiredAcr}`);
  return parts.join('; ');
}

function addRefusalResponses(operation: { responses?: Record<string, unknown> }, policy: FiefRoutePolicy): void {
  const responses = (operation.responses ??= {});
  responses['401'] ??= { description: 'No valid access token: see the WWW-Authenticate header (RFC 6750).' };
  const required = describeRequirements(policy);
  if (required) responses['403'] ??= { description: `The access token lacks what the route requires: ${required}.` };
}

/**
 * Builds the OpenAPI document of an app (`SwaggerModule.createDocument`) with Fief's bearer scheme
 * and the right `security` on every operation, from the same metadata the guard reads:
 * - routes behind `FiefAuthGuard` (per route, per controller or global): `[{ fief: [] }]`;
 * - `@OptionalAuth()` routes: `[{ fief: [] }, {}]` (a token is optional);
 * - `@Public()` routes: no requirement, even under a controller-level `@ApiBearerAuth()` or a
 *   document-wide `security` (then an explicit `security: []`);
 * - routes no Fief guard covers: left as they are.
 * Guarded operations also get a 401 response and, when they require a scope, permission or ACR,
 * a 403 response naming it (unless they document those already).
 * Needs the optional peer `@nestjs/swagger`.
 *
 * @example
 * const config = new DocumentBuilder().setTitle('Castles').build();
 * SwaggerModule.setup('docs', app, await createFiefSwaggerDocument(app, config));
 */
export async function createFiefSwaggerDocument<Config extends FiefOpenAPIConfig>(
  app: INestApplication,
  config: Config,
  options: FiefSwaggerOptions = {},
): Promise<Config & FiefOpenAPIPaths> {
  const { SwaggerModule } = await importOptionalPeer<typeof import('@nestjs/swagger')>('@nestjs/swagger', 'createFiefSwaggerDocument');
  const schemeName = options.securitySchemeName ?? 'fief';
  const routes = collectRoutes(app, options);
  const byMarker = new Map<number, FiefRoute>();
  const originals = new Map<Function, unknown>();
  routes.forEach((route, index) => {
    if (!route.policy || originals.has(route.handler)) return;
    originals.set(route.handler, Reflect.getOwnMetadata(API_EXTENSION, route.handler));
    Reflect.defineMetadata(API_EXTENSION, { ...(originals.get(route.handler) as object), [ROUTE_MARKER]: index }, route.handler);
    byMarker.set(index, route);
  });
  let document: OpenAPIObject;
  try {
    document = SwaggerModule.createDocument(app, config as Omit<OpenAPIObject, 'paths'>, options.documentOptions as SwaggerDocumentOptions);
  } finally {
    for (const [handler, original] of originals) {
      if (original === undefined) Reflect.deleteMetadata(API_EXTENSION, handler);
      else Reflect.defineMetadata(API_EXTENSION, original, handler);
    }
  }
  document.components ??= {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [schemeName]: (options.securityScheme as SwaggerSecurityScheme | undefined) ?? {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'A Fief access token: `Authorization: Bearer <token>`.',
    },
  };
  const documentWide = (document.security?.length ?? 0) > 0;
  for (const pathItem of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = (pathItem as Record<string, any>)[method];
      if (!operation || !(ROUTE_MARKER in operation)) continue;
      const route = byMarker.get(operation[ROUTE_MARKER]);
      delete operation[ROUTE_MARKER];
      if (!route) continue;
      if (route.policy.isPublic) {
        if (documentWide) operation.security = [];
        else delete operation.security;
      } else {
        operation.security = route.policy.isOptional ? [{ [schemeName]: [] }, {}] : [{ [schemeName]: [] }];
        if (options.refusalResponses !== false) addRefusalResponses(operation, route.policy);
      }
    }
  }
  return document as unknown as Config & FiefOpenAPIPaths;
}
