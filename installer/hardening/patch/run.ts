import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { openBundle, type Bundle } from '../../bundle/open.ts';
import { verifyBundle } from '../../bundle/verify.ts';
import type { PalisadeConfig } from '../../config/schema.ts';
import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { sh, shq } from '../../core/quote.ts';
import { closeAll, connectHosts } from '../../hosts/index.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import { WindowStop } from '../../upgrade/rolling.ts';
import { describeWindow, nextWindows, openWindow } from '../../upgrade/windows.ts';
import { OS_PACKAGES_INDEX, parsePackagesIndex, type PackageEntry } from './index.ts';
import { needsRebootByName, planPatches, type HostPatchPlan } from './plan.ts';
import { rebootAfterPatch } from './reboot-run.ts';

/**
 * `palisade patch`: the bundle's OS package set installed offline on every
 * host, newer versions only. The bundle is verified first (signature and
 * checksums); each .deb is uploaded (SHA-256 checked on the host) and installed
 * with dpkg, which needs no network. Reboots are never done here: a host that
 * needs one is reported, with the maintenance window it can happen in.
 */
const STAGING = '/var/cache/palisade/patches';

export interface HostPatchResult {
  host: string;
  /** what changed: name from -> to */
  changed: Array<{ name: string; from: string; to: string }>;
  /** offered, but the host already has this version or a newer one */
  current: HostPatchPlan['current'];
  /** would change (dry run) */
  planned: Array<{ name: string; from: string; to: string }>;
  rebootNeeded: boolean;
  /** why a reboot is needed (the packages that asked for it) */
  rebootReason?: string;
  error?: string;
}

export interface PatchReport {
  bundle: string;
  packages: number;
  dryRun: boolean;
  hosts: HostPatchResult[];
  reboot: {
    hosts: string[];
    window: 'open' | 'later' | 'none';
    next?: ReturnType<typeof describeWindow>;
    note: string;
    /** with --reboot: the hosts rebooted (one at a time, healthy after each), and why the run stopped before the rest */
    rebooted?: Array<{ host: string; durationMs: number }>;
    stopped?: string;
  };
  ok: boolean;
}

export interface PatchOptions {
  config: PalisadeConfig;
  baseDir: string;
  bundlePath: string;
  trustedKey: KeyObject;
  only?: string[];
  dryRun?: boolean;
  hosts?: Map<string, RemoteHost>;
  now?: number;
  onHost?: (host: string, line: string) => void;
  /** reboot the hosts that need it (inside a window, one at a time, the health gate between) */
  reboot?: { ignoreWindow: boolean; waitForWindow: boolean; signal: AbortSignal; now?: () => number };
}

/** The bundle's package set, after the bundle verified; every entry's file present in the bundle. */
export async function readPackageSet(b: Bundle): Promise<PackageEntry[]> {
  if (!b.has(OS_PACKAGES_INDEX))
    throw new PalisadeError('patch.no-packages', `the bundle ${b.path} carries no OS package set (${OS_PACKAGES_INDEX})`, {
      hint: 'build the bundle with an OS package set, or use a release bundle that has one',
    });
  let set: PackageEntry[];
  try {
    set = parsePackagesIndex((await b.read(OS_PACKAGES_INDEX)).toString('utf8'));
  } catch (e) {
    throw new PalisadeError('patch.index', `${b.path}: ${OS_PACKAGES_INDEX} cannot be read: ${errorMessage(e)}`, { hint: 'rebuild the bundle' });
  }
  for (const e of set)
    if (!b.has(`os/${e.filename}`))
      throw new PalisadeError('patch.index', `${b.path}: ${OS_PACKAGES_INDEX} lists ${e.filename}, which is not in the bundle`, { hint: 'rebuild the bundle' });
  return set;
}

// Debian's way of asking for a reboot: /run/reboot-required, and the packages that asked in reboot-required.pkgs
const installedProbe =
  "export LC_ALL=C; dpkg --print-architecture; dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\\n' 2>/dev/null; if [ -e /run/reboot-required ]; then echo \"@reboot-required $(cat /run/reboot-required.pkgs 2>/dev/null | sort -u | tr '\\n' ' ')\"; fi";

export function parseInstalled(stdout: string): { arch: string; installed: Map<string, string>; rebootRequired?: string[] } {
  const [arch = '', ...rest] = stdout.split('\n');
  const installed = new Map<string, string>();
  let rebootRequired: string[] | undefined;
  for (const l of rest) {
    if (l.startsWith('@reboot-required')) {
      rebootRequired = l.slice('@reboot-required'.length).trim().split(/\s+/).filter(Boolean);
      continue;
    }
    const [name, version, status] = l.trim().split(/\s+/);
    if (name && version && status?.startsWith('i')) installed.set(name.replace(/:.*$/, ''), version);
  }
  return { arch: arch.trim(), installed, ...(rebootRequired ? { rebootRequired } : {}) };
}

function rebootOf(flagged: string[] | undefined, byName: string[]): Pick<HostPatchResult, 'rebootNeeded' | 'rebootReason'> {
  if (!flagged && byName.length === 0) return { rebootNeeded: false };
  const why = [...new Set([...(flagged ?? []), ...byName])];
  return { rebootNeeded: true, rebootReason: why.length ? why.join(', ') : 'the host says so (/run/reboot-required)' };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function patchHost(h: RemoteHost, b: Bundle, set: PackageEntry[], dryRun: boolean, onLine: (l: string) => void): Promise<HostPatchResult> {
  const before = parseInstalled((await h.exec(installedProbe, { sudo: true, check: true })).stdout);
  const plan = planPatches(before.installed, before.arch, set);
  const planned = plan.upgrades.map(({ name, from, to }) => ({ name, from, to }));
  const base = { host: h.name, current: plan.current, changed: [], planned, ...rebootOf(before.rebootRequired, []) };
  if (dryRun || plan.upgrades.length === 0) return base;
  await h.exec(sh`install -d -m 0700 ${STAGING}`, { sudo: true, check: true });
  const files: string[] = [];
  try {
    for (const u of plan.upgrades) {
      const local = await b.localPath(`os/${u.entry.filename}`);
      const sum = await sha256File(local);
      if (sum !== u.entry.sha256)
        throw new PalisadeError('patch.digest', `${u.entry.filename} in the bundle does not match its SHA256 in ${OS_PACKAGES_INDEX}`, {
          hint: 'the bundle is damaged: get it again from the release',
        });
      const remote = `${STAGING}/${u.name}_${u.to.replace(/:/g, '%3a')}.deb`;
      await h.upload(local, remote, { mode: 0o644, sudo: true, owner: 'root:root' });
      files.push(remote);
    }
    onLine(`installing ${plan.upgrades.map((u) => `${u.name} ${u.to}`).join(', ')}`);
    // --force-confold: the operator's edits to config files stay; noninteractive: no prompt on an unattended host
    const r = await h.exec(`export DEBIAN_FRONTEND=noninteractive LC_ALL=C; dpkg --force-confold -i ${files.map(shq).join(' ')} 2>&1; echo "rc=$?"`, {
      sudo: true,
      timeoutMs: 1_800_000,
    });
    const rc = Number(/^rc=(\d+)$/m.exec(r.stdout)?.[1] ?? 1);
    const after = parseInstalled((await h.exec(installedProbe, { sudo: true, check: true })).stdout);
    const changed = plan.upgrades
      .filter((u) => after.installed.get(u.name) !== u.from)
      .map((u) => ({ name: u.name, from: u.from, to: after.installed.get(u.name) ?? '(removed)' }));
    return {
      ...base,
      changed,
      ...rebootOf(
        after.rebootRequired,
        changed.filter((c) => needsRebootByName(c.name)).map((c) => c.name),
      ),
      ...(rc !== 0
        ? {
            error: `dpkg exited ${rc}: ${r.stdout
              .split('\n')
              .filter((l) => /error|dpkg:/i.test(l))
              .slice(-3)
              .join(' ')}`,
          }
        : {}),
    };
  } finally {
    if (files.length) await h.exec(sh`rm -f ${files}`, { sudo: true }).catch(() => undefined);
  }
}

export async function runPatch(o: PatchOptions): Promise<PatchReport> {
  await verifyBundle(o.bundlePath, o.trustedKey);
  const b = await openBundle(o.bundlePath);
  const own = !o.hosts;
  let conn: { hosts: Map<string, RemoteHost>; failures: Array<{ name: string; error: Error }> } | undefined;
  try {
    const set = await readPackageSet(b);
    const names = o.only?.length ? o.only : o.config.hosts.map((h) => h.name);
    conn = o.hosts ? { hosts: o.hosts, failures: [] } : await connectHosts(o.config, o.baseDir, { only: names });
    const results = await settleLimit(names, o.config.ssh.concurrency, async (name) => {
      const h = conn!.hosts.get(name);
      if (!h) throw conn!.failures.find((f) => f.name === name)?.error ?? new Error('not connected');
      return patchHost(h, b, set, o.dryRun === true, (l) => o.onHost?.(name, l));
    });
    const hosts: HostPatchResult[] = results.map((r, i) =>
      r.status === 'fulfilled' ? r.value : { host: names[i]!, changed: [], current: [], planned: [], rebootNeeded: false, error: errorMessage(r.reason) },
    );
    const now = o.now ?? Date.now();
    const need = hosts.filter((h) => h.rebootNeeded).map((h) => h.host);
    const open = openWindow(o.config.maintenanceWindows, now);
    const next = open ?? nextWindows(o.config.maintenanceWindows, now, 1)[0];
    const reboot: PatchReport['reboot'] = {
      hosts: need,
      window: open ? 'open' : next ? 'later' : 'none',
      ...(next ? { next: describeWindow(next) } : {}),
      note:
        need.length === 0
          ? 'no host needs a reboot'
          : open
            ? `reboot needed on ${need.join(', ')}: a maintenance window is open until ${describeWindow(open).end}; reboot them one at a time, checking cluster health between hosts`
            : next
              ? `reboot needed on ${need.join(', ')}: not rebooted; the next maintenance window starts ${describeWindow(next).start}`
              : `reboot needed on ${need.join(', ')}: not rebooted; palisade.yaml has no maintenance window`,
    };
    if (o.reboot && need.length) {
      if (o.dryRun)
        reboot.note += `; --reboot would reboot ${need.join(', ')} one at a time${o.reboot.ignoreWindow ? ' now (windows ignored)' : ' inside a maintenance window'}, the cluster healthy after each`;
      else {
        const into = { rebooted: [] as Array<{ host: string; durationMs: number }> };
        reboot.rebooted = into.rebooted;
        try {
          await rebootAfterPatch({
            config: o.config,
            baseDir: o.baseDir,
            hosts: conn.hosts,
            need,
            ...o.reboot,
            into,
            progress: (l) => o.onHost?.(l.split(':')[0]!, l.slice(l.indexOf(':') + 2)),
          });
          reboot.note = `rebooted ${need.join(', ')} one at a time, the cluster healthy after each`;
        } catch (e) {
          if (!(e instanceof WindowStop)) throw e;
          reboot.stopped = e.message;
          reboot.note = `${into.rebooted.length ? `rebooted ${into.rebooted.map((r) => r.host).join(', ')}; ` : ''}${e.message}`;
        }
      }
    }
    return { bundle: o.bundlePath, packages: set.length, dryRun: o.dryRun === true, hosts, reboot, ok: hosts.every((h) => !h.error) };
  } finally {
    if (own && conn) await closeAll(conn.hosts);
    await b.close();
  }
}

export function renderPatchReport(r: PatchReport): string {
  const out: string[] = [`${r.bundle}: ${r.packages} package(s) in the OS package set${r.dryRun ? ' (dry run: nothing installed)' : ''}`];
  for (const h of r.hosts) {
    const list = r.dryRun ? h.planned : h.changed;
    out.push(
      `${h.host}: ${h.error ? `FAILED: ${h.error}` : list.length ? `${r.dryRun ? 'would upgrade' : 'upgraded'} ${list.map((c) => `${c.name} ${c.from} -> ${c.to}`).join(', ')}` : 'up to date'}${h.rebootNeeded ? ` (reboot needed: ${h.rebootReason})` : ''}`,
    );
  }
  out.push(r.reboot.note);
  return out.join('\n') + '\n';
}
