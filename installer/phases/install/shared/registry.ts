import { errorMessage } from '../../../core/errors.ts';
import { sh } from '../../../core/quote.ts';
import { filesToWrite } from '../../../hosts/files.ts';
import type { OpenStream } from '../../../core/https.ts';
import { RegistryClient } from '../../../registry/client.ts';
import { REGISTRY_SERVICE, DEFAULT_PATHS as REGISTRY_PATHS } from '../../../registry/service.ts';
import type { Outputs } from '../../types.ts';
import type { InstallContext } from '../context.ts';
import { hostOf, tunnelTo } from './hosts.ts';

/** How this machine reaches the pack registry: URL, our CA, the credentials, and the tunnel for a host behind the jump host. */
export interface RegistryAccess {
  url: string;
  ca: string;
  username: string;
  password: string;
  connect?: OpenStream;
}

export async function registryAccess(ctx: InstallContext, outputs: Outputs): Promise<RegistryAccess> {
  const keys = await ctx.keys.keySet();
  const reg = ctx.topology.registry;
  return {
    url: reg.url,
    ca: keys.rootCa.certPem,
    username: keys.secrets.registry.username,
    password: keys.secrets.registry.password,
    ...tunnelTo(ctx, outputs, reg.host.name),
  };
}

/** Why the registry is not as it should be (undefined: running with our certificate and answering). */
export async function registryProblem(ctx: InstallContext, outputs: Outputs): Promise<string | undefined> {
  const keys = await ctx.keys.keySet();
  const h = hostOf(outputs, ctx.topology.registry.host.name);
  const active = (await h.exec(sh`systemctl is-active ${REGISTRY_SERVICE}`, { sudo: true })).stdout.trim();
  if (active !== 'active') return `${REGISTRY_SERVICE} is ${active || 'not installed'}`;
  const cert = { path: `${REGISTRY_PATHS.configDir}/tls.crt`, source: Buffer.from(keys.registry.chainPem), mode: 0o644 };
  if ((await filesToWrite(h, [cert])).length) return 'its certificate is not the one in the keystore';
  const c = new RegistryClient({ ...(await registryAccess(ctx, outputs)), attempts: 1 });
  try {
    await c.ping();
  } catch (e) {
    return `it does not answer: ${errorMessage(e)}`;
  } finally {
    c.close();
  }
  return undefined;
}
