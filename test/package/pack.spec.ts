/**
 * The package as a user gets it: `npm pack`, install the tarball into a fresh app next to Nest's own
 * packages, boot that app (plain ESM JavaScript, decorators applied by hand) and call it with real
 * tokens from the embedded dev server shipped in `nestjs-fief/testing`.
 */
import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAndPack, locked } from './packed.js';

const appSource = `
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FiefModule, FiefAuthGuard, Permissions, Public } from 'nestjs-fief';
import { FiefDevServer } from 'nestjs-fief/testing';

class CastlesController {
  list() { return ['Nantes']; }
  health() { return { ok: true }; }
}
const method = (name) => [CastlesController.prototype, name, Object.getOwnPropertyDescriptor(CastlesController.prototype, name)];
Reflect.decorate([Get('castles'), Permissions('castles:read')], ...method('list'));
Reflect.decorate([Get('health'), Public()], ...method('health'));
Reflect.decorate([Controller(), UseGuards(FiefAuthGuard)], CastlesController);

const dev = new FiefDevServer();
const baseURL = await dev.start();
class AppModule {}
Reflect.decorate([Module({
  imports: [FiefModule.forRoot({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' })],
  controllers: [CastlesController],
})], AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const url = await app.getUrl();
const token = await dev.issueAccessToken({ user: 'anne@bretagne.duchy' });
const results = {
  health: (await fetch(url + '/health')).status,
  anonymous: (await fetch(url + '/castles')).status,
  authorized: await (await fetch(url + '/castles', { headers: { authorization: 'Bearer ' + token } })).json(),
};
await app.close();
await dev.stop();
console.log(JSON.stringify(results));
`;

describe('the npm pack tarball in a fresh app', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-fief-pack-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs, boots and guards routes', () => {
    const tarball = buildAndPack(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    const peers = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/passport', 'passport',
      'reflect-metadata', 'rxjs', 'oidc-provider'].map((name) => `${name}@${locked(name)}`);
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...peers], {
      cwd: dir,
      stdio: 'pipe',
    });
    writeFileSync(join(dir, 'main.js'), appSource);

    const output = execFileSync('node', ['main.js'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = JSON.parse(output.trim().split('\n').pop()!);

    expect(results).toEqual({ health: 200, anonymous: 401, authorized: ['Nantes'] });
  }, 240_000);
});
