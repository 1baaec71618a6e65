# Shell helpers shared by scripts/setup-host, scripts/test and the test scripts (sourced,
# not run).
# shellcheck shell=bash

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

# proc_start_time PID: the process's start time, field 22 of /proc/PID/stat (clock ticks
# since boot); prints nothing when PID is gone. With the PID it names one process for
# good: a PID the kernel hands out again belongs to a process that started later.
proc_start_time() {
  local stat
  [[ ${1:-} =~ ^[0-9]+$ ]] || return 0
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  # Field 2, the command name in parentheses, may hold spaces: count after its last ')'.
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split into fields 3...
  set -- $stat
  printf '%s\n' "${20:-}"
}

# owner_keys [PID]: the keys that mark a test project with its owner process, PID (the
# calling shell by default), as KEY=VALUE words for `project create -c` or `project set`:
# user.bosh-lxd.owner-pid and user.bosh-lxd.owner-start, its start time.
# `scripts/setup-host` deletes a test project only when that process is gone.
owner_keys() {
  local pid=${1:-$$} start
  start=$(proc_start_time "$pid")
  printf '%s\n' "user.bosh-lxd.owner-pid=$pid"
  [ -z "$start" ] || printf '%s\n' "user.bosh-lxd.owner-start=$start"
}

# owner_alive PID [START]: true when the process PID is alive and, when START is given
# (a project marked before start times were recorded has none), started at START.
owner_alive() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && [ -d "/proc/$1" ] || return 1
  [ -z "${2:-}" ] || [ "$(proc_start_time "$1")" = "$2" ]
}

# project_names [CLI]: the names of the daemon's projects, one a line (CLI: lxc, the
# default, or incus); nothing when the daemon does not answer.
project_names() {
  { ${1:-lxc} project list --format csv 2>/dev/null || true; } | cut -d, -f1 | sed 's/ (current)$//'
}

# run_projects RUN_PROJECT [CLI]: the projects of one test run: RUN_PROJECT itself and
# the projects its tests named RUN_PROJECT-<something>.
run_projects() {
  local run=$1 p
  for p in $(project_names "${2:-lxc}"); do
    case "$p" in "$run" | "$run"-*) printf '%s\n' "$p" ;; esac
  done
}

# delete_run_projects RUN_PROJECT [CLI]: deletes every project of one test run
# (run_projects) and says what it did on stderr.
delete_run_projects() {
  local cli=${2:-lxc} p
  for p in $(run_projects "$1" "$cli"); do
    if delete_project "$p" "$cli"; then
      echo "deleted project $p ($cli)" >&2
    else
      echo "could not delete project $p ($cli); the next scripts/setup-host sweeps it" >&2
    fi
  done
}

# bounded CMD...: a clean-up step. Runs CMD (its stderr discarded) for at most
# CLEANUP_SECONDS (60 s by default); when it does not return in time, kills it and says on
# stderr what it was waiting for. Returns CMD's exit status (124 or 137 when it was killed).
bounded() {
  local limit=${CLEANUP_SECONDS:-60} rc=0
  timeout -k 5 "$limit" "$@" 2>/dev/null || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "clean-up: $* did not return in $limit s; left for the next project sweep" >&2
  fi
  return "$rc"
}

# delete_project NAME [CLI]: deletes a project and everything in it (instances, images,
# custom volumes and their snapshots, profiles), then the project. CLI is the daemon's
# client: lxc (the default) or incus. Every daemon call is bounded.
delete_project() {
  local p=$1 lxc=${2:-lxc} name
  for name in $(bounded "$lxc" list --project "$p" --format csv -c n); do
    bounded "$lxc" delete --force "$name" --project "$p" >/dev/null || true
  done
  for name in $(bounded "$lxc" image list --project "$p" --format csv -c f); do
    bounded "$lxc" image delete "$name" --project "$p" >/dev/null || true
  done
  local pool vol
  for pool in $(bounded "$lxc" storage list --format csv -c n); do
    { bounded "$lxc" storage volume list "$pool" --project "$p" --format csv -c tn || true; } |
      while IFS=, read -r type vol; do
        [ "$type" = custom ] || continue
        case "$vol" in */*) continue ;; esac # snapshots go with their volume
        bounded "$lxc" storage volume delete "$pool" "$vol" --project "$p" >/dev/null || true
      done
  done
  for name in $({ bounded "$lxc" profile list --project "$p" --format csv || true; } | cut -d, -f1); do
    if [ "$name" = default ]; then
      printf 'config: {}\ndevices: {}\n' | bounded "$lxc" profile edit default --project "$p" >/dev/null || true
    else
      bounded "$lxc" profile delete "$name" --project "$p" >/dev/null || true
    fi
  done
  # The project may have gone meanwhile (its own run deleted it): that is success.
  bounded "$lxc" project delete "$p" >/dev/null || ! bounded "$lxc" project show "$p" >/dev/null
}
