import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseClock,
  parseCpuinfo,
  parseDataDisk,
  parseLatency,
  parseListeningPorts,
  parseLsblk,
  parseMeminfo,
  parseNameservers,
  parseNics,
  parseProbeOutput,
  parseRoutes,
  parseTimeSync,
  parseTpm,
  percentile,
  splitSections,
} from '../../installer/facts/parse.ts';
import { summarizeFacts } from '../../installer/facts/summary.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/facts', name), 'utf8');
const ctx = { name: 'host1', address: '10.231.0.10', fqdn: 'palisade.lab.internal', dataDisk: '/dev/vdb' };

describe('probe output recorded on a lab host (nspawn, Debian 12, swtpm via TCTI)', () => {
  const f = parseProbeOutput(fixture('lab-host1.txt'), ctx);

  it('reads identity, OS, CPU and memory', () => {
    expect(f.hostname).toBe('host1');
    expect(f.machineId).toMatch(/^[0-9a-f]{32}$/);
    expect(f.productUuid).toBeUndefined(); // not readable in a container: unknown, not empty
    expect(f.os).toMatchObject({ id: 'debian', versionId: '12', arch: 'x86_64' });
    expect(f.os.kernel).toMatch(/^\d+\.\d+/);
    expect(f.cpu).toMatchObject({ model: 'Intel(R) Xeon(R) Processor', cores: 2, threads: 2, aes: true });
    expect(f.cpu.virtualization).toBeUndefined();
    expect(f.memory.totalBytes).toBe(24731708 * 1024);
    expect(f.memory.swapTotalBytes).toBe(0);
    expect(f.cgroupVersion).toBe(1);
  });

  it('reads the data disk with blkid/sysfs, not the udev database (containers have none)', () => {
    expect(f.dataDisk).toEqual({
      device: '/dev/vdb',
      exists: true,
      isBlockDevice: true,
      sizeBytes: 2147483648,
      devno: '7:1',
      partitions: [],
      mountpoints: [],
      holders: [],
    });
    expect(f.disks.length).toBeGreaterThan(0);
  });

  it('reads NICs, listening ports, kernel features, sysctls', () => {
    const eth0 = f.nics.find((n) => n.name === 'eth0');
    expect(eth0).toMatchObject({ mtu: 1500, state: 'up', loopback: false });
    expect(eth0?.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(eth0?.addresses).toContainEqual({ family: 'inet', address: '10.231.0.10', prefixLength: 27, scope: 'global' });
    expect(f.nics.find((n) => n.name === 'lo')).toMatchObject({ loopback: true });
    expect(f.nics.find((n) => n.name === 'lo')?.mac).toBeUndefined();
    expect(f.listeningPorts).toEqual([22, 2321, 2322]);
    expect(f.kernel).toEqual({ overlay: true, brNetfilter: true, deviceMapper: false, dmCrypt: false });
    expect(f.sysctls['fs.inotify.max_user_instances']).toBe('128');
    expect(f.sysctls['net.ipv4.ip_forward']).toBe('1');
  });

  it('finds the TPM through the TCTI in /etc/environment, and no route to public addresses', () => {
    expect(f.tpm).toMatchObject({ present: true, via: 'tcti' });
    expect(f.routes.defaultRoutes).toEqual([]);
    expect(f.routes.publicProbes.map((p) => p.destination)).toEqual(['1.1.1.1', '8.8.8.8', '9.9.9.9', '2606:4700::1111', '2001:4860:4860::8888']);
    expect(f.routes.publicProbes.every((p) => !p.routable)).toBe(true);
  });

  it('reads time sync state, resolver, FQDN and the fio latency', () => {
    expect(f.time.epochMs).toBeGreaterThan(1.7e12);
    expect(f.time).toMatchObject({ service: 'chrony', synchronized: false, detail: 'chronyd is not running' });
    expect(f.nameservers).toEqual(['10.231.0.2']);
    expect(f.fqdn).toEqual({ name: 'palisade.lab.internal', addresses: ['10.231.0.10'] });
    const raw = fixture('lab-host1.txt');
    const fio = JSON.parse(raw.slice(raw.indexOf('{', raw.indexOf('method=fio')), raw.lastIndexOf('}') + 1));
    const lat = fio.jobs[0].sync.lat_ns;
    expect(f.diskLatency).toEqual({
      method: 'fio',
      path: expect.stringMatching(/^\/var\/lib\/\.palisade-preflight\./),
      samples: lat.N,
      p99Ms: lat.percentile['99.000000'] / 1e6,
      p50Ms: lat.percentile['50.000000'] / 1e6,
    });
  });

  it('summarizes in one line', () => {
    expect(summarizeFacts(f)).toBe('host1: host1, debian 12, kernel 6.18.44-fc-v657, 2 CPU, 23.6 GiB, /dev/vdb 2.1 GB, TPM2 (tcti), no dm');
  });

  it('the host behind the jump host has its own identity', () => {
    const g = parseProbeOutput(fixture('lab-host4.txt'), { ...ctx, name: 'host4' });
    expect(g.hostname).toBe('host4');
    expect(g.machineId).not.toBe(f.machineId);
  });
});

describe('probe output recorded on lab hosts with chrony synchronised', () => {
  it('chrony -x synchronised to the services namespace; the host behind the jump host too', () => {
    for (const [name, file] of [
      ['host1', 'lab-host1-chrony.txt'],
      ['host5', 'lab-host5-chrony.txt'],
    ] as const) {
      const f = parseProbeOutput(fixture(file), { ...ctx, name });
      expect(f.hostname).toBe(name);
      expect(f.time).toMatchObject({ service: 'chrony', synchronized: true, source: '10.231.0.2' });
      expect(Math.abs(f.time.offsetMs!)).toBeLessThan(100);
      expect(f.routes.publicProbes.some((p) => p.routable)).toBe(false);
    }
  });
});

describe('probe output recorded on this machine (Debian 12 VM, no systemd, routes to the internet)', () => {
  const f = parseProbeOutput(fixture('local-debian12.txt'), { name: 'vm', fqdn: 'localhost', dataDisk: '/dev/vda' });
  it('reads disks from lsblk JSON with mountpoints, and the mounted root disk', () => {
    const vda = f.disks.find((d) => d.name === 'vda');
    expect(vda).toMatchObject({ path: '/dev/vda', sizeBytes: 274877906944, rotational: true, type: 'disk' });
    expect(vda?.mountpoints).toContain('/');
    expect(f.dataDisk?.mountpoints).toContain('/');
  });
  it('sees the default routes and that they reach public addresses (routing table only)', () => {
    expect(f.routes.defaultRoutes).toEqual([
      { family: 'inet', via: '192.0.2.1', dev: 'eth0' },
      { family: 'inet6', via: 'fd00::1', dev: 'eth0' },
    ]);
    expect(f.routes.publicProbes.filter((p) => p.routable).map((p) => p.destination)).toContain('1.1.1.1');
    expect(f.routes.publicProbes.find((p) => p.destination === '2606:4700::1111')).toMatchObject({ routable: true, via: 'fd00::1', dev: 'eth0' });
  });
  it('notes what it could not measure instead of guessing', () => {
    expect(f.time.service).toBeUndefined();
    expect(f.notes).toContain('time sync: neither chronyc nor timedatectl answered');
    expect(f.tpm.present).toBe(false);
  });
});

describe('edge cases', () => {
  it('a cut-off probe is an error that names where it stopped', () => {
    expect(() => parseProbeOutput('\n==== clock ====\n1795700138970044492\n==== identity ====\nhostname=x\n', ctx)).toThrow(/did not finish.*identity/);
    expect(() => parseProbeOutput('sh: syntax error', ctx)).toThrow(/before the first section/);
  });

  it('every tool missing: an empty probe parses to undefined fields with notes', () => {
    const names = [
      'clock',
      'identity',
      'osrelease',
      'cpuinfo',
      'meminfo',
      'cgroup',
      'lsblk',
      'nics',
      'chrony',
      'timedatectl',
      'ports',
      'kernel',
      'sysctl',
      'tpm',
      'routes',
      'resolv',
      'fqdn',
      'latency',
      'end',
    ];
    const f = parseProbeOutput(names.map((n) => `==== ${n} ====\n`).join(''), { name: 'bare', fqdn: 'a.b.internal' });
    expect(f.cpu).toEqual({ flags: [], aes: false });
    expect(f.memory).toEqual({});
    expect(f.disks).toEqual([]);
    expect(f.listeningPorts).toBeUndefined();
    expect(f.kernel).toEqual({});
    expect(f.time.epochMs).toBeUndefined();
    expect(f.notes).toEqual(
      expect.arrayContaining([
        'clock: could not read the host clock',
        'memory: /proc/meminfo has no SwapTotal line',
        'disks: lsblk printed nothing (not installed?)',
        'ports: neither ss nor /proc/net/tcp could be read',
        'routes: `ip route get` is not available',
        'os: /etc/os-release is missing',
      ]),
    );
  });

  it('no swap line is unknown, not "no swap"', () => {
    expect(parseMeminfo('MemTotal:       16303024 kB\nMemAvailable:   12000000 kB')).toEqual({ totalBytes: 16303024 * 1024, availableBytes: 12000000 * 1024 });
  });

  it('clock with and without nanoseconds (busybox date has no %N)', () => {
    expect(parseClock('1795700138970044492')).toBe(1795700138970);
    expect(parseClock('1795700138000000000')).toBe(1795700138000);
    expect(parseClock('1795700138')).toBe(1795700138000);
    expect(parseClock('%s%N')).toBeUndefined();
  });

  it('NVMe disks with partitions, and lsblk with MOUNTPOINT (util-linux < 2.37)', () => {
    const json = JSON.stringify({
      blockdevices: [
        {
          name: 'nvme0n1',
          size: 512110190592,
          rota: false,
          type: 'disk',
          model: 'Samsung SSD 980 PRO 512GB',
          serial: 'S5GXNF0R123456',
          mountpoint: null,
          fstype: null,
          children: [
            { name: 'nvme0n1p1', size: 536870912, rota: false, type: 'part', model: null, serial: null, mountpoint: '/boot/efi', fstype: 'vfat' },
            { name: 'nvme0n1p2', size: 511571181568, rota: false, type: 'part', model: null, serial: null, mountpoint: '/', fstype: 'ext4' },
          ],
        },
        { name: 'nvme1n1', size: '1024209543168', rota: '0', type: 'disk', model: 'INTEL SSDPE2KX010T8', serial: 'PHLJ0000', mountpoint: null, fstype: null },
      ],
    });
    const d = parseLsblk(json)!;
    expect(d[0]).toMatchObject({ name: 'nvme0n1', path: '/dev/nvme0n1', rotational: false, model: 'Samsung SSD 980 PRO 512GB', mountpoints: [] });
    expect(d[0]!.children.map((c) => [c.name, c.mountpoints, c.fstype])).toEqual([
      ['nvme0n1p1', ['/boot/efi'], 'vfat'],
      ['nvme0n1p2', ['/'], 'ext4'],
    ]);
    expect(d[1]).toMatchObject({ sizeBytes: 1024209543168, rotational: false });
  });

  it('lsblk without JSON support (-P pairs, parents by PKNAME)', () => {
    const pairs = [
      'NAME="sda" PKNAME="" SIZE="480103981056" ROTA="0" TYPE="disk" MODEL="INTEL\\x20SSDSC2KB48" SERIAL="BTYF1234" MOUNTPOINT="" FSTYPE=""',
      'NAME="sda1" PKNAME="sda" SIZE="480102932480" ROTA="0" TYPE="part" MODEL="" SERIAL="" MOUNTPOINT="/" FSTYPE="xfs"',
      'NAME="sdb" PKNAME="" SIZE="2000398934016" ROTA="1" TYPE="disk" MODEL="ST2000NM0055" SERIAL="ZC20ABCD" MOUNTPOINT="" FSTYPE=""',
    ].join('\n');
    const d = parseLsblk(pairs)!;
    expect(d.map((x) => x.name)).toEqual(['sda', 'sdb']);
    expect(d[0]).toMatchObject({ model: 'INTEL SSDSC2KB48', rotational: false });
    expect(d[0]!.children[0]).toMatchObject({ name: 'sda1', mountpoints: ['/'], fstype: 'xfs' });
    expect(d[1]).toMatchObject({ rotational: true, sizeBytes: 2000398934016 });
  });

  it('a data disk with a filesystem, partitions, a mount and a dm holder', () => {
    const d = parseDataDisk(
      '/dev/sdb',
      'exists=1\nblock=1\ndevno=8:16\nsize=107374182400\nblkid.PTTYPE=gpt\npart=sdb1 8:17\nholder=dm-0\nmount=/srv/data\\040old',
    );
    expect(d).toEqual({
      device: '/dev/sdb',
      exists: true,
      isBlockDevice: true,
      devno: '8:16',
      sizeBytes: 107374182400,
      ptType: 'gpt',
      partitions: ['sdb1'],
      mountpoints: ['/srv/data old'],
      holders: ['dm-0'],
    });
    expect(parseDataDisk('/dev/sdz', 'exists=0\nblock=0')).toMatchObject({ exists: false, isBlockDevice: false, partitions: [] });
  });

  it('IPv6-only host: addresses, default route, public probes', () => {
    const nics = parseNics(
      JSON.stringify([
        {
          ifname: 'lo',
          link_type: 'loopback',
          address: '00:00:00:00:00:00',
          mtu: 65536,
          operstate: 'UNKNOWN',
          addr_info: [{ family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' }],
        },
        {
          ifname: 'ens3',
          link_type: 'ether',
          address: '52:54:00:AA:BB:CC',
          mtu: 9000,
          operstate: 'UP',
          addr_info: [
            { family: 'inet6', local: '2001:db8::10', prefixlen: 64, scope: 'global' },
            { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
          ],
        },
      ]),
    )!;
    expect(nics[1]).toEqual({
      name: 'ens3',
      mac: '52:54:00:aa:bb:cc',
      mtu: 9000,
      state: 'up',
      loopback: false,
      addresses: [
        { family: 'inet6', address: '2001:db8::10', prefixLength: 64, scope: 'global' },
        { family: 'inet6', address: 'fe80::1', prefixLength: 64, scope: 'link' },
      ],
    });
    const r = parseRoutes(
      [
        'v6 default via 2001:db8::1 dev ens3 proto static metric 1024 pref medium',
        'get 1.1.1.1 2 RTNETLINK answers: Network is unreachable',
        'get 2606:4700::1111 0 2606:4700::1111 from :: via 2001:db8::1 dev ens3 src 2001:db8::10 metric 1024 pref medium',
      ].join('\n'),
    );
    expect(r.defaultRoutes).toEqual([{ family: 'inet6', via: '2001:db8::1', dev: 'ens3' }]);
    expect(r.publicProbes).toEqual([
      { destination: '1.1.1.1', routable: false, detail: 'RTNETLINK answers: Network is unreachable' },
      {
        destination: '2606:4700::1111',
        routable: true,
        via: '2001:db8::1',
        dev: 'ens3',
        detail: '2606:4700::1111 from :: via 2001:db8::1 dev ens3 src 2001:db8::10 metric 1024 pref medium',
      },
    ]);
  });

  it('unreachable and blackhole routes carry nothing', () => {
    const r = parseRoutes('get 8.8.8.8 0 unreachable 8.8.8.8 table main\nget 9.9.9.9 0 blackhole 9.9.9.9\nget 1.1.1.1 0 1.1.1.1 dev wg0 src 10.0.0.2');
    expect(r.publicProbes.map((p) => p.routable)).toEqual([false, false, true]);
    expect(r.publicProbes[2]).toMatchObject({ dev: 'wg0' });
  });

  it('NICs from /sys/class/net when ip has no JSON', () => {
    const n = parseNics(
      'sys lo 00:00:00:00:00:00 65536 unknown\nsys eth0 52:54:00:12:34:56 1500 up\n1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever',
    );
    expect(n).toEqual([
      { name: 'lo', mtu: 65536, state: 'unknown', loopback: true, addresses: [{ family: 'inet', address: '127.0.0.1', prefixLength: 8, scope: 'host' }] },
      {
        name: 'eth0',
        mac: '52:54:00:12:34:56',
        mtu: 1500,
        state: 'up',
        loopback: false,
        addresses: [{ family: 'inet', address: '10.0.0.5', prefixLength: 24, scope: 'global' }],
      },
    ]);
  });

  it('listening ports from ss and from /proc/net/tcp', () => {
    expect(parseListeningPorts('LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*\nLISTEN 0 128 [::]:22 [::]:*\nLISTEN 0 4096 *:6443 *:*')).toEqual([22, 53, 6443]);
    const proc =
      '# proc\n  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:0CEA 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0';
    expect(parseListeningPorts(proc)).toEqual([22, 443]);
  });

  it('chrony synchronised, chrony unsynchronised, timesyncd', () => {
    const tracking = (ref: string, leap: string) =>
      `# chronyc\nReference ID    : ${ref}\nStratum         : 3\nSystem time     : 0.000123456 seconds slow of NTP time\nLeap status     : ${leap}`;
    const ok = parseTimeSync(tracking('0A00000A (10.0.0.10)', 'Normal'), undefined);
    expect(ok).toMatchObject({ service: 'chrony', synchronized: true, source: '10.0.0.10' });
    expect(ok.offsetMs).toBeCloseTo(-0.123456, 6);
    expect(parseTimeSync(tracking('00000000 ()', 'Not synchronised'), undefined)).toMatchObject({ service: 'chrony', synchronized: false });
    expect(parseTimeSync(undefined, 'NTP=yes\nNTPSynchronized=yes')).toEqual({ service: 'timesyncd', synchronized: true });
    expect(parseTimeSync(undefined, 'NTP=no\nNTPSynchronized=no')).toMatchObject({
      synchronized: false,
      detail: 'no NTP service enabled (timedatectl NTP=no)',
    });
    expect(parseTimeSync(undefined, undefined)).toEqual({});
  });

  it('TPM: device node, TCTI that answers, TCTI that does not, none', () => {
    expect(parseTpm('device=/dev/tpmrm0\ndevice=/dev/tpm0')).toMatchObject({ present: true, via: 'device' });
    expect(parseTpm('tcti=swtpm:host=127.0.0.1,port=2321\ngetcap=2.0')).toMatchObject({ present: true, via: 'tcti' });
    expect(parseTpm('tcti=swtpm:host=127.0.0.1,port=2321\ngetcap=')).toMatchObject({ present: false, detail: expect.stringMatching(/does not answer/) });
    expect(parseTpm('getcap=missing-tool')).toMatchObject({ present: false, detail: expect.stringMatching(/no \/dev\/tpm0/) });
    expect(parseTpm('')).toMatchObject({ present: false });
  });

  it('nameservers, resolved upstreams, and section splitting', () => {
    expect(parseNameservers('nameserver 127.0.0.53\nresolved nameserver 10.0.0.2\nresolved nameserver 10.0.0.3')).toEqual([
      '127.0.0.53',
      '10.0.0.2',
      '10.0.0.3',
    ]);
    expect([...splitSections('junk\n==== a ====\n1\n\n==== b ====\n2\n==== end ====\n').entries()]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['end', ''],
    ]);
  });

  it('cpuinfo across two sockets with hyperthreads; vmx and svm', () => {
    const lines: string[] = [];
    for (let s = 0; s < 2; s++)
      for (let t = 0; t < 2; t++)
        for (let c = 0; c < 4; c++)
          lines.push(`processor\t: ${lines.length}`, 'model name\t: Intel(R) Xeon(R) Gold 6230', `physical id\t: ${s}`, `core id\t\t: ${c}`, 'cpu cores\t: 4');
    lines.splice(2, 0, 'flags\t\t: fpu vmx aes avx2');
    expect(parseCpuinfo(lines.join('\n'))).toMatchObject({ cores: 8, threads: 16, aes: true, virtualization: 'vmx' });
    expect(parseCpuinfo('processor : 0\nflags : svm sse2', 1)).toMatchObject({ threads: 1, virtualization: 'svm', aes: false });
  });

  it('dd latency: samples minus the per-call overhead, p99 by nearest rank', () => {
    const body = [
      'path=/var/lib/.palisade-preflight.x',
      'method=dd',
      ...Array.from({ length: 20 }, () => 'base 1000'),
      ...Array.from({ length: 100 }, (_, i) => `sync ${1000 + (i + 1) * 100}`),
    ].join('\n');
    const { latency } = parseLatency(body);
    expect(latency).toMatchObject({ method: 'dd', samples: 100, overheadMs: 1, p99Ms: 9.9, p50Ms: 5 });
    expect(parseLatency('error=neither fio nor a nanosecond clock (GNU date) on the host').note).toMatch(/neither fio/);
    expect(parseLatency('path=/x\nmethod=fio\nfio: engine libaio not loadable').note).toMatch(/no result/);
    expect(percentile([5, 1, 3], 50)).toBe(3);
  });
});
