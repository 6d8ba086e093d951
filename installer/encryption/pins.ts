/**
 * The pins checked from the host before a disk is touched: each Tang server
 * answers with the pinned signing key, the TPM seals and unseals a test
 * value. Checks only; a failure here leaves every disk as it was.
 */
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { tangAdvertisementCommand, TPM_PROBE_TEXT, tpmProbeCommand } from './commands.ts';
import { lastLines } from './host-step.ts';
import { advertisementSigningKeys, jwkThumbprint, thumbprintMatches } from './jwk.ts';
import type { Binding, EncryptionPlan } from './types.ts';

/** Tang servers and TPM must work before a disk is touched: a failure here changes nothing. */
export async function checkPinsReachable(host: RemoteHost, binding: Binding): Promise<void> {
  const tang: Array<Extract<Binding, { pin: 'tang' }>> = [];
  let tpm: Extract<Binding, { pin: 'tpm2' }> | undefined;
  const walk = (b: Binding): void => {
    if (b.pin === 'tang') tang.push(b);
    else if (b.pin === 'tpm2') tpm = b;
    else if (b.pin === 'sss') b.pins.forEach(walk);
  };
  walk(binding);
  for (const t of tang) {
    const r = await host.exec(tangAdvertisementCommand(t.url), { sudo: true });
    if (r.code !== 0) {
      throw new PalisadeError(
        'encryption.tang-unreachable',
        `${host.name}: cannot reach the Tang server ${t.url} from the host (${lastLines(r.stderr) || `curl exit ${r.code}`}); no disk on this host was changed`,
        {
          hint: 'start the Tang server or fix the route from the host to it, then re-run',
        },
      );
    }
    let keys;
    try {
      keys = advertisementSigningKeys(r.stdout);
    } catch (e) {
      throw new PalisadeError(
        'encryption.tang-thumbprint',
        `${host.name}: ${t.url} did not answer with a Tang advertisement (${errorMessage(e)}); no disk on this host was changed`,
        {
          hint: 'check that the URL points at a Tang server',
        },
      );
    }
    const pinned = t.thumbprints[0] ?? '';
    if (!thumbprintMatches(pinned, keys)) {
      const seen = keys.map((k) => jwkThumbprint(k)).join(', ') || 'none';
      throw new PalisadeError(
        'encryption.tang-thumbprint',
        `${host.name}: the Tang server ${t.url} signs with key(s) ${seen}, not the pinned thumbprint ${pinned}; no disk on this host was changed`,
        {
          hint: 'if the Tang keys were rotated on purpose, set the new thumbprint (`tang-show-keys` on the Tang server) in encryption.tang; otherwise this is not your Tang server',
        },
      );
    }
  }
  if (tpm) {
    const r = await host.exec(tpmProbeCommand(tpm.pcrs), { sudo: true });
    if (r.code !== 0 || r.stdout.trim() !== TPM_PROBE_TEXT) {
      throw new PalisadeError(
        'encryption.tpm',
        `${host.name}: the TPM did not seal and unseal a test value under PCR(s) ${tpm.pcrs.join(',')} (${lastLines(r.stderr) || `exit ${r.code}`}); no disk on this host was changed`,
        {
          hint: 'check the TPM (tpm2_getcap properties-fixed), its TCTI (TPM2TOOLS_TCTI in /etc/environment) and the PCR list in encryption.tpm2.pcrs',
        },
      );
    }
  }
}

/**
 * For `plan`: the pins each host with binding work would use, checked from the
 * host now (Tang reachable with the pinned key, the TPM seals and unseals).
 * Changes nothing on any disk. One problem per host that would fail.
 */
export async function pinProblems(plan: EncryptionPlan, hosts: readonly RemoteHost[], concurrency: number): Promise<Array<{ path: string; message: string }>> {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const todo = plan.hosts.filter(
    (hp) => hp.binding && hp.blockers.length === 0 && hp.disks.some((d) => d.addBinding && d.action !== 'refuse') && byName.has(hp.host),
  );
  const settled = await settleLimit(todo, concurrency, (hp) => checkPinsReachable(byName.get(hp.host)!, hp.binding!));
  return settled.flatMap((r, i) =>
    r.status === 'fulfilled'
      ? []
      : [
          {
            path: todo[i]!.host,
            message:
              r.reason instanceof PalisadeError
                ? `[${r.reason.code}] ${r.reason.message.replace(/; no disk on this host was changed$/, '')}`
                : errorMessage(r.reason),
          },
        ],
  );
}
