import { join, resolve } from 'node:path';

/** Where palisade keeps the state of one cluster: `.palisade/<cluster>/` beside the config file. */
export function stateDir(baseDir: string, cluster: string): string {
  return resolve(baseDir, '.palisade', cluster);
}

export const stateFiles = (dir: string) => ({
  journal: join(dir, 'journal.json'),
  lock: join(dir, 'install.lock'),
  kubeconfig: join(dir, 'kubeconfig'),
  report: join(dir, 'install-report.json'),
  summary: join(dir, 'install-report.txt'),
  keystore: join(dir, 'keystore.json'),
  /** machine-ids of the hosts preflight passed on */
  checkedHosts: join(dir, 'preflight-hosts.json'),
});
