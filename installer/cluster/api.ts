import { parse } from 'yaml';
import { API_PORT } from '../config/topology.ts';
import { HttpsClient, getText, type OpenStream } from '../core/https.ts';

/**
 * The cluster API from this machine: the admin kubeconfig's credentials, and
 * GET /readyz on one API address verified as the FQDN (install verify, upgrade
 * health gates), asked as kubectl would, through the one HTTPS client
 * (directly or through a host's SSH connection).
 */
export interface KubeCredentials {
  ca: string;
  cert: string;
  key: string;
}

export function kubeconfigCreds(text: string): KubeCredentials {
  const k = parse(text) as { clusters?: Array<{ cluster?: Record<string, string> }>; users?: Array<{ user?: Record<string, string> }> };
  const d = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
  return {
    ca: d(k.clusters?.[0]?.cluster?.['certificate-authority-data']),
    cert: d(k.users?.[0]?.user?.['client-certificate-data']),
    key: d(k.users?.[0]?.user?.['client-key-data']),
  };
}

/** GET /readyz on one controller, addressed by IP but verified as the FQDN, with the kubeconfig's credentials. */
export async function apiReady(address: string, fqdn: string, kc: KubeCredentials, connect?: OpenStream, port = API_PORT): Promise<string> {
  const client = new HttpsClient({ secure: true, ca: kc.ca, cert: kc.cert, key: kc.key, servername: fqdn, timeoutMs: 10_000, ...(connect ? { connect } : {}) });
  try {
    const host = address.includes(':') ? `[${address}]` : address;
    return await getText(client, new URL(`https://${host}:${port}/readyz`));
  } finally {
    client.close();
  }
}
