/**
 * `npx nestjs-fief dev-server` as a user runs it: the CLI compiled with tsc (as the package builds
 * it) and spawned as a real child process; its printed token is used against its printed base URL,
 * and Ctrl-C (SIGINT) must stop it cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';

const ROOT = resolve(import.meta.dirname, '../..');
// Inside node_modules so that the compiled files resolve the package's dependencies.
const OUT = join(ROOT, 'node_modules', '.cache', `nestjs-fief-cli-test-${process.pid}`);
const CLI = join(OUT, 'cli', 'nestjs-fief.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function until(test: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('nestjs-fief dev-server (the CLI, as a child process)', () => {
  let dir: string;

  beforeAll(async () => {
    await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        ...['--outDir', OUT, '--rootDir', join(ROOT, 'lib'), '--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...['--ignoreConfig', '--target', 'es2023', '--skipLibCheck', '--types', 'node', '--strict', join(ROOT, 'lib/cli/nestjs-fief.ts')],
      ],
      { cwd: ROOT },
    );
    dir = await mkdtemp(join(tmpdir(), 'nestjs-fief-cli-'));
  }, 120_000);
  afterAll(async () => {
    await rm(OUT, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the shebang, so npm can link it as a bin', async () => {
    expect((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ 'nestjs-fief': './dist/cli/nestjs-fief.js' });
  });

  it('prints the base URL, client and a working token per user, and stops cleanly on SIGINT', async () => {
    const users = join(dir, 'users.json');
    await writeFile(users, JSON.stringify([{ email: 'ada@example.com', permissions: ['engines:run'] }, { email: 'bob@example.com' }]));
    const cli = run(['dev-server', '--port', '0', '--users', users, '--tenant', 'acme']);
    try {
      await until(() => cli.stdout().includes('Press Ctrl-C to stop.'), 'the ready line');
      const out = cli.stdout();
      const base = /Fief dev server on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1];
      expect(out).toContain(`  base URL:      ${base}\n`);
      expect(out).toContain('  client id:     fief-dev-client\n  client secret: fief-dev-secret\n');
      expect(out).toContain(`  base URL:      ${base}/acme\n`);
      expect(out).toContain('  client id:     fief-dev-client-acme\n');
      expect(out).toContain('  user ada@example.com (engines:run)\n');
      expect(out).toContain('  user bob@example.com (no permissions)\n');
      const tokens = [...out.matchAll(/access token: (\S+)/g)].map((match) => match[1]);
      expect(tokens).toHaveLength(4);
      const userinfo = await fetch(`${base}/api/userinfo`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      expect(userinfo.status).toBe(200);
      expect(await userinfo.json()).toMatchObject({ email: 'ada@example.com' });
      expect(decodeJwt(tokens[2])).toMatchObject({ iss: `${base}/acme`, permissions: ['engines:run'] });
      const acme = await fetch(`${base}/acme/api/userinfo`, { headers: { authorization: `Bearer ${tokens[2]}` } });
      expect(acme.status).toBe(200);
      expect((await fetch(`${base}/acme/api/userinfo`, { headers: { authorization: `Bearer ${tokens[0]}` } })).status).toBe(401);

      cli.child.kill('SIGINT');
      expect(await cli.exit).toEqual({ code: 0, signal: null });
      expect(cli.stdout()).toContain('Fief dev server stopped.');
      expect(cli.stderr()).not.toMatch(/\n\s+at /);
      await expect(fetch(`${base}/.well-known/jwks.json`)).rejects.toThrow();
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it('prints JSON with --json and stops on SIGTERM', async () => {
    const cli = run(['dev-server', '--port', '0', '--json', '--key-size', '4096', '--token-ttl', '600']);
    try {
      await until(() => cli.stdout().trim().endsWith('}'), 'the JSON document');
      const { tenants } = JSON.parse(cli.stdout()) as { tenants: Array<Record<string, any>> };
      expect(tenants).toHaveLength(1);
      expect(tenants[0]).toMatchObject({ tenant: 'default', clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' });
      expect(tenants[0].users.map((user: { email: string }) => user.email)).toEqual(['anne@bretagne.duchy', 'guest@example.com']);
      const claims = decodeJwt(tenants[0].users[0].accessToken);
      expect(claims.exp! - claims.iat!).toBe(600);
      const jwks = (await (await fetch(`${tenants[0].baseURL}/.well-known/jwks.json`)).json()) as { keys: Array<{ n: string }> };
      expect(Buffer.from(jwks.keys[0].n, 'base64url').length * 8).toBe(4096);
      cli.child.kill('SIGTERM');
      expect(await cli.exit).toEqual({ code: 0, signal: null });
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  it.each([
    [['dev-server', '--port', 'eighty'], /--port must be an integer from 0 to 65535, not "eighty"/],
    [['dev-server', '--colour'], /Unknown option '--colour'/],
    [['dev-server', '--key-size', '1024'], /--key-size must be 2048 or 4096/],
    [['dev-server', '--users', '/nonexistent/users.json'], /cannot read --users \/nonexistent\/users.json: ENOENT/],
    [['dev-server', '--tenant', 'API'], /tenant slug "API"/],
    [['serve'], /unknown command "serve"/],
  ])('refuses %j with a clear message and exit code 2', async (args, message) => {
    const cli = run(args);
    expect(await cli.exit).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['not JSON', '{"email": ', /is not JSON/],
    ['not an array', '{"email": "a@b.c"}', /must hold a non-empty JSON array of user objects/],
    ['a user without email', '[{"permissions": []}]', /a user needs an email address/],
    ['the same email twice', '[{"email": "a@b.c"}, {"email": "a@b.c"}]', /already a user with email a@b.c/],
  ])('refuses a users file that is %s, with exit code 2', async (_name, content, message) => {
    const users = join(dir, `users-${Math.random()}.json`);
    await writeFile(users, content);
    const cli = run(['dev-server', '--users', users]);
    expect(await cli.exit).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it('refuses a port that is taken, with exit code 2', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    try {
      const { port } = taken.address() as AddressInfo;
      const cli = run(['dev-server', '--port', String(port)]);
      expect(await cli.exit).toEqual({ code: 2, signal: null });
      expect(cli.stderr()).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      taken.close();
    }
  });

  it('says how to use it with --help', async () => {
    const help = run(['dev-server', '--help']);
    expect(await help.exit).toEqual({ code: 0, signal: null });
    expect(help.stdout()).toMatch(/Usage: nestjs-fief dev-server \[options\][\s\S]*--users <file>[\s\S]*--tenant <slug>/);
    const top = run(['--help']);
    expect(await top.exit).toEqual({ code: 0, signal: null });
    expect(top.stdout()).toContain('dev-server');
  });
});
