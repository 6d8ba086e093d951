import { describe, expect, it } from 'vitest';
import { childEnvironment, runLocal } from '../../installer/core/process.ts';
import { secretEnv, takeSecretEnv } from '../../installer/core/secret-env.ts';

describe('local processes', () => {
  it('a child gets PATH, HOME, locale and what the caller names; nothing else of ours', async () => {
    process.env.PALISADE_TEST_OTHER = 'not for children';
    try {
      const r = await runLocal('/usr/bin/env', [], { env: { EXTRA: 'yes' } });
      expect(r.code).toBe(0);
      const names = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0]);
      expect(names).toContain('PATH');
      expect(names).toContain('EXTRA');
      expect(names).not.toContain('PALISADE_TEST_OTHER');
      expect(names.every((n) => ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'EXTRA'].includes(n!))).toBe(true);
    } finally {
      delete process.env.PALISADE_TEST_OTHER;
    }
    expect(Object.keys(childEnvironment({}, { PATH: '/bin', SECRET: 'x' }))).toEqual(['PATH']);
  });

  it('arguments are passed as given (no shell), stdin is fed, a non-zero exit is a result', async () => {
    const r = await runLocal('/bin/sh', ['-c', 'cat; printf "%s" "$1"; exit 3', 'sh', '$(echo not run) ; x'], { input: 'in:' });
    expect(r).toMatchObject({ code: 3, stdout: 'in:$(echo not run) ; x', timedOut: false });
    const missing = await runLocal('/nonexistent/tool', []);
    expect(missing.code).toBeUndefined();
    expect(missing.failure).toMatch(/ENOENT/);
  });

  it('a process over its time is stopped', async () => {
    const r = await runLocal('sleep', ['5'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.failure).toMatch(/timed out/);
  });

  it('secret variables are taken out of the environment once and still readable', () => {
    const env: NodeJS.ProcessEnv = { PALISADE_SUDO_PASSWORD: 'sudo-secret', PATH: '/bin' };
    takeSecretEnv(env);
    expect(env.PALISADE_SUDO_PASSWORD).toBeUndefined();
    expect(secretEnv('PALISADE_REGISTRY_PASSWORD', { PALISADE_REGISTRY_PASSWORD: '' })).toBeUndefined();
    expect(secretEnv('PALISADE_REGISTRY_PASSWORD', { PALISADE_REGISTRY_PASSWORD: 'r' })).toBe('r');
  });
});
