/** Per-host checks of time: the clock against the admin machine's, and a synchronised time service. */
import type { HostFacts } from '../../facts/types.ts';
import type { CheckStatus } from '../types.ts';
import { finding, type HostCheck } from './finding.ts';

export const SKEW_FAIL_MS = 500;
export const SKEW_WARN_MS = 100;

/**
 * Clock skew: the host read its clock between the admin's send and the first
 * output bytes, so the skew lies in [epoch - received, epoch - sent]. Judged on
 * the smallest |skew| in that interval: a slow link never makes a failure up.
 */
export function clockSkew(facts: HostFacts): { lowMs: number; highMs: number; minAbsMs: number } | undefined {
  const t = facts.time;
  if (t.epochMs === undefined || t.sentAtMs === undefined || t.receivedAtMs === undefined) return undefined;
  const lowMs = t.epochMs - Math.max(t.receivedAtMs, t.sentAtMs);
  const highMs = t.epochMs - t.sentAtMs;
  return { lowMs, highMs, minAbsMs: lowMs > 0 ? lowMs : highMs < 0 ? -highMs : 0 };
}

const signed = (n: number) => `${n >= 0 ? '+' : '-'}${Math.round(Math.abs(n))}`;
export const clockSkewCheck: HostCheck = (c) => {
  const req = `|skew| <= ${SKEW_FAIL_MS} ms vs the admin machine (warn > ${SKEW_WARN_MS} ms)`;
  const s = clockSkew(c.facts);
  if (!s) return finding(c, 'time.skew', 'clock skew', 'fail', 'unknown (host clock unreadable)', req, 'check `date` on the host');
  const status: CheckStatus = s.minAbsMs > SKEW_FAIL_MS ? 'fail' : s.minAbsMs > SKEW_WARN_MS ? 'warn' : 'pass';
  const measured = Math.round(s.lowMs) === Math.round(s.highMs) ? `${signed(s.lowMs)} ms` : `${signed(s.lowMs)} to ${signed(s.highMs)} ms`;
  return finding(
    c,
    'time.skew',
    'clock skew',
    status,
    measured,
    req,
    'synchronise the clocks of the hosts and the admin machine to the same NTP source (chrony)',
  );
};

export const timeSync: HostCheck = (c) => {
  const t = c.facts.time;
  const req = 'chrony or systemd-timesyncd synchronised';
  if (!t.service)
    return finding(
      c,
      'time.sync',
      'time sync',
      'fail',
      'no time service answered (chronyc, timedatectl)',
      req,
      'install chrony and point it at the site NTP server',
    );
  const measured = t.synchronized
    ? `${t.service} synchronised${t.source ? ` to ${t.source}` : ''}${t.offsetMs !== undefined ? `, offset ${t.offsetMs.toFixed(1)} ms` : ''}`
    : `${t.service} not synchronised${t.detail ? `: ${t.detail}` : ''}`;
  const fix = t.detail?.includes('not running')
    ? 'start chronyd (systemctl enable --now chrony)'
    : t.service === 'chrony'
      ? 'check `chronyc sources`: the NTP server must be reachable'
      : 'enable NTP (timedatectl set-ntp true) or install chrony';
  return finding(c, 'time.sync', 'time sync', t.synchronized ? 'pass' : 'fail', measured, req, fix);
};
