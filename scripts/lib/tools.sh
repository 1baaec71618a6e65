# The real BOSH CLI and agent for the tests: installs them from the prebuilt tools folder,
# checked by sha256 (sourced by scripts/setup-host, not run).
# shellcheck shell=bash
#
# The folder is $BOSH_LXD_TOOLS, by default `shared/tools` beside the clone (../shared/tools
# from the repository root). It holds `bosh.xz` (bosh-cli 7.10.6, commit 19ee1a8d9) and
# `bosh-agent.xz` (bosh-agent 2.874.0, commit e94765aa1), built unmodified from upstream
# source; its SOURCE.md says how. The uncompressed binaries must match
# scripts/lib/tools.sha256. They are installed as $BOSH_TOOLS_DIR/bosh and
# $BOSH_TOOLS_DIR/bosh-agent, where the tests look for them
# (tests/src/tools.rs; BOSH_LXD_BOSH_CLI and BOSH_LXD_BOSH_AGENT name other binaries).

BOSH_TOOLS_DIR=/usr/local/lib/bosh-lxd/tools
BOSH_TOOLS_SUMS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tools.sha256"

# tools_ok DIR: true when DIR holds both binaries with the listed checksums.
tools_ok() {
  [ -d "$1" ] && (cd "$1" && sha256sum --quiet --check --status "$BOSH_TOOLS_SUMS" 2>/dev/null)
}

# tools_missing_help SRC: why there is nothing to install, and what to get instead.
tools_missing_help() {
  cat >&2 <<MSG
setup-host: no BOSH tools in $1 (want bosh.xz and bosh-agent.xz).
  Set BOSH_LXD_TOOLS to the folder that holds them (default: shared/tools beside the clone).
  Without that folder, get the upstream releases instead:
    - bosh CLI v7.10.6: bosh-cli-7.10.6-linux-amd64 from
      https://github.com/cloudfoundry/bosh-cli/releases/tag/v7.10.6
    - bosh-agent v2.874.0: it has no Linux release download; every Linux stemcell carries it
      as /var/vcap/bosh/bin/bosh-agent, or build it from source at tag v2.874.0:
      CGO_ENABLED=0 go build -o bosh-agent ./main
  then run with BOSH_LXD_BOSH_CLI=/path/to/bosh BOSH_LXD_BOSH_AGENT=/path/to/bosh-agent
  (those two are used as they are, without checksums).
MSG
}

# install_bosh_tools REPO_ROOT: installs bosh and bosh-agent into $BOSH_TOOLS_DIR unless
# they are there already with the listed checksums; sets bosh_tools_changed to 1 when it
# installed something. Returns 1, having said why, when it cannot.
install_bosh_tools() {
  local src=${BOSH_LXD_TOOLS:-$(cd "$1/.." && pwd)/shared/tools} name tmp
  # shellcheck disable=SC2034 # read by scripts/setup-host
  bosh_tools_changed=0
  if [ -n "${BOSH_LXD_BOSH_CLI:-}" ] && [ -n "${BOSH_LXD_BOSH_AGENT:-}" ]; then
    return 0 # the operator's own binaries; the tests use them
  fi
  tools_ok "$BOSH_TOOLS_DIR" && return 0
  for name in bosh bosh-agent; do
    [ -f "$src/$name.xz" ] || { tools_missing_help "$src"; return 1; }
  done
  if ! command -v xz >/dev/null; then
    echo "setup-host: installing xz-utils (to unpack the BOSH tools)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends xz-utils >/dev/null
    echo xz-utils >>"${RECORD_DIR:-/var/lib/bosh-lxd}/installed-packages"
  fi
  mkdir -p "$BOSH_TOOLS_DIR"
  # Both are unpacked and checked before either replaces what is installed.
  tmp=$(mktemp -d "$BOSH_TOOLS_DIR/.unpack.XXXXXX")
  for name in bosh bosh-agent; do
    xz -dc "$src/$name.xz" >"$tmp/$name" || {
      rm -rf "$tmp"
      echo "setup-host: cannot unpack $src/$name.xz" >&2
      return 1
    }
  done
  if ! (cd "$tmp" && sha256sum --quiet --check "$BOSH_TOOLS_SUMS" >&2); then
    rm -rf "$tmp"
    echo "setup-host: the binaries in $src do not match scripts/lib/tools.sha256 (see above)" >&2
    return 1
  fi
  for name in bosh bosh-agent; do
    chmod 0755 "$tmp/$name"
    mv -f "$tmp/$name" "$BOSH_TOOLS_DIR/$name"
  done
  rmdir "$tmp"
  # shellcheck disable=SC2034
  bosh_tools_changed=1
  echo "setup-host: installed bosh ($("$BOSH_TOOLS_DIR/bosh" --version | head -n 1)) and bosh-agent ($("$BOSH_TOOLS_DIR/bosh-agent" -v)) from $src into $BOSH_TOOLS_DIR"
}

# bosh_cli: prints the bosh CLI to use: $BOSH_LXD_BOSH_CLI, the installed one, or `bosh`
# on PATH; returns 1, having said how to get one, when there is none.
bosh_cli() {
  local cli
  if [ -n "${BOSH_LXD_BOSH_CLI:-}" ] && [ ! -x "$BOSH_LXD_BOSH_CLI" ]; then
    echo "BOSH_LXD_BOSH_CLI=$BOSH_LXD_BOSH_CLI is not an executable file" >&2
    return 1
  fi
  for cli in "${BOSH_LXD_BOSH_CLI:-}" "$BOSH_TOOLS_DIR/bosh" "$(command -v bosh || true)"; do
    [ -n "$cli" ] && [ -x "$cli" ] && { echo "$cli"; return 0; }
  done
  echo "no bosh CLI: run scripts/setup-host (it installs $BOSH_TOOLS_DIR/bosh from" \
    "\$BOSH_LXD_TOOLS), or set BOSH_LXD_BOSH_CLI to a bosh CLI v7.10.6 from" \
    "https://github.com/cloudfoundry/bosh-cli/releases/tag/v7.10.6" >&2
  return 1
}
