/**
 * Where a lab lives in 10.231.0.0/24: eight /27 slots, claimed under /run/palisade-lab, and the
 * addresses and link names a slot gives its lab.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStale, readLockOwner } from '../../installer/core/lock.ts';
import { readState, statePath, teardown } from './state.ts';
import { LabError, procAlive, say } from './sys.ts';
import type { LabState } from './types.ts';

const CLAIMS = '/run/palisade-lab';
const SLOTS = 8; // 10.231.0.0/24 in /27 slots

export interface Net {
  slot: number;
  base: number;
  subnet: string;
  gateway: string;
  services: string;
  bridge: string;
  hostAddr: (i: number) => string;
  ns: (name: string) => string;
  link: (name: string) => string;
}

/** A slot's addresses (admin side .1, services .2, hosts from .10) and names (netns, links of at most 15 characters). */
export function net(slot: number): Net {
  const base = slot * 32;
  const a = (n: number) => `10.231.0.${base + n}`;
  return {
    slot,
    base,
    subnet: `${a(0)}/27`,
    gateway: a(1),
    services: a(2),
    bridge: `plab${slot}-br`,
    hostAddr: (i) => a(9 + i),
    ns: (name) => `palisade-lab${slot}-${name}`,
    link: (name) => `plab${slot}-${name}`.slice(0, 15),
  };
}

const claimPath = (slot: number) => join(CLAIMS, `slot-${slot}`);
const bridgeUp = (slot: number) => existsSync(`/sys/class/net/plab${slot}-br`);

function take(slot: number, dir: string): boolean {
  try {
    mkdirSync(claimPath(slot));
  } catch {
    return false;
  }
  writeFileSync(join(claimPath(slot), 'owner'), `${dir}\n`);
  return true;
}

/** The lab dir named in a slot's claim, and its state when that state records the claim (else the claim is stale). */
function ownerOfClaim(slot: number): { owner: string; state?: LabState } {
  let owner = '';
  try {
    owner = readFileSync(join(claimPath(slot), 'owner'), 'utf8').trim();
  } catch {}
  const state = owner ? readState(owner) : undefined;
  const recorded = state?.resources.some((r) => r.kind === 'slot' && r.claim === claimPath(slot));
  return { owner, state: recorded ? state : undefined };
}

/**
 * Claims a /27 slot: /run/palisade-lab/slot-N (mkdir is the lock) holds the owning lab dir. A claim
 * its owner does not record is stale. When no slot is free, a lab whose every process is gone (a
 * killed run nobody cleared, e.g. after its session ended) is taken down by its own records.
 */
export async function claimSlot(dir: string, prefer?: number): Promise<{ slot: number; claim: string }> {
  mkdirSync(CLAIMS, { recursive: true });
  // PALISADE_LAB_SLOTS="5,6" limits the slots this lab may take (tests of slot exhaustion)
  const allowed = process.env.PALISADE_LAB_SLOTS ? process.env.PALISADE_LAB_SLOTS.split(',').map(Number) : Array.from({ length: SLOTS }, (_, i) => i);
  const order = [...(prefer !== undefined && allowed.includes(prefer) ? [prefer] : []), ...allowed.filter((i) => i !== prefer && i >= 0 && i < SLOTS)];

  for (const slot of order) {
    if (!existsSync(claimPath(slot))) {
      if (!bridgeUp(slot) && take(slot, dir)) return { slot, claim: claimPath(slot) };
      continue;
    }
    const { owner, state } = ownerOfClaim(slot);
    if (state && owner !== dir) continue;
    if (bridgeUp(slot)) continue; // a stale claim, but something made that bridge: leave the slot alone
    rmSync(claimPath(slot), { recursive: true, force: true });
    if (take(slot, dir)) return { slot, claim: claimPath(slot) };
  }

  for (const slot of order) {
    const { owner, state } = ownerOfClaim(slot);
    if (!state || labAlive(owner, state)) continue;
    say(`no free slot: the lab in ${owner} (slot ${slot}) has no process left; taking it down by its records`);
    const problems = await teardown(state, (m) => say(`  ${m}`));
    if (problems.length) {
      say(`  could not clear it: ${problems.join('; ')}`);
      continue;
    }
    rmSync(join(owner, 'lab.json'), { force: true });
    rmSync(statePath(owner), { force: true });
    rmSync(claimPath(slot), { recursive: true, force: true });
    if (!bridgeUp(slot) && take(slot, dir)) return { slot, claim: claimPath(slot) };
  }
  throw new LabError(
    `no free lab slot: all ${allowed.length} are taken by running labs (/run/palisade-lab/slot-N/owner names each lab dir: scripts/lab down --dir DIR)`,
  );
}

/** A lab is alive while any process it recorded runs, or a scripts/lab holds its lock. */
function labAlive(dir: string, state: LabState): boolean {
  if (state.resources.some((r) => r.kind === 'process' && procAlive(r.pid, r.start))) return true;
  const holder = readLockOwner(join(dir, 'lock'));
  if (holder && !isStale(holder)) return true;
  return false;
}
