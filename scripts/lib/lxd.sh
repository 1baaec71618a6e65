# Shell helpers shared by scripts/setup-host and scripts/test (sourced, not run).

# lxd_answers: true when the LXD daemon answers on its unix socket.
lxd_answers() {
  curl -sf --max-time 10 --unix-socket /var/lib/lxd/unix.socket http://lxd/1.0 >/dev/null 2>&1
}

# incus_answers: true when the Incus daemon answers on its unix socket.
incus_answers() {
  curl -sf --max-time 10 --unix-socket /var/lib/incus/unix.socket http://incus/1.0 >/dev/null 2>&1
}

# pid_is NAME PID: true when PID is alive and its command name is NAME.
pid_is() {
  [ -n "${2:-}" ] && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]
}

# delete_project NAME [CLI]: deletes a project and everything in it (instances, images,
# custom volumes and their snapshots, profiles), then the project. CLI is the daemon's
# client: lxc (the default) or incus.
delete_project() {
  local p=$1 lxc=${2:-lxc} name
  for name in $($lxc list --project "$p" --format csv -c n 2>/dev/null); do
    $lxc delete --force "$name" --project "$p" >/dev/null 2>&1 || true
  done
  for name in $($lxc image list --project "$p" --format csv -c f 2>/dev/null); do
    $lxc image delete "$name" --project "$p" >/dev/null 2>&1 || true
  done
  local pool vol
  for pool in $($lxc storage list --format csv -c n 2>/dev/null); do
    $lxc storage volume list "$pool" --project "$p" --format csv -c tn 2>/dev/null |
      while IFS=, read -r type vol; do
        [ "$type" = custom ] || continue
        case "$vol" in */*) continue ;; esac # snapshots go with their volume
        $lxc storage volume delete "$pool" "$vol" --project "$p" >/dev/null 2>&1 || true
      done
  done
  for name in $($lxc profile list --project "$p" --format csv 2>/dev/null | cut -d, -f1); do
    if [ "$name" = default ]; then
      printf 'config: {}\ndevices: {}\n' | $lxc profile edit default --project "$p" >/dev/null 2>&1 || true
    else
      $lxc profile delete "$name" --project "$p" >/dev/null 2>&1 || true
    fi
  done
  # The project may have gone meanwhile (its own run deleted it): that is success.
  $lxc project delete "$p" >/dev/null 2>&1 || ! $lxc project show "$p" >/dev/null 2>&1
}
