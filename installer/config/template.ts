/** The commented palisade.yaml that `palisade init` writes. */
export function configTemplate(opts: { cluster?: string; fqdn?: string } = {}): string {
  const cluster = opts.cluster ?? 'mgmt';
  const fqdn = opts.fqdn ?? 'palisade.example.internal';
  return `# palisade.yaml: what palisade installs, and where.
# Check it with \`palisade validate\`; see every field with \`palisade config schema\`.
apiVersion: palisade/v1

cluster:
  name: ${cluster}              # names the state directory .palisade/<name>
  fqdn: ${fqdn}   # operators and clusters reach the appliance here
  # vip: 10.0.0.100             # optional virtual IP for the API and ingress
  podCidr: 10.42.0.0/16         # must not overlap any host network
  serviceCidr: 10.43.0.0/16

# The site has no route to the internet; preflight fails when it finds one.
airGapped: true

sizing:
  profile: small                # small | medium | large | custom (see README)

ssh:
  concurrency: 10               # hosts worked on at once
  connectTimeoutSeconds: 10
  commandTimeoutSeconds: 600
  # knownHosts: ~/.ssh/known_hosts   # also trust host keys recorded here (read-only)

# jumpHost:                     # bastion for hosts with viaJumpHost: true
#   address: 10.0.0.2
#   user: ops
#   privateKey: ~/.ssh/id_ed25519

# One or three controllers; any number of workers.
# hostKey pins the SSH host key: run \`palisade hosts trust\` to record it.
hosts:
  - name: cp1
    address: 10.0.0.11
    port: 22
    user: root
    privateKey: ~/.ssh/id_ed25519
    role: controller
    dataDisk: /dev/sdb
    # hostKey: SHA256:...

# Data disk encryption (LUKS2). mode: none | tpm2 | tang | tpm2+tang | passphrase
encryption:
  mode: none
  # tang:
  #   - url: http://10.0.0.2:7500
  #     thumbprint: <output of tang-show-keys>
  wipe: false                   # true allows formatting disks that hold data

registry:
  port: 5000

bundle:
  # trustedKey: keys/bundle-signing.pub   # Ed25519 key that must have signed the bundle

# Upgrades run only inside these windows: wall-clock start in an IANA time zone,
# elapsed duration, may cross midnight. \`palisade upgrade windows\` lists the next ones.
maintenanceWindows: []
#  - days: [sat, sun]
#    start: "02:00"
#    duration: 4h
#    timezone: Europe/Berlin

# upgrade:
#   workerConcurrency: 1        # workers upgraded at once
#   drainTimeout: 5m            # a drain blocked longer than this stops the upgrade

# k3s snapshots its own datastore on every controller; \`palisade backup\` writes the
# full encrypted backup (snapshot, token, keystore, LUKS headers, registry index).
# backup:
#   snapshotSchedule: "0 */6 * * *"   # cron, the hosts' local time
#   snapshotRetention: 12             # scheduled snapshots kept on each controller

# Host hardening (install, and \`palisade harden\`): baseline follows CIS Debian 12 where a
# Kubernetes node can; \`palisade harden --dry-run\` lists every rule. none: no hardening.
hardening:
  profile: baseline
  exceptions: []
  #  - rule: ssh.x11
  #    reason: the site's operators run X clients over SSH
`;
}
