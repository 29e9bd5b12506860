/**
 * Every TypeScript example of README.md compiles against the package's sources, as a user would
 * paste it. Each ```ts block becomes a module of its own, type-checked in strict mode with the
 * TypeScript compiler API; `nestjs-fief` and its sub-paths resolve to `lib/` through the package's
 * own `exports`. Blocks should import what they use. Short fragments may lean on the prelude below:
 * names the block neither imports nor declares are imported from the usual modules, and a few
 * placeholders stand for the reader's own values. A failure names the README line.
 *
 * A block whose first line is `// sample/<file>.ts` must also be that file of the sample, imports
 * aside, so the example the README shows is the one the sample's tests run.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const ROOT = resolve(process.cwd());
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  /** 1-based README line of the block's first code line. */
  line: number;
  code: string;
}

/** The ```ts / ```typescript blocks of `markdown`, with the line each starts at. */
export function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++].slice(open[1].length));
    blocks.push({ line: i + 2, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

// Where a name the block neither imports nor declares comes from, first match wins. Names two of
// these modules export (e.g. `Query`: @nestjs/common and @nestjs/graphql) the block must import.
const PRELUDE_MODULES = [
  'nestjs-fief',
  'nestjs-fief/testing',
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/config',
  '@nestjs/passport',
  '@nestjs/testing',
  '@nestjs/swagger',
  '@nestjs/microservices',
  '@nestjs/websockets',
  'rxjs',
];
/** The reader's own values, which a fragment may use without declaring. */
const PLACEHOLDERS = `
declare const baseURL: string;
declare const clientId: string;
declare const clientSecret: string;
declare const redirectUri: string;
declare const accessToken: string;
declare const token: string;
declare const fief: { baseURL: string; clientId: string; clientSecret: string };
declare const authorizeUrl: string;
declare class AppModule {}
`;
/** The reader's own app module, which testing examples import from their `src/`. */
const APP_MODULE = { path: /[\\/]src[\\/]app\.module\.ts$/, text: "import { Module } from '@nestjs/common';\n@Module({})\nexport class AppModule {}\n" };

/** `nestjs-fief` and its sub-paths, as the package's `exports` map them, pointed at `lib/`. */
function packagePaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { types?: string } | string> };
  const paths: Record<string, string[]> = {};
  for (const [key, target] of Object.entries(pkg.exports)) {
    const types = typeof target === 'string' ? undefined : target.types;
    if (!types) continue;
    paths[`${pkg.name}${key.slice(1)}`] = [join(ROOT, types.replace(/^\.\/dist\//, 'lib/').replace(/\.d\.ts$/, '.ts'))];
  }
  return paths;
}

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  // Bundler resolution, like most apps' tooling: `../src/app.module` without an extension resolves.
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  baseUrl: ROOT,
  paths: packagePaths(),
};

/** Top-level names a block imports or declares: the prelude must not shadow them. */
function ownNames(code: string): Set<string> {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.ES2023, true);
  const names = new Set<string>();
  const addBinding = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) addBinding(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) addBinding(declaration.name);
    } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** The exported names of each prelude module, read with the compiler itself. */
function preludeExports(): Map<string, string> {
  const probe = join(ROOT, '__readme_probe__.ts');
  const text = PRELUDE_MODULES.map((m, i) => `import * as m${i} from '${m}';`).join('\n') + `\nexport { ${PRELUDE_MODULES.map((_, i) => `m${i}`).join(', ')} };`;
  const host = ts.createCompilerHost(OPTIONS);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (resolve(name) === probe ? text : readFile(name));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === probe || fileExists(name);
  const program = ts.createProgram([probe], OPTIONS, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(probe)!;
  const origin = new Map<string, string>();
  source.statements.filter(ts.isImportDeclaration).forEach((statement, index) => {
    const symbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
    if (!symbol) throw new Error(`README prelude: cannot resolve ${PRELUDE_MODULES[index]}`);
    for (const exported of checker.getExportsOfModule(symbol)) {
      if (exported.name !== 'default' && !origin.has(exported.name)) origin.set(exported.name, PRELUDE_MODULES[index]);
    }
  });
  return origin;
}

/** The block as a module: the prelude's imports and placeholders for what it does not bring itself. */
function virtualFile(code: string, origin: Map<string, string>): { text: string; preludeLines: number } {
  const own = ownNames(code);
  const used = new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? []);
  const byModule = new Map<string, string[]>();
  for (const name of used) {
    const from = origin.get(name);
    if (from && !own.has(name)) byModule.set(from, [...(byModule.get(from) ?? []), name]);
  }
  const imports = [...byModule].map(([from, names]) => `import { ${names.join(', ')} } from '${from}';`);
  const placeholders = PLACEHOLDERS.trim()
    .split('\n')
    .filter((line) => !own.has(/declare (?:const|class) (\w+)/.exec(line)![1]));
  const prelude = [...imports, ...placeholders];
  return { text: `${prelude.join('\n')}\n${code}\nexport {};\n`, preludeLines: prelude.length };
}

describe('README.md TypeScript examples', () => {
  const blocks = tsBlocks(README);

  it('has examples to check', () => {
    expect(blocks.length).toBeGreaterThan(10);
  });

  it('every ```ts block compiles against the package (strict)', () => {
    const origin = preludeExports();
    const files = new Map<string, { block: Block; text: string; preludeLines: number }>();
    for (const block of blocks) {
      files.set(join(ROOT, `__readme_line_${block.line}__.ts`), { block, ...virtualFile(block.code, origin) });
    }
    const host = ts.createCompilerHost(OPTIONS);
    const readFile = host.readFile.bind(host);
    const virtual = (name: string) => files.get(resolve(name))?.text ?? (APP_MODULE.path.test(name) ? APP_MODULE.text : undefined);
    host.readFile = (name) => virtual(name) ?? readFile(name);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => virtual(name) !== undefined || fileExists(name);
    const directoryExists = host.directoryExists?.bind(host);
    host.directoryExists = (name) => /[\\/]src$/.test(name) || (directoryExists?.(name) ?? true);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, languageVersion, ...rest) => {
      const text = virtual(name);
      return text !== undefined ? ts.createSourceFile(name, text, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
    };
    const program = ts.createProgram([...files.keys()], OPTIONS, host);
    const problems: string[] = [];
    for (const [name, { block, preludeLines }] of files) {
      const source = program.getSourceFile(name)!;
      for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const readmeLine = block.line + line - preludeLines;
        problems.push(`README.md:${readmeLine}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('blocks that name a sample file are that file, imports aside', () => {
    const named = blocks.filter((block) => /^\/\/ sample\/[\w./-]+\.ts$/.test(block.code.split('\n')[0]));
    expect(named.length).toBeGreaterThan(0);
    const body = (code: string) =>
      code
        .split('\n')
        .filter((line) => !/^import .* from '.*';$/.test(line) && !/^\/\/ sample\//.test(line))
        .join('\n')
        .trim();
    for (const block of named) {
      const file = block.code.split('\n')[0].slice(3);
      expect([block.line, body(block.code)]).toEqual([block.line, body(readFileSync(join(ROOT, file), 'utf8'))]);
    }
  });
});
