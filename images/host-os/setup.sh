#!/bin/sh
# Runs once inside the freshly debootstrapped image (chroot), before it is cached.
# Per-host state (hostname, machine-id, host key, lab key, addresses, TPM TCTI) is
# written into each host's overlay by scripts/lab at `lab up`, never here.
set -eu

# ops: the non-root operator account, passwordless sudo.
id ops >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --uid 1000 ops
printf 'ops ALL=(ALL) NOPASSWD:ALL\n' > /etc/sudoers.d/ops
chmod 0440 /etc/sudoers.d/ops
passwd -l root >/dev/null
install -d -m 0700 /root/.ssh
install -d -m 0700 -o ops -g ops /home/ops/.ssh

# sshd: key only, one host key that the lab generates per host.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
CONF
systemctl enable ssh.service >/dev/null 2>&1 || true

# A fast, quiet boot: no timers, no getty, nothing that waits for a network.
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
         e2scrub_reap.service systemd-networkd-wait-online.service getty@tty1.service \
         systemd-timesyncd.service; do
  systemctl disable "$u" >/dev/null 2>&1 || true
  systemctl mask "$u" >/dev/null 2>&1 || true
done
systemctl set-default multi-user.target >/dev/null

# chrony: a lab host may not set the clock (it is the machine's), so chronyd runs with -x
# (no clock control) and without the CAP_SYS_TIME condition; it still syncs to the lab's
# NTP server (written per host at lab up) and reports its state as on a real host.
mkdir -p /etc/systemd/system/chrony.service.d
printf '[Unit]\nConditionCapability=\n' > /etc/systemd/system/chrony.service.d/lab.conf
printf 'DAEMON_OPTS="-F 1 -x"\n' > /etc/default/chrony

# Per-host identity comes at lab up: empty machine-id here (systemd would make one).
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
echo lab > /etc/hostname
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
