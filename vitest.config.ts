import { defineConfig } from 'vitest/config';

// Three projects:
//   unit         pure logic, no processes or servers (seconds: `npx vitest run --project unit`)
//   integration  on this machine: the CLI as a child process, real sshd, registry and openssl on loopback
//   lab          against the rehearsal hosts (one shared lab per run, test files one after another)
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
