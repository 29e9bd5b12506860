/**
 * Vitest for the helpers' own Vitest test, as Nest's docs set it up: SWC instead of esbuild, because
 * Nest's dependency injection needs decorator metadata, which esbuild does not emit.
 */
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022', keepClassNames: true } })],
  test: { include: ['*.vitest.ts'], pool: 'forks', testTimeout: 30_000, hookTimeout: 30_000, reporters: ['json'] },
});
