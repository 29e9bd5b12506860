import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FiefDevServer } from '../testing/fief-dev-server.js';
import type { FiefDevTenant } from '../testing/fief-dev-tenant.js';
import type { FiefDevServerOptions, FiefDevUser } from '../testing/dev-server-types.js';

/** A mistake in the command line or its files: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

export const DEV_SERVER_HELP = `Usage: nestjs-fief dev-server [options]

Starts the embedded Fief dev server (Fief's endpoints, tokens and user API, in memory) and prints its
base URL, client, users and a ready-made access token per user. Stop it with Ctrl-C.

Options:
  --port <n>         port to listen on (default 8000; 0 picks a free one)
  --host <address>   address to listen on (default 127.0.0.1)
  --users <file>     JSON file: an array of users, e.g. [{"email": "anne@example.com", "permissions": ["castles:read"]}]
                     (fields: email, id, fields, permissions, emailVerified, isActive); given to every tenant
  --tenant <slug>    serve another tenant under /<slug>, with its own key, users and client (repeatable)
  --key-size <bits>  RSA signing key size, 2048 or 4096 (Fief uses 4096; default 2048)
  --issuer <url>     issuer of the tokens (default: the base URL)
  --token-ttl <s>    lifetime of the printed tokens, in seconds (default 86400)
  --json             print one JSON document instead of text
  -h, --help         show this help
`;

export interface DevServerCommand {
  options: FiefDevServerOptions;
  tokenTtl: number;
  json: boolean;
}

/** Parses the arguments after `dev-server`; throws a {@link UsageError} for anything wrong. */
export async function parseDevServerArgs(args: string[]): Promise<DevServerCommand | 'help'> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        users: { type: 'string' },
        tenant: { type: 'string', multiple: true },
        'key-size': { type: 'string' },
        issuer: { type: 'string' },
        'token-ttl': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const port = integer('--port', values.port ?? '8000', 0, 65535);
  const keySize = integer('--key-size', values['key-size'] ?? '2048', 0, Infinity);
  if (keySize !== 2048 && keySize !== 4096) throw new UsageError(`--key-size must be 2048 or 4096, not ${values['key-size']}`);
  const tokenTtl = integer('--token-ttl', values['token-ttl'] ?? '86400', 1, Infinity);
  const users = values.users === undefined ? undefined : await readUsers(values.users);
  const tenants = Object.fromEntries((values.tenant ?? []).map((slug) => [slug, users ? { users } : {}]));
  const options: FiefDevServerOptions = { port, host: values.host ?? '127.0.0.1', keySize, issuer: values.issuer, users, tenants };
  try {
    new FiefDevServer(options); // every option mistake is reported now, by the dev server's own checks
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { options, tokenTtl, json: values.json === true };
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new UsageError(`${flag} must be an integer from ${min}${max === Infinity ? '' : ` to ${max}`}, not ${JSON.stringify(raw)}`);
  return value;
}

async function readUsers(path: string): Promise<FiefDevUser[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --users ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let users: unknown;
  try {
    users = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--users ${path} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(users) || users.length === 0 || users.some((user) => !user || typeof user !== 'object' || Array.isArray(user))) {
    throw new UsageError(`--users ${path} must hold a non-empty JSON array of user objects, e.g. [{"email": "anne@example.com"}]`);
  }
  return users as FiefDevUser[];
}

/** What the command prints for one tenant. */
interface TenantReport {
  tenant: string;
  baseURL: string;
  issuer: string;
  clientId: string;
  clientSecret?: string;
  users: Array<{ email: string; id: string; permissions: string[]; accessToken: string }>;
}

async function reportOf(tenant: FiefDevTenant, tokenTtl: number): Promise<TenantReport> {
  const [client] = tenant.clients;
  const users = await Promise.all(
    tenant.users.map(async (user) => ({
      email: user.email,
      id: user.id!,
      permissions: user.permissions ?? [],
      accessToken: await tenant.issueAccessToken({ user: user.id, clientId: client.clientId, expiresIn: tokenTtl }),
    })),
  );
  return { tenant: tenant.slug ?? 'default', baseURL: tenant.baseURL, issuer: tenant.issuer, clientId: client.clientId, clientSecret: client.clientSecret, users };
}

function formatText(reports: TenantReport[], tokenTtl: number): string {
  const lines = [`Fief dev server on ${reports[0].baseURL} — for development only; tokens below valid ${tokenTtl} s.`];
  for (const report of reports) {
    lines.push('', `Tenant ${report.tenant}`, `  base URL:      ${report.baseURL}`, `  issuer:        ${report.issuer}`);
    lines.push(`  client id:     ${report.clientId}`, `  client secret: ${report.clientSecret ?? '(public client)'}`);
    for (const user of report.users) {
      lines.push(`  user ${user.email} (${user.permissions.join(', ') || 'no permissions'})`, `    access token: ${user.accessToken}`);
    }
  }
  lines.push('', 'Press Ctrl-C to stop.');
  return lines.join('\n');
}

/**
 * Runs `nestjs-fief dev-server`: starts the server, prints what an app needs, and stops it on SIGINT
 * or SIGTERM. Resolves once it has stopped.
 */
export async function runDevServer(command: DevServerCommand, out: (text: string) => void): Promise<void> {
  const dev = new FiefDevServer(command.options);
  try {
    await dev.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot listen on ${command.options.host}:${command.options.port}: ${code}`);
    }
    throw error;
  }
  const reports = await Promise.all([dev, ...dev.tenantSlugs.map((slug) => dev.tenant(slug))].map((tenant) => reportOf(tenant, command.tokenTtl)));
  out(command.json ? JSON.stringify({ tenants: reports }, null, 2) : formatText(reports, command.tokenTtl));
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await dev.stop();
}
