# `scripts/setup-host --uninstall [--dry-run]`: undoes what scripts/setup-host did, in the
# reverse order (sourced by setup-host, which sets the names it uses: STATE_DIR,
# RECORD_DIR, the bridges, DEAD_PROXY, BACKPORTS, PACKAGES, LXCFS_DIR; and dry_run;
# BOSH_TOOLS_DIR comes from scripts/lib/tools.sh).
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2153 # dry_run and the names above come from setup-host

left=0 # something setup-host made could not be undone
act() { # act WHAT COMMAND...: one change, said; with --dry-run only said
  if [ "$dry_run" = 1 ]; then
    echo "setup-host: would $1: ${*:2}"
    return 0
  fi
  echo "setup-host: $1"
  "${@:2}" || { echo "setup-host: could not $1 (exit $?)" >&2; left=1; }
}

# made CLI KIND NAME: true when setup-host recorded that it created it in that daemon, or
# when the daemon has no record at all (set up before setup-host kept one; see uninstall_host).
made() {
  [ ! -e "$RECORD_DIR/created-$1" ] || grep -qxF "$2 $3" "$RECORD_DIR/created-$1"
}

# undo_daemon CLI BRIDGE HTTPS_ADDRESS: inside a running daemon: the bosh-lxd projects, the
# test certificates, the tests' loopback HTTPS listener, the default profile's devices, the
# bridge, the pools (the btrfs pool's sparse file with it) and the proxy keys.
undo_daemon() {
  local cli=$1 bridge=$2 https=$3 p fp name key
  for p in $(project_names "$cli" | grep -E '^bosh-lxd-(test-|demo$)' || true); do
    act "$cli: delete project $p and everything in it" delete_project "$p" "$cli"
  done
  while read -r fp name; do
    [ -z "$fp" ] || act "$cli: remove test certificate $name" "$cli" config trust remove "$fp"
  done < <($cli query "/1.0/certificates?recursion=1" 2>/dev/null |
    jq -r '.[] | select(.name | startswith("bosh-lxd-test-")) | "\(.fingerprint) \(.name)"' || true)
  [ "$($cli config get core.https_address)" != "$https" ] ||
    act "$cli: unset core.https_address ($https, set by the HTTPS tests)" "$cli" config unset core.https_address
  [ -e "$RECORD_DIR/created-$cli" ] || echo "setup-host: no record of what setup-host created" \
    "in $cli (set up before it kept one): its pools default and btrfs, bridge $bridge and the" \
    "default profile's root and eth0 devices are taken as setup-host's"
  ! made "$cli" device eth0 || [ "$($cli profile device get default eth0 network 2>/dev/null)" != "$bridge" ] ||
    act "$cli: remove eth0 ($bridge) from the default profile" "$cli" profile device remove default eth0
  ! made "$cli" device root || [ "$($cli profile device get default root pool 2>/dev/null)" != default ] ||
    act "$cli: remove the root disk (pool default) from the default profile" \
      "$cli" profile device remove default root
  ! made "$cli" network "$bridge" || ! $cli network show "$bridge" >/dev/null 2>&1 ||
    act "$cli: delete bridge $bridge" "$cli" network delete "$bridge"
  if made "$cli" pool btrfs && $cli storage show btrfs >/dev/null 2>&1; then
    act "$cli: delete storage pool btrfs and its sparse file $($cli storage get btrfs source)" \
      "$cli" storage delete btrfs
  fi
  ! made "$cli" pool default || ! $cli storage show default >/dev/null 2>&1 ||
    act "$cli: delete storage pool default ($($cli storage get default source))" "$cli" storage delete default
  for key in core.proxy_https core.proxy_http; do
    [ "$($cli config get "$key")" != "$DEAD_PROXY" ] || act "$cli: unset $key" "$cli" config unset "$key"
  done
  [ ! -e "$RECORD_DIR/created-$cli" ] || act "remove the record $RECORD_DIR/created-$cli" \
    rm -f "$RECORD_DIR/created-$cli"
}

# wait_gone PID COMM: sends SIGTERM to PID and waits up to 60 s for it to exit.
# shellcheck disable=SC2317 # run through act
wait_gone() {
  kill -TERM "$1"
  for _ in $(seq 1 600); do pid_is "$2" "$1" || return 0; sleep 0.1; done
  echo "setup-host: $2 (pid $1) did not exit within 60 s" >&2
  return 1
}

# stop_recorded NAME COMM PIDFILE: stops the process setup-host started and recorded in
# PIDFILE (SIGTERM, then waits up to 60 s); one not started by setup-host is left alone,
# and then the function returns 1.
stop_recorded() {
  local name=$1 comm=$2 pidfile=$3 pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if ! pid_is "$comm" "$pid"; then
    echo "setup-host: no $name started by setup-host is running (${pidfile}: ${pid:-none}); left alone"
    [ ! -e "$pidfile" ] || act "remove $pidfile" rm -f "$pidfile"
    return 1
  fi
  act "stop $name (pid $pid, SIGTERM)" wait_gone "$pid" "$comm"
  act "remove $pidfile" rm -f "$pidfile"
}

# packages_line: the apt-get line that removes the packages setup-host installed.
packages_line() {
  if [ -s "$RECORD_DIR/installed-packages" ]; then
    echo "apt-get purge $(sort -u "$RECORD_DIR/installed-packages" | tr '\n' ' ')"
  else
    echo "apt-get purge ${PACKAGES[*]} incus-base incus-client xz-utils" \
      "(no record of what setup-host installed: keep those you had before)"
  fi
}

uninstall_host() {
  [ "$dry_run" = 0 ] || echo "setup-host: --dry-run: nothing is changed, each step is only printed"
  local cli
  for cli in incus lxc; do
    if [ $cli = lxc ] && lxd_answers; then
      undo_daemon lxc "$BRIDGE" 127.0.0.1:8443
    elif [ $cli = incus ] && incus_answers; then
      undo_daemon incus "$INCUS_BRIDGE" 127.0.0.1:8444
    else
      echo "setup-host: $cli's daemon does not answer: its projects, pools (sparse files" \
        "under /var/lib/${cli/lxc/lxd}/disks), bridge and settings stay in its database"
      left=1
    fi
  done
  # Daemons before lxcfs: running containers use its files.
  stop_recorded Incus incusd "$STATE_DIR/incus.pid" || true
  stop_recorded LXD lxd "$STATE_DIR/lxd.pid" || true
  if stop_recorded lxcfs lxcfs "$STATE_DIR/lxcfs.pid"; then
    act "unmount $LXCFS_DIR if lxcfs left it mounted" \
      sh -c "! mountpoint -q $LXCFS_DIR || umount -l $LXCFS_DIR"
  fi
  # A bridge whose daemon is gone but whose kernel interface stayed.
  ! ip link show "$BRIDGE" >/dev/null 2>&1 || lxd_answers ||
    act "delete the kernel bridge $BRIDGE" ip link delete "$BRIDGE"
  ! ip link show "$INCUS_BRIDGE" >/dev/null 2>&1 || incus_answers ||
    act "delete the kernel bridge $INCUS_BRIDGE" ip link delete "$INCUS_BRIDGE"
  ! nft list table inet boshiso >/dev/null 2>&1 ||
    act "delete the nftables forward guard (table inet boshiso)" nft delete table inet boshiso
  local before
  before=$(cat "$STATE_DIR/ip_forward.before" 2>/dev/null || true)
  if [ -n "$before" ] && [ "$before" != "$(cat /proc/sys/net/ipv4/ip_forward)" ]; then
    act "restore net.ipv4.ip_forward=$before" sysctl -q -w "net.ipv4.ip_forward=$before"
  fi
  if [ -z "$before" ]; then
    echo "setup-host: no record of net.ipv4.ip_forward before the set-up (none since this boot): left at $(cat /proc/sys/net/ipv4/ip_forward)"
  else
    act "remove $STATE_DIR/ip_forward.before" rm -f "$STATE_DIR/ip_forward.before"
  fi
  # Marked by setup-host, or exactly what setup-host wrote before it marked the file.
  if [ -f "$BACKPORTS" ] && { head -n 1 "$BACKPORTS" | grep -qxF "$BACKPORTS_MARK" ||
    [ "$(cat "$BACKPORTS")" = "$(printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg')" ]; }; then
    act "remove the bookworm-backports source $BACKPORTS (run apt-get update after)" rm -f "$BACKPORTS"
  elif [ -f "$BACKPORTS" ]; then
    echo "setup-host: kept $BACKPORTS: it does not carry setup-host's mark (remove it yourself if setup-host added it)"
  fi
  if [ -d "$BOSH_TOOLS_DIR" ]; then
    act "remove the bosh CLI and bosh-agent installed for the tests ($BOSH_TOOLS_DIR)" \
      sh -c "rm -rf '$BOSH_TOOLS_DIR' && rmdir --ignore-fail-on-non-empty '$(dirname "$BOSH_TOOLS_DIR")'"
  fi
  echo "setup-host: the packages stay installed; to remove them: $(packages_line)"
  [ ! -s "$RECORD_DIR/installed-cargo" ] ||
    echo "setup-host: cargo-nextest stays installed; to remove it: cargo uninstall cargo-nextest"
  echo "setup-host: kept the logs /var/log/lxd-manual.log, /var/log/incus-manual.log and /var/log/lxcfs.log"
  if [ "$dry_run" = 1 ]; then
    echo "setup-host: dry run done: nothing was changed"
  elif [ $left = 0 ]; then
    echo "setup-host: uninstall done"
  else
    echo "setup-host: uninstall left something in place (see above)" >&2
    return 1
  fi
}
