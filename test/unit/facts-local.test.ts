import { spawnSync } from 'node:child_process';
import { arch, hostname, release, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { localFacts } from '../../installer/facts/local.ts';
import { summarizeFacts } from '../../installer/facts/summary.ts';

describe('localFacts: this machine through systeminformation and the local probe sections', () => {
  it('agrees with Node and with `ip route get` about this machine', async () => {
    const f = await localFacts({ fqdn: 'localhost' });
    expect(f).toMatchObject({ name: '(admin)', source: 'local', hostname: hostname() });
    expect(f.memory.totalBytes).toBe(totalmem());
    expect(f.os.kernel).toBe(release());
    expect(f.os.arch).toBe(arch() === 'x64' ? 'x86_64' : arch());
    expect(f.cpu.threads).toBeGreaterThan(0);
    expect(f.nics.some((n) => n.loopback)).toBe(true);
    expect(f.fqdn.addresses).toContain('127.0.0.1');
    // the air-gap verdict on the admin machine follows its real routing table
    const r = spawnSync('ip', ['route', 'get', '1.1.1.1'], { encoding: 'utf8' });
    const routed = r.status === 0 && !/^(unreachable|prohibit|blackhole)/.test(r.stdout.trim());
    expect(f.routes.publicProbes.find((p) => p.destination === '1.1.1.1')?.routable).toBe(routed);
    // the admin clock is the reference
    expect(f.time.sentAtMs).toBe(f.time.epochMs);
    expect(summarizeFacts(f)).toMatch(/^\(admin\): /);
  });
});
