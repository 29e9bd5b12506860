/**
 * Every Nest app can use the package: four consumer projects (Nest 11 and 12, CommonJS and ESM), each
 * installed from the `npm pack` tarball without `--legacy-peer-deps`, type-checked with
 * `skipLibCheck: false` (with and without the optional peers, under each module resolution such an app
 * uses), then run under Node 20 and Node 22 on Express and Fastify: boot with no request to Fief,
 * 200 / 401 / 403 from `FiefAuthGuard` and from `AuthGuard('fief')`, `@CurrentUser()`, and the app's own
 * login flow finished headlessly against `FiefDevServer` from `nestjs-fief/testing`.
 * Installs are cached (see compat-harness.ts): warm, the suite takes a few minutes; cold, it downloads
 * each project's packages from the registry once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAndPack } from '../package/packed.js';
import { COMPAT_PROJECTS, type CompatProject } from './compat-projects.js';
import {
  dependencyClosure,
  engineWarnings,
  installProject,
  node22Binary,
  runApp,
  typecheck,
  writeSources,
  type InstalledProject,
} from './compat-harness.js';

const MINUTE = 60_000;
const OPTIONAL_PEERS = [
  'passport',
  '@nestjs/passport',
  '@nestjs/swagger',
  '@nestjs/graphql',
  '@nestjs/websockets',
  '@nestjs/microservices',
  'oidc-provider',
];

const MISSING_TOKEN = {
  status: 401,
  body: {
    message: 'An access token is required: send "Authorization: Bearer <token>".',
    error: 'Unauthorized',
    statusCode: 401,
  },
  challenge: 'Bearer realm="fief"',
};
const MISSING_PERMISSION = {
  status: 403,
  body: { message: 'Missing required permission: castles:create', error: 'Forbidden', statusCode: 403 },
  challenge: expect.stringMatching(/^Bearer realm="fief", error="insufficient_scope", error_description="[^"]+"$/),
};
const APP_ANSWERS = {
  requestsAtBoot: 0,
  swagger: {
    scheme: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Fief access token: `Authorization: Bearer <token>`.' },
    castles: [{ fief: [] }],
    health: null,
  },
  health: { status: 200, body: { ok: true }, challenge: null },
  // FiefHealthIndicator under this project's @nestjs/terminus (11.0.0, 11.1.1, 12.0.0, 12.1.0).
  ready: {
    status: 200,
    body: { status: 'ok', info: { fief: { status: 'up' } }, error: {}, details: { fief: { status: 'up' } } },
    challenge: null,
  },
  anonymous: MISSING_TOKEN,
  granted: {
    status: 200,
    body: { castles: ['Nantes'], permissions: ['castles:read', 'castles:create'], tokenSent: true },
    challenge: null,
  },
  forbidden: MISSING_PERMISSION,
  passportAnonymous: MISSING_TOKEN,
  passportGranted: { status: 200, body: { email: 'anne@bretagne.duchy' }, challenge: null },
  passportForbidden: MISSING_PERMISSION,
  login: { start: 302, callback: 302, returnTo: '/me' },
  session: { status: 200, body: { email: 'anne@bretagne.duchy' }, challenge: null },
};
const MICROSERVICE_ANSWERS = {
  granted: { answer: { created: 'Brest', permissions: ['castles:read', 'castles:create'] } },
  anonymous: {
    refusal: { status: 'error', statusCode: 401, message: 'An access token is required: send "Authorization: Bearer <token>".' },
  },
  forbidden: {
    refusal: { status: 'error', statusCode: 403, error: 'insufficient_scope', message: 'Missing required permission: castles:create' },
  },
};
const GATEWAY_ANSWERS = {
  granted: { ack: { created: true, permissions: ['castles:read', 'castles:create'] } },
  anonymous: { exception: MICROSERVICE_ANSWERS.anonymous.refusal },
  forbidden: { exception: MICROSERVICE_ANSWERS.forbidden.refusal },
};
const BARE_ANSWERS = {
  health: { status: 200, body: { ok: true, realm: 'fief' } },
  anonymous: { status: MISSING_TOKEN.status, body: MISSING_TOKEN.body },
};

let packDir: string;
let tarball: string;
const nodes: { name: string; major: string; binary: string }[] = [];
/** Every answer of every project, Node and adapter, compared with each other at the end. */
const answers: { where: string; answer: unknown }[] = [];
const transportAnswers: { where: string; answer: unknown }[] = [];
const timings: string[] = [];

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings.push(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

beforeAll(async () => {
  packDir = mkdtempSync(join(tmpdir(), 'nestjs-fief-compat-pack-'));
  tarball = await timed('build + pack', async () => buildAndPack(packDir));
  const node22 = await timed('Node 22', node22Binary);
  nodes.push({ name: 'Node 20', major: '20', binary: process.execPath }, { name: 'Node 22', major: '22', binary: node22 });
}, 10 * MINUTE);

afterAll(() => {
  rmSync(packDir, { recursive: true, force: true });
  process.stderr.write(`compat suite timings:\n  ${timings.join('\n  ')}\n`);
});

function installedVersion(dir: string, name: string): string | undefined {
  const file = join(dir, 'node_modules', name, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
}

describe.each(COMPAT_PROJECTS)('$name', (project: CompatProject) => {
  let full: InstalledProject;
  let bare: InstalledProject;

  beforeAll(async () => {
    full = await timed(`${project.name} install (full)`, () => installProject(project, 'full', tarball));
    bare = await timed(`${project.name} install (bare)`, () => installProject(project, 'bare', tarball));
    timings.push(`${project.name}: installs ${full.cached && bare.cached ? 'cached' : 'fresh'}`);
  }, 15 * MINUTE);

  it('installs from the tarball without --legacy-peer-deps, with no peer or engine warning', () => {
    for (const { dir, installLog } of [full, bare]) {
      expect(installLog).not.toMatch(/ERESOLVE|peer dep/i);
      // Nest's own dependencies may want a newer Node (Nest 12.5 pulls file-type 22, Node >= 22); ours may not.
      const ours = dependencyClosure(dir, 'nestjs-fief');
      expect(engineWarnings(installLog).filter((warned) => ours.has(warned))).toEqual([]);
      expect(installedVersion(dir, '@nestjs/common')).toBe(project.versions.nest);
      expect(installedVersion(dir, '@nestjs/core')).toBe(project.versions.nest);
      expect(installedVersion(dir, 'nestjs-fief')).toBe(JSON.parse(readFileSync(join(dir, 'node_modules/nestjs-fief/package.json'), 'utf8')).version);
    }
    expect(installedVersion(full.dir, '@nestjs/passport')).toBe(project.versions.passport);
    expect(installedVersion(full.dir, '@nestjs/swagger')).toBe(project.versions.swagger);
    expect(OPTIONAL_PEERS.filter((name) => installedVersion(bare.dir, name) !== undefined)).toEqual([]);
  });

  it(`type-checks without the optional peers (skipLibCheck: false) under ${project.bare.map((r) => r.moduleResolution).join(', ')}`, async () => {
    const configs = writeSources(project, 'bare', bare.dir);
    for (const config of configs) {
      const result = await timed(`${project.name} tsc bare ${config}`, () => typecheck(bare.dir, config));
      expect({ config, code: result.code, output: result.stdout + result.stderr }).toEqual({ config, code: 0, output: '' });
    }
  }, 10 * MINUTE);

  it(`type-checks and builds the app with passport, the dev server and both adapters (${project.app.moduleResolution})`, async () => {
    const [config] = writeSources(project, 'full', full.dir);
    const result = await timed(`${project.name} tsc full`, () => typecheck(full.dir, config));
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({ code: 0, output: '' });
  }, 10 * MINUTE);

  it.each(['Node 20', 'Node 22'])(
    'on %s: boots with Fief down and no peer but Nest, refuses anonymous callers',
    async (nodeName) => {
      const node = nodes.find((candidate) => candidate.name === nodeName)!;
      const { result, run } = await runApp(node.binary, bare.dir, 'bare.js');
      expect({ stderr: run.code === 0 ? '' : run.stderr, code: run.code }).toEqual({ stderr: '', code: 0 });
      expect(result).toEqual({ node: expect.stringMatching(new RegExp(`^${node.major}\\.`)), ...BARE_ANSWERS });
    },
    2 * MINUTE,
  );

  it.each(['Node 20', 'Node 22'])(
    'on %s: Express and Fastify answer 200/401/403 through FiefAuthGuard and AuthGuard("fief"), log in headlessly, report readiness through Terminus; a TCP microservice and a socket.io gateway too',
    async (nodeName) => {
      const node = nodes.find((candidate) => candidate.name === nodeName)!;
      const { result, run } = await timed(`${project.name} run on ${nodeName}`, () => runApp(node.binary, full.dir, 'app.js'));
      expect({ stderr: run.code === 0 ? '' : run.stderr, code: run.code }).toEqual({ stderr: '', code: 0 });
      expect(result).toEqual({
        node: expect.stringMatching(new RegExp(`^${node.major}\\.`)),
        express: APP_ANSWERS,
        fastify: APP_ANSWERS,
        microservice: MICROSERVICE_ANSWERS,
        gateway: GATEWAY_ANSWERS,
      });
      answers.push(
        { where: `${project.name} ${nodeName} express`, answer: result.express },
        { where: `${project.name} ${nodeName} fastify`, answer: result.fastify },
      );
      transportAnswers.push({ where: `${project.name} ${nodeName}`, answer: { microservice: result.microservice, gateway: result.gateway } });
    },
    2 * MINUTE,
  );
});

describe('across the matrix', () => {
  it('every project, Node and adapter gives byte-for-byte the same answers', () => {
    expect(answers).toHaveLength(COMPAT_PROJECTS.length * 2 * 2);
    const [first] = answers;
    for (const { where, answer } of answers) expect({ where, answer }).toEqual({ where, answer: first.answer });
  });

  it('every project and Node gives the same microservice and socket.io answers', () => {
    expect(transportAnswers).toHaveLength(COMPAT_PROJECTS.length * 2);
    const [first] = transportAnswers;
    for (const { where, answer } of transportAnswers) expect({ where, answer }).toEqual({ where, answer: first.answer });
  });
});
