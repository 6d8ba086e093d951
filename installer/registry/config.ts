import { stringify } from 'yaml';

/**
 * The CNCF distribution registry's config.yml and the systemd unit that runs
 * it. Pure: the service installer uploads what these return.
 */
export interface RegistryConfigOptions {
  /** listen address, e.g. ":5000" or "127.0.0.1:5000" */
  addr: string;
  storageDir: string;
  certFile: string;
  keyFile: string;
  htpasswdFile: string;
  realm?: string;
  /** signs upload state; the same across restarts keeps in-flight uploads resumable */
  httpSecret?: string;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export function renderRegistryConfig(o: RegistryConfigOptions): string {
  const cfg = {
    version: 0.1,
    log: { level: o.logLevel ?? 'info', formatter: 'text', fields: { service: 'palisade-registry' } },
    storage: {
      filesystem: { rootdirectory: o.storageDir },
      // content is only ever added by seeding; nothing may delete what a cluster runs from
      delete: { enabled: false },
      cache: { blobdescriptor: 'inmemory' },
      maintenance: { uploadpurging: { enabled: true, age: '168h', interval: '24h', dryrun: false }, readonly: { enabled: false } },
    },
    http: {
      addr: o.addr,
      ...(o.httpSecret ? { secret: o.httpSecret } : {}),
      tls: { certificate: o.certFile, key: o.keyFile, minimumtls: 'tls1.2' },
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      draintimeout: '10s',
    },
    auth: { htpasswd: { realm: o.realm ?? 'palisade-registry', path: o.htpasswdFile } },
    health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
  };
  return stringify(cfg, { lineWidth: 0 });
}

export interface RegistryUnitOptions {
  binary: string;
  config: string;
  storageDir: string;
  user: string;
  port: number;
}

export function renderRegistryUnit(o: RegistryUnitOptions): string {
  const lowPort = o.port < 1024;
  return `[Unit]
Description=palisade pack registry (CNCF distribution)
Documentation=https://distribution.github.io/distribution/
After=network-online.target local-fs.target
Wants=network-online.target
RequiresMountsFor=${o.storageDir}

[Service]
Type=simple
User=${o.user}
Group=${o.user}
ExecStart=${o.binary} serve ${o.config}
Restart=on-failure
RestartSec=2
TimeoutStopSec=20
LimitNOFILE=65536
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=${o.storageDir}
ProtectControlGroups=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
UMask=0027
${lowPort ? 'AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE' : 'CapabilityBoundingSet='}

[Install]
WantedBy=multi-user.target
`;
}
