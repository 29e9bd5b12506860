/**
 * The four consumer projects of the compatibility suite. Each Nest line is tried at both ends of its
 * peer range: the oldest release the range admits (CommonJS projects) and the newest (ESM projects).
 * `@nestjs/core` 12.0.0 publishes Nest 11 peers, so nothing installs it beside Nest 12: the low end of
 * Nest 12 is 12.0.1, the first release of the whole line (`@nestjs/platform-fastify` starts there).
 */
import { locked } from '../package/packed.js';

/** `module` / `moduleResolution` of one TypeScript configuration. */
export interface Resolution {
  module: 'commonjs' | 'node16' | 'nodenext' | 'esnext';
  moduleResolution: 'node10' | 'node16' | 'nodenext' | 'bundler';
}

export interface CompatProject {
  name: string;
  nest: 11 | 12;
  type: 'commonjs' | 'module';
  /** Versions of Nest's packages and of TypeScript in this project. */
  versions: { nest: string; fastify: string; microservices: string; websockets: string; passport: string; swagger: string; terminus: string; typescript: string };
  /** How the app with every peer is compiled (and run). */
  app: Resolution;
  /** Each resolution the app without optional peers is type-checked under; it runs as built by the first. */
  bare: Resolution[];
}

const COMMONJS_NODE10: Resolution = { module: 'commonjs', moduleResolution: 'node10' };
const NODE16: Resolution = { module: 'node16', moduleResolution: 'node16' };
const NODENEXT: Resolution = { module: 'nodenext', moduleResolution: 'nodenext' };
const BUNDLER: Resolution = { module: 'esnext', moduleResolution: 'bundler' };

export const COMPAT_PROJECTS: CompatProject[] = [
  {
    name: 'nest11-commonjs',
    nest: 11,
    type: 'commonjs',
    versions: { nest: '11.1.0', fastify: '11.1.0', microservices: '11.1.0', websockets: '11.1.0', passport: '11.0.2', swagger: '11.0.1', terminus: '11.0.0', typescript: '5.8.3' },
    app: COMMONJS_NODE10,
    bare: [COMMONJS_NODE10, NODENEXT],
  },
  {
    name: 'nest11-esm',
    nest: 11,
    type: 'module',
    versions: { nest: '11.2.10', fastify: '11.2.8', microservices: '11.2.6', websockets: '11.2.6', passport: '11.0.5', swagger: '11.4.7', terminus: '11.1.1', typescript: '5.9.3' },
    app: NODE16,
    bare: [NODE16, NODENEXT, BUNDLER],
  },
  {
    name: 'nest12-esm',
    nest: 12,
    type: 'module',
    versions: { nest: '12.5.1', fastify: '12.5.0', microservices: '12.1.1', websockets: '12.1.1', passport: '12.0.0', swagger: '12.0.2', terminus: '12.1.0', typescript: '6.0.3' },
    app: NODENEXT,
    bare: [NODENEXT, NODE16, BUNDLER],
  },
  {
    name: 'nest12-commonjs',
    nest: 12,
    type: 'commonjs',
    versions: { nest: '12.0.1', fastify: '12.0.1', microservices: '12.0.1', websockets: '12.0.1', passport: '12.0.0', swagger: '12.0.0', terminus: '12.0.0', typescript: '6.0.3' },
    // TypeScript lets CommonJS code require ES modules (Nest 12 is ESM-only) under nodenext only.
    app: NODENEXT,
    bare: [NODENEXT],
  },
];

/** The package.json of a project: `full` has every peer the app uses, `bare` none of the optional ones. */
export function manifestOf(project: CompatProject, variant: 'full' | 'bare'): Record<string, unknown> {
  const { nest, fastify, microservices, websockets, passport, swagger, terminus, typescript } = project.versions;
  const dependencies: Record<string, string> = {
    'nestjs-fief': 'file:nestjs-fief.tgz',
    '@nestjs/common': nest,
    '@nestjs/core': nest,
    '@nestjs/platform-express': nest,
    'reflect-metadata': locked('reflect-metadata'),
    rxjs: locked('rxjs'),
  };
  const devDependencies: Record<string, string> = { typescript, '@types/node': locked('@types/node') };
  if (variant === 'full') {
    Object.assign(dependencies, {
      '@nestjs/platform-fastify': fastify,
      '@nestjs/passport': passport,
      '@nestjs/swagger': swagger,
      '@nestjs/terminus': terminus,
      '@nestjs/microservices': microservices,
      '@nestjs/websockets': websockets,
      '@nestjs/platform-socket.io': websockets,
      'socket.io-client': locked('socket.io-client'),
      passport: locked('passport'),
      'oidc-provider': locked('oidc-provider'),
    });
    devDependencies['@types/passport'] = locked('@types/passport');
  }
  return { name: `compat-${project.name}-${variant}`, private: true, type: project.type, dependencies, devDependencies };
}

/** A tsconfig.json for a project: strict, legacy decorators as Nest needs, and `skipLibCheck: false`. */
export function tsconfigOf(resolution: Resolution, files: string[], emit: boolean): Record<string, unknown> {
  return {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023'],
      ...resolution,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      skipLibCheck: false,
      types: ['node'],
      rootDir: 'src',
      outDir: 'out',
      noEmit: !emit,
    },
    files,
  };
}
