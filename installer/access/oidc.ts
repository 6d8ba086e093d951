import { K3S_PATHS } from '../cluster/k3s-render.ts';
import type { OidcConfig } from './schema.ts';

/**
 * OIDC settings → the kube-apiserver flags k3s passes on (`kube-apiserver-arg` in each
 * controller's config.yaml). Changing them restarts the API servers one at a time.
 */
export const OIDC_CA_PATH = K3S_PATHS.oidcCa;

export function oidcApiServerArgs(oidc: OidcConfig | undefined, hasCa: boolean): string[] {
  if (!oidc) return [];
  const args = [
    `oidc-issuer-url=${oidc.issuerUrl}`,
    `oidc-client-id=${oidc.clientId}`,
    `oidc-username-claim=${oidc.usernameClaim}`,
    `oidc-groups-claim=${oidc.groupsClaim}`,
    // the API server's own "-" means "no prefix"; an empty value would mean its default
    `oidc-username-prefix=${oidc.usernamePrefix === '' ? '-' : oidc.usernamePrefix}`,
    `oidc-groups-prefix=${oidc.groupsPrefix}`,
  ];
  if (hasCa) args.push(`oidc-ca-file=${OIDC_CA_PATH}`);
  for (const [k, v] of Object.entries(oidc.requiredClaims).sort(([a], [b]) => a.localeCompare(b))) args.push(`oidc-required-claim=${k}=${v}`);
  return args;
}
