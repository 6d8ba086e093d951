import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../installer/config/load.ts';
import { sh } from '../../installer/core/quote.ts';
import { closeAll, configTargets, connectHost } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { REGISTRY_SERVICE } from '../../installer/registry/service.ts';
import { runRegistryLabScenario } from '../fixtures/bundle/registry-lab-scenario.ts';
import { getLab } from './lab.ts';

/**
 * The pack registry as a systemd service on lab hosts (test/fixtures/bundle/
 * registry-lab-scenario.ts): installed from the test bundle's bin/registry (the
 * CNCF registry from Debian's docker-registry), TLS + htpasswd, health-checked
 * from this machine, seeded, verified, re-installed (no change), restarted
 * (content kept), wrong password and wrong CA refused. Once as root, once as
 * the `ops` user through sudo. Each host is given back without the service.
 */
const lab = getLab();
let loaded: LoadedConfig;
let work: string;
const open: RemoteHost[] = [];

async function connect(name: string, user?: string): Promise<RemoteHost> {
  const t = configTargets(loaded.config, loaded.baseDir).find((x) => x.name === name)!;
  const h = await connectHost(user ? { ...t, user } : t);
  open.push(h);
  return h;
}

/** Stop and remove the registry service and its files. */
async function removeRegistry(h: RemoteHost): Promise<void> {
  await h.exec(
    sh`systemctl disable --now ${REGISTRY_SERVICE} >/dev/null 2>&1; rm -rf ${`/etc/systemd/system/${REGISTRY_SERVICE}.service`} /etc/palisade/registry /usr/local/lib/palisade/registry /var/lib/palisade/registry; systemctl daemon-reload; true`,
    { sudo: true },
  );
}

beforeAll(async () => {
  loaded = await loadConfig(lab.configPath);
  work = mkdtempSync(join(tmpdir(), 'palisade-registry-lab-'));
});

afterAll(async () => {
  await closeAll(open);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('registry service on lab hosts', () => {
  it('as root: install from the bundle, TLS health from this machine, seed, verify, idempotent re-install, restart, refusals', async () => {
    const h = await connect('host4');
    await removeRegistry(h);
    try {
      await runRegistryLabScenario({ host: h, workDir: join(work, 'root') });
      // the data lives where the config says, owned by the service user
      expect((await h.exec(sh`stat -c %U /var/lib/palisade/registry`, { sudo: true })).stdout.trim()).toBe('palisade-registry');
    } finally {
      await removeRegistry(h);
    }
    expect((await h.exec(sh`systemctl is-active ${REGISTRY_SERVICE}`, { sudo: true })).stdout.trim()).not.toBe('active');
  });

  it('as the ops user through sudo, on another port and storage directory', async () => {
    const h = await connect('host3', 'ops');
    expect((await h.exec('id -un')).stdout.trim()).toBe('ops');
    await removeRegistry(h);
    try {
      await runRegistryLabScenario({ host: h, workDir: join(work, 'ops'), port: 5443, storageDir: '/srv/palisade-registry' });
      // files written through sudo are root's, not the SSH user's
      expect((await h.exec(sh`stat -c %U:%G /etc/palisade/registry/config.yml`, { sudo: true })).stdout.trim()).toBe('root:palisade-registry');
    } finally {
      await removeRegistry(h);
      await h.exec('rm -rf /srv/palisade-registry', { sudo: true });
    }
  });
});
