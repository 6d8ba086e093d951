import type { KeyObject } from 'node:crypto';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { PalisadeConfig } from '../../config/schema.ts';
import type { Topology } from '../../config/topology.ts';
import type { PalisadeError } from '../../core/errors.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import type { JournalView } from '../runner.ts';
import type { KeyAccess } from './shared/keys.ts';

/**
 * What an install run starts from: the config and its cluster shape, where
 * state lives, the bundle to install, and the services phases use (SSH
 * transport, cluster driver, keys). Phases read it and never write it: what
 * they learn goes to declared outputs (outputs.ts).
 */
export interface InstallContext {
  config: PalisadeConfig;
  topology: Topology;
  configPath: string;
  baseDir: string;
  /** .palisade/<cluster> */
  stateDir: string;
  bundlePath: string;
  trustedKey: KeyObject;
  runId: string;
  /** what earlier runs recorded (read-only; the runner's recorder writes it) */
  journal: JournalView | undefined;
  driver: ClusterDriver;
  signal: AbortSignal;
  /** connect to the hosts (the SSH transport; tests hand in another) */
  connect: (config: PalisadeConfig, baseDir: string) => Promise<{ hosts: Map<string, RemoteHost>; failures: { name: string; error: PalisadeError }[] }>;
  /** the cluster's keystore and key set, opened once per run */
  keys: KeyAccess;
  keystorePath: string;
  /** how long a node may take to become Ready (default 300 s) */
  clusterTimeoutMs: number;
  /** how the harden phase proves a fresh key login after an sshd change (default: a new SSH connection; tests hand in another) */
  proveLogin?: (host: string) => Promise<void>;
}

export const allHosts = (ctx: InstallContext): string[] => ctx.config.hosts.map((h) => h.name);
