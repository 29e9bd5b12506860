/** The package exactly as `npm publish` would ship it: `npm run build`, then `npm pack`. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** Builds `dist/` and packs the tarball into `destination`; returns the tarball's path. */
export function buildAndPack(destination: string): string {
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'pipe' });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', destination], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .trim()
    .split('\n')
    .pop()!;
  return join(destination, name);
}

/** The files of a tarball, without the leading `package/`. */
export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.replace(/^package\//, ''))
    .filter((line) => line && !line.endsWith('/'));
}

/** The repo's package.json. */
export function repoManifest(): Record<string, any> {
  return JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
}

/** `name@version` as the lock file pins it, so test installs reuse the warm npm cache. */
export function locked(name: string): string {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json`);
  return entry.version;
}
