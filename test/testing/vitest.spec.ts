/**
 * The testing helpers under Vitest (Nest 12's default runner), run as its own child process:
 * `test/testing/vitest/` holds a passing test of the README's kind and one that fails on purpose, to
 * show that the agent's failures are reported by Vitest with the app's answer.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

interface VitestReport {
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

describe('nestjs-fief/testing under Vitest', () => {
  it('passes the README test and reports a failed expectation with the answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nestjs-fief-vitest-'));
    try {
      const output = join(dir, 'report.json');
      const exitCode = await new Promise<number | null>((done) => {
        const child = execFile(
          process.execPath,
          [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/testing/vitest/vitest.config.ts', '--outputFile', output],
          { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
        );
        child.on('exit', (code) => done(code));
      });
      const report = JSON.parse(await readFile(output, 'utf8')) as VitestReport;
      const results = Object.fromEntries(
        report.testResults.flatMap((file) => file.assertionResults.map((test) => [test.fullName, test] as const)),
      );
      expect(Object.keys(results).sort()).toEqual([
        'castles, under Vitest lets anne build a castle with a bearer token, and refuses guest',
        'castles, under Vitest logs guest in through the app own login flow',
        'expects 200 from an anonymous request to a guarded route',
      ]);
      expect(results['castles, under Vitest lets anne build a castle with a bearer token, and refuses guest'].status).toBe('passed');
      expect(results['castles, under Vitest logs guest in through the app own login flow'].status).toBe('passed');
      const failed = results['expects 200 from an anonymous request to a guarded route'];
      expect(failed.status).toBe('failed');
      expect(failed.failureMessages[0]).toMatch(/^AssertionError.*expected 200; GET \/castles answered 401: .*Unauthorized/);
      expect(exitCode).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
