/**
 * What the tarball promises before anyone installs it: the files it ships, the types each entry
 * resolves to under every module resolution, declarations that name no optional peer, a module graph
 * without top-level `await` (CommonJS apps load it through `require(esm)`), and `engines` / peer ranges
 * that tell the truth. The installs themselves are proven in test/compat.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import semver from 'semver';
import ts from 'typescript';
import { buildAndPack, repoManifest, repoRoot, tarballFiles } from './packed.js';

let workDir: string;
let files: string[];
/** The unpacked tarball. */
let unpacked: string;
const manifest = repoManifest();
const optionalPeers = Object.keys(manifest.peerDependenciesMeta).filter((name) => manifest.peerDependenciesMeta[name].optional);

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'nestjs-fief-contents-'));
  const tarball = buildAndPack(workDir);
  files = tarballFiles(tarball);
  unpacked = join(workDir, 'package');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '--strip-components=1', '-C', unpacked]);
}, 180_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Sub-path entries (`.`, `./testing`, …) with the declaration file their `types` condition names. */
function entries(): [subpath: string, types: string][] {
  return Object.entries(manifest.exports as Record<string, string | { types?: string }>)
    .filter(([, target]) => typeof target === 'object' && target.types)
    .map(([subpath, target]) => [subpath, normalize((target as { types: string }).types)]);
}

/** Every module specifier a declaration file refers to (imports, re-exports, `import("…")` types, references). */
function specifiersOf(text: string): string[] {
  // Doc comments hold examples (`import Redis from 'ioredis'`) that import nothing; references stay.
  const source = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/(?!\/ <reference).*$/gm, '');
  const found = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  const references = [...source.matchAll(/<reference\s+types\s*=\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return [...found, ...references];
}

/** The bare (package) specifiers reachable from a declaration file through its relative imports. */
function packagesReachedFrom(entry: string): Map<string, string> {
  const reached = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        visit(join(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      } else if (!specifier.startsWith('node:')) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
        if (!reached.has(name)) reached.set(name, file.slice(unpacked.length + 1));
      }
    }
  };
  visit(join(unpacked, entry));
  return reached;
}

/** Positions of `await` (and `for await`) outside any function, i.e. top-level await, in a module. */
export function topLevelAwaits(fileName: string, source: string): number[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: number[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) found.push(node.getStart(file));
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('the files of the tarball', () => {
  it('ships an MIT LICENSE (as package.json says), the README, and no source map without its sources', () => {
    expect(manifest.license).toBe('MIT');
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
    expect(files).toContain('README.md');
    const maps = files.filter((file) => file.endsWith('.map'));
    const sourcesShipped = files.some((file) => /^(lib|src)\/.*\.ts$/.test(file) && !file.endsWith('.d.ts'));
    expect({ maps: maps.length > 0, sourcesShipped }).not.toEqual({ maps: true, sourcesShipped: false });
    expect(files.filter((file) => /sourceMappingURL/.test(readFileSync(join(unpacked, file), 'utf8')) && !sourcesShipped)).toEqual([]);
  });

  it('has every file that main, types, exports and bin name', () => {
    const targets = [manifest.main, manifest.types];
    for (const target of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    }
    const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
    const missing = [...targets, ...(bins as string[])].map((target) => normalize(target)).filter((target) => !files.includes(target));
    expect(missing).toEqual([]);
  });

  it('stays ESM-only: type module, no require condition, no CommonJS build', () => {
    expect(manifest.type).toBe('module');
    expect(JSON.stringify(manifest.exports)).not.toMatch(/"require"/);
    expect(files.filter((file) => /\.c[jt]s$/.test(file))).toEqual([]);
  });
});

describe('types of every entry', () => {
  it('typesVersions gives each sub-path the declarations its exports entry names (moduleResolution node10)', () => {
    const mapped = (manifest.typesVersions?.['*'] ?? {}) as Record<string, string[]>;
    const expected = Object.fromEntries(entries().filter(([subpath]) => subpath !== '.').map(([subpath, types]) => [subpath.slice(2), [types]]));
    const actual = Object.fromEntries(Object.entries(mapped).map(([key, targets]) => [key, targets.map((target) => normalize(target))]));
    expect(actual).toEqual(expected);
    // The main entry is found through "types" under node10; a "*" pattern in typesVersions would remap it too.
    expect(normalize(manifest.types)).toBe(entries().find(([subpath]) => subpath === '.')![1]);
    expect(Object.keys(mapped).filter((key) => key.includes('*'))).toEqual([]);
  });

  it('the main entry declarations import no optional peer; sub-path entries only their own', () => {
    const allowed: Record<string, string[]> = {
      '.': [],
      // Its types must resolve in a test file that never starts a server: without oidc-provider's types.
      './testing': [],
      './passport': ['passport', '@nestjs/passport'],
      './health': ['@nestjs/terminus'],
    };
    for (const [subpath, types] of entries()) {
      const reached = packagesReachedFrom(types);
      const offending = [...reached].filter(([name]) => optionalPeers.includes(name) && !(allowed[subpath] ?? []).includes(name));
      expect({ subpath, offending }).toEqual({ subpath, offending: [] });
      // Runtime dependencies and required peers only, each declared in package.json.
      const declared = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)];
      expect({ subpath, undeclared: [...reached.keys()].filter((name) => !declared.includes(name)) }).toEqual({ subpath, undeclared: [] });
    }
  });

  it('no declaration names ParameterDecoratorOptions (absent from @nestjs/common 11)', () => {
    const code = (file: string) => readFileSync(join(unpacked, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const naming = files.filter((file) => file.endsWith('.d.ts') && code(file).includes('ParameterDecoratorOptions'));
    expect(naming).toEqual([]);
  });
});

describe('the module graph', () => {
  it('finds top-level await where there is one (the scan itself)', () => {
    expect(topLevelAwaits('a.js', 'const x = await import("y");')).toHaveLength(1);
    expect(topLevelAwaits('a.js', 'if (a) { for await (const x of y) {} }')).toHaveLength(1);
    expect(topLevelAwaits('a.js', 'async function f() { await g(); } const h = async () => await g(); class C { async m() { await g(); } }')).toEqual([]);
  });

  it('has no top-level await in any module of the package (require(esm) refuses such a graph)', () => {
    const modules = files.filter((file) => file.endsWith('.js'));
    expect(modules.length).toBeGreaterThan(20);
    const offending = modules.filter((file) => topLevelAwaits(file, readFileSync(join(unpacked, file), 'utf8')).length > 0);
    expect(offending).toEqual([]);
  });
});

describe('engines and peer ranges', () => {
  const nodes = ['20.19.0', '20.20.2', '22.12.0', '22.23.5', '24.0.0'];

  it('engines accepts Node 20.19+ and 22.12+ (where require(esm) is on by default), and not older', () => {
    for (const node of nodes) expect({ node, ok: semver.satisfies(node, manifest.engines.node) }).toEqual({ node, ok: true });
    for (const node of ['18.20.0', '20.18.3', '22.11.0']) expect({ node, ok: semver.satisfies(node, manifest.engines.node) }).toEqual({ node, ok: false });
  });

  it('every runtime dependency, as installed, accepts every Node the package accepts', () => {
    for (const name of Object.keys(manifest.dependencies)) {
      const installed = JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'));
      expect(semver.satisfies(installed.version, manifest.dependencies[name])).toBe(true);
      const range = installed.engines?.node;
      if (range === undefined) continue;
      for (const node of nodes) expect({ name, node, ok: semver.satisfies(node, range) }).toEqual({ name, node, ok: true });
    }
  });

  // Versions looked up on the registry: the first release of each package's Nest 11 line that installs
  // beside @nestjs/common 11 (passport 11.0.0 and 11.0.1 still ask for Nest 10), and the Nest 12 line.
  const ranges: [name: string, accepts: string[], refuses: string[]][] = [
    ['@nestjs/common', ['11.1.0', '11.2.10', '12.0.1', '12.5.1'], ['11.0.21', '10.4.0', '13.0.0']],
    ['@nestjs/core', ['11.1.0', '11.2.10', '12.0.1', '12.5.1'], ['11.0.21', '13.0.0']],
    ['@nestjs/passport', ['11.0.2', '11.0.5', '12.0.0'], ['11.0.1', '10.0.3', '13.0.0']],
    // @nestjs/swagger 11.0.0 depends on @nestjs/mapped-types 2.0.6, whose peers stop at Nest 10.
    ['@nestjs/swagger', ['11.0.1', '11.4.7', '12.0.0', '12.0.2'], ['11.0.0', '8.1.1', '13.0.0']],
    ['@nestjs/graphql', ['13.0.0', '13.4.5', '14.0.3'], ['12.2.2', '15.0.0']],
    ['@nestjs/websockets', ['11.1.0', '11.2.6', '12.1.1'], ['11.0.20', '13.0.0']],
    ['@nestjs/microservices', ['11.1.0', '11.2.6', '12.1.1'], ['11.0.20', '13.0.0']],
  ];
  it.each(ranges)('peer %s spans its Nest 11 and Nest 12 lines', (name, accepts, refuses) => {
    const range = manifest.peerDependencies[name];
    expect(accepts.filter((version) => !semver.satisfies(version, range))).toEqual([]);
    expect(refuses.filter((version) => semver.satisfies(version, range))).toEqual([]);
    // What this repo develops against is inside the range too.
    const installed = JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
    expect(semver.satisfies(installed, range)).toBe(true);
  });

  it('@nestjs/passport and passport are optional peers, like every integration', () => {
    for (const name of ['@nestjs/passport', 'passport', '@nestjs/swagger', '@nestjs/graphql', '@nestjs/websockets', '@nestjs/microservices', 'oidc-provider']) {
      expect({ name, optional: manifest.peerDependenciesMeta[name]?.optional }).toEqual({ name, optional: true });
    }
    for (const name of ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs']) {
      expect({ name, optional: manifest.peerDependenciesMeta[name]?.optional }).toEqual({ name, optional: undefined });
    }
  });
});

it('the repo builds the declarations it tests', () => {
  expect(existsSync(join(unpacked, 'dist', 'index.d.ts'))).toBe(true);
});
