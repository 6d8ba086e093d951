import { request } from 'node:https';
import { parse } from 'yaml';
import { API_PORT } from '../config/topology.ts';
import { tlsOver, type OpenStream } from '../hosts/tunnel.ts';

/**
 * The cluster API from this machine: the admin kubeconfig's credentials, and
 * GET /readyz on one API address verified as the FQDN (install verify, upgrade
 * health gates).
 */
export interface KubeCredentials {
  ca: string;
  cert: string;
  key: string;
}

export function kubeconfigCreds(text: string): KubeCredentials {
  const k = parse(text) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
  const d = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
  return { ca: d(k.clusters[0]?.cluster['certificate-authority-data']), cert: d(k.users[0]?.user['client-certificate-data']), key: d(k.users[0]?.user['client-key-data']) };
}

/** GET /readyz on one controller, addressed by IP but verified as the FQDN, with the kubeconfig's credentials. */
export function apiReady(address: string, fqdn: string, kc: KubeCredentials, connect?: OpenStream, port = API_PORT): Promise<string> {
  return new Promise((resolve, reject) => {
    const via = connect ? { createConnection: tlsOver(connect) } : {};
    const req = request({ host: address, port, path: '/readyz', servername: fqdn, ca: kc.ca, cert: kc.cert, key: kc.key, timeout: 10_000, ...via }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
