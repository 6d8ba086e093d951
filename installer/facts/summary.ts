import type { HostFacts } from './types.ts';

const GiB = 1024 ** 3;
const gb = (n: number): string =>
  n >= 1e12 ? `${(n / 1e12).toFixed(1)} TB` : n >= 1e9 ? `${(n / 1e9).toFixed(n >= 1e11 ? 0 : 1)} GB` : `${Math.round(n / 1e6)} MB`;

/** One short line per host (used by the demo and the preflight header). */
export function summarizeFacts(f: HostFacts): string {
  const os = f.os.id ? `${f.os.id} ${f.os.versionId ?? ''}`.trim() : 'unknown OS';
  const cpus = f.cpu.threads !== undefined ? `${f.cpu.threads} CPU` : '? CPU';
  const mem = f.memory.totalBytes !== undefined ? `${(f.memory.totalBytes / GiB).toFixed(1)} GiB` : '? GiB';
  let disk = 'no data disk';
  if (f.dataDisk) {
    const d = f.dataDisk;
    disk = !d.exists
      ? `${d.device} missing`
      : `${d.device} ${d.sizeBytes !== undefined ? gb(d.sizeBytes) : '?'}${d.fstype ? ` (${d.fstype})` : ''}${d.mountpoints.length ? ' mounted' : ''}`;
  }
  const tpm = f.tpm.present ? `TPM2${f.tpm.via === 'tcti' ? ' (tcti)' : ''}` : 'no TPM';
  const dm = f.kernel.deviceMapper === undefined ? 'dm ?' : f.kernel.deviceMapper ? 'dm' : 'no dm';
  return `${f.name}: ${f.hostname ?? '?'}, ${os}, kernel ${f.os.kernel ?? '?'}, ${cpus}, ${mem}, ${disk}, ${tpm}, ${dm}`;
}
