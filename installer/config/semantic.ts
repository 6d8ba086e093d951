import type { PalisadeConfig } from './schema.ts';
import type { ErrorDetail } from '../core/errors.ts';
import { fileMode, resolveConfigPath } from './paths.ts';
import { accessProblems } from './access-semantic.ts';
import { windowZoneProblems } from './zones.ts';

/** Checks a schema cannot express: uniqueness, quorum, files on disk, cross-field rules. */
export async function semanticProblems(config: PalisadeConfig, baseDir: string): Promise<ErrorDetail[]> {
  const problems: ErrorDetail[] = [];
  const seenNames = new Map<string, number>();
  const seenAddr = new Map<string, number>();
  config.hosts.forEach((h, i) => {
    if (!h.name || !h.address) return;
    const prevName = seenNames.get(h.name);
    if (prevName !== undefined)
      problems.push({ path: `hosts[${i}].name`, message: `"${h.name}" is already used by hosts[${prevName}]`, hint: 'give every host a unique name' });
    else seenNames.set(h.name, i);
    const key = `${h.address}:${h.port}`;
    const prevAddr = seenAddr.get(key);
    if (prevAddr !== undefined)
      problems.push({
        path: `hosts[${i}].address`,
        message: `${key} is already used by hosts[${prevAddr}]`,
        hint: 'every host needs its own address (or port)',
      });
    else seenAddr.set(key, i);
    if (h.viaJumpHost && !config.jumpHost)
      problems.push({
        path: `hosts[${i}].viaJumpHost`,
        message: 'is true but no jumpHost is configured',
        hint: 'add a top-level jumpHost, or set viaJumpHost: false',
      });
  });

  const controllers = config.hosts.filter((h) => h.role === 'controller').length;
  const rolesKnown = config.hosts.every((h) => h.role === 'controller' || h.role === 'worker');
  if (rolesKnown && controllers !== 1 && controllers !== 3) {
    const why =
      controllers === 0
        ? 'a cluster needs at least one controller'
        : controllers % 2 === 0
          ? `${controllers} controllers tolerate no more failures than ${controllers - 1} (etcd needs a majority), so an even count only adds risk`
          : `${controllers} controllers are not a supported topology`;
    problems.push({ path: 'hosts', message: `has ${controllers} controller(s): ${why}`, hint: 'use 1 controller (lab, small sites) or 3 (highly available)' });
  }

  const keyChecks: Array<[string, string | undefined]> = config.hosts.map((h, i) => [`hosts[${i}].privateKey`, h.privateKey]);
  if (config.jumpHost) keyChecks.push(['jumpHost.privateKey', config.jumpHost.privateKey]);
  const checked = new Map<string, ErrorDetail | null>();
  for (const [path, keyPath] of keyChecks) {
    if (!keyPath) continue;
    const abs = resolveConfigPath({ baseDir }, keyPath);
    if (!checked.has(abs)) {
      const mode = await fileMode(abs);
      if (mode === undefined)
        checked.set(abs, {
          message: `key file ${abs} does not exist or cannot be read`,
          hint: 'fix the path (relative paths are relative to the config file)',
        });
      else if (mode & 0o004)
        checked.set(abs, { message: `key file ${abs} is world-readable (mode ${mode.toString(8).padStart(4, '0')})`, hint: `run: chmod 600 ${abs}` });
      else checked.set(abs, null);
    }
    const p = checked.get(abs);
    if (p) problems.push({ path, ...p });
  }

  if (config.sizing.profile === 'custom' && !config.sizing.custom) {
    problems.push({
      path: 'sizing.custom',
      message: 'is required when sizing.profile is "custom"',
      hint: 'add sizing.custom.controller and sizing.custom.worker with cpus, memoryGiB and diskGB',
    });
  }
  if (config.registry.host && !config.hosts.some((h) => h.name === config.registry.host)) {
    problems.push({
      path: 'registry.host',
      message: `"${config.registry.host}" is not one of the hosts`,
      hint: `use one of: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }

  const encryptionChecks: Array<[string, PalisadeConfig['encryption']]> = [['encryption', config.encryption]];
  config.hosts.forEach((h, i) => {
    if (h.encryption) encryptionChecks.push([`hosts[${i}].encryption`, { ...config.encryption, ...h.encryption }]);
  });
  for (const [path, enc] of encryptionChecks) {
    const usesTang = enc.mode === 'tang' || enc.mode === 'tpm2+tang';
    if (usesTang && enc.tang.length === 0)
      problems.push({ path: `${path}.tang`, message: `mode "${enc.mode}" needs at least one Tang server`, hint: 'add tang: [{url, thumbprint}]' });
    if (!usesTang && enc.tang.length > 0 && enc.mode !== 'none')
      problems.push({
        path: `${path}.tang`,
        message: `Tang servers are listed but mode "${enc.mode}" does not use them`,
        hint: 'set mode: tang or tpm2+tang, or remove the tang list',
      });
    const pins = (usesTang ? enc.tang.length : 0) + (enc.mode === 'tpm2' || enc.mode === 'tpm2+tang' ? 1 : 0);
    if (enc.threshold !== undefined && enc.threshold > pins)
      problems.push({
        path: `${path}.threshold`,
        message: `is ${enc.threshold} but only ${pins} pin(s) are configured`,
        hint: `set threshold between 1 and ${pins}`,
      });
    problems.push(...encryptionFieldProblems(path, enc));
  }
  if (config.encryption.mode !== 'none') {
    config.hosts.forEach((h, i) => {
      const mode = h.encryption?.mode ?? config.encryption.mode;
      if (mode !== 'none' && !h.dataDisk && !(h.encryption?.disks ?? config.encryption.disks)?.length) {
        problems.push({
          path: `hosts[${i}].dataDisk`,
          message: 'is required when disk encryption is on',
          hint: 'name the data disk device, e.g. dataDisk: /dev/sdb',
        });
      }
    });
  }
  if (config.access) {
    problems.push(...accessProblems(config.access));
    const ca = config.access.oidc?.caFile;
    if (ca && (await fileMode(resolveConfigPath({ baseDir }, ca))) === undefined) {
      problems.push({
        path: 'access.oidc.caFile',
        message: `${resolveConfigPath({ baseDir }, ca)} does not exist or cannot be read`,
        hint: 'fix the path (relative paths are relative to the config file)',
      });
    }
  }
  problems.push(...windowZoneProblems(config.maintenanceWindows ?? []));
  return problems;
}

/** Per-setting checks of one effective encryption config (cluster, or cluster + host override). */
function encryptionFieldProblems(path: string, enc: PalisadeConfig['encryption']): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seenUrls = new Map<string, number>();
  (enc.tang ?? []).forEach((t, i) => {
    // RFC 7638 thumbprints are base64url: 27 characters (SHA-1), 43 (SHA-256), 64 or 86 (SHA-384/512)
    if (typeof t.thumbprint === 'string' && !/^[A-Za-z0-9_-]+$/.test(t.thumbprint)) {
      out.push({
        path: `${path}.tang[${i}].thumbprint`,
        message: 'is not a JWK thumbprint (base64url characters only)',
        hint: 'copy it from `tang-show-keys` on the Tang server',
      });
    } else if (typeof t.thumbprint === 'string' && ![27, 43, 64, 86].includes(t.thumbprint.length)) {
      out.push({
        path: `${path}.tang[${i}].thumbprint`,
        message: `has ${t.thumbprint.length} characters; a thumbprint has 27 (S1) or 43 (S256)`,
        hint: 'copy it whole from `tang-show-keys` on the Tang server',
      });
    }
    const url = typeof t.url === 'string' ? t.url.replace(/\/+$/, '') : '';
    const prev = seenUrls.get(url);
    if (url && prev !== undefined)
      out.push({
        path: `${path}.tang[${i}].url`,
        message: `is the same server as tang[${prev}]`,
        hint: 'list each Tang server once; a threshold needs distinct servers',
      });
    else if (url) seenUrls.set(url, i);
  });
  if ((enc.mode === 'tpm2' || enc.mode === 'tpm2+tang') && enc.tpm2 && enc.tpm2.pcrs.length === 0) {
    out.push({
      path: `${path}.tpm2.pcrs`,
      message: 'is empty: the TPM would release the key whatever booted',
      hint: 'bind to at least PCR 7 (Secure Boot state)',
    });
  }
  const pcrs = enc.tpm2?.pcrs ?? [];
  const dupPcr = pcrs.find((p, i) => pcrs.indexOf(p) !== i);
  if (dupPcr !== undefined)
    out.push({ path: `${path}.tpm2.pcrs`, message: `lists PCR ${dupPcr} twice`, hint: 'list each PCR once (clevis would be handed a malformed PCR list)' });
  const disks = enc.disks ?? [];
  const dup = disks.find((d, i) => disks.indexOf(d) !== i);
  if (dup) out.push({ path: `${path}.disks`, message: `lists ${dup} twice`, hint: 'list each disk once' });
  return out;
}
