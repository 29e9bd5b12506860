/**
 * CPU per verified-token cache miss, for profiling (not a test): `npx tsc -p tsconfig.json`, then
 * `node --cpu-prof --cpu-prof-dir=/tmp/prof .build/test/client/miss-profile.js [count] [2048|4096]`.
 * Verifies `count` distinct tokens signed by the dev server's key, 10 in flight as in the benchmark,
 * and prints the CPU per token of FiefClient.verifyAccessToken beside that of a bare base64url
 * decode + node:crypto verify (the floor of any guard that checks the signature), best of `rounds`.
 * Arguments: `[count] [2048|4096] [rounds]`.
 */
import { KeyObject, createPublicKey, sign, verify } from 'node:crypto';
import { FiefClient } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';

const count = Number(process.argv[2] ?? 20_000);
const keySize = Number(process.argv[3] ?? 2048) as 2048 | 4096;
const b64 = (value: string) => Buffer.from(value).toString('base64url');

const dev = new FiefDevServer({ keySize });
await dev.start();
const { kid, privateKey } = dev.signingKey;
const signer = KeyObject.from(privateKey);
const now = Math.floor(Date.now() / 1000);
const user = dev.users[0].id!;
const header = b64(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
const tokens = Array.from({ length: count }, (_, index) => {
  const payload = b64(
    JSON.stringify({
      iss: dev.issuer,
      sub: user,
      aud: ['fief-dev-client'],
      azp: 'fief-dev-client',
      exp: now + 3600,
      iat: now,
      acr: '0',
      scope: 'openid offline_access',
      permissions: ['castles:read', 'castles:create'],
      jti: `token-${index}`,
    }),
  );
  return `${header}.${payload}.${sign('sha256', Buffer.from(`${header}.${payload}`), signer).toString('base64url')}`;
});

/** CPU µs per token of one pass over every token, 10 in flight. */
async function pass(check: (token: string) => unknown): Promise<number> {
  const start = process.cpuUsage();
  for (let index = 0; index < tokens.length; index += 10) await Promise.all(tokens.slice(index, index + 10).map(async (token) => check(token)));
  const { user, system } = process.cpuUsage(start);
  return (user + system) / tokens.length;
}

const publicKey = createPublicKey(KeyObject.from(privateKey));
const bare = (token: string) => {
  const dot = token.lastIndexOf('.');
  if (!verify('RSA-SHA256', Buffer.from(token.slice(0, dot)), publicKey, Buffer.from(token.slice(dot + 1), 'base64url'))) throw new Error('bad');
};
const rounds = Number(process.argv[4] ?? 3);
const best = { bare: Infinity, miss: Infinity };
// Interleaved rounds, each with a fresh client (every token a miss); the least disturbed round counts.
for (let round = 0; round < rounds; round++) {
  best.bare = Math.min(best.bare, await pass(bare));
  const fief = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client' });
  await fief.verifyAccessToken(await dev.issueAccessToken()); // discovery and keys, outside the measurement
  best.miss = Math.min(best.miss, await pass((token) => fief.verifyAccessToken(token)));
}
console.log(`RSA-${keySize}, ${count} tokens, best of ${rounds}: bare decode+verify ${best.bare.toFixed(1)} µs CPU/token, ` +
  `FiefClient miss ${best.miss.toFixed(1)} µs (${(best.miss - best.bare).toFixed(1)} µs above bare)`);
await dev.stop();
