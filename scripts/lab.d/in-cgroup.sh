#!/bin/sh
# in-cgroup.sh PROCS_FILE[,PROCS_FILE...] CMD [ARG...]
# Moves itself into the given cgroups (one cgroup.procs file per hierarchy), then runs CMD.
# The lab starts each systemd-nspawn this way: with --keep-unit, nspawn puts its machine under
# the cgroup it runs in, so without its own cgroup every machine would share one tree and a
# `systemctl stop` in one host could kill processes of another.
set -eu
files=$1
shift
IFS=,
for f in $files; do echo $$ > "$f"; done
unset IFS
exec "$@"
