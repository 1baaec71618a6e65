# What the integration tests start from, for scripts that run them (sourced, not run).
# shellcheck shell=bash

# repack_fixture DIR: repacks $BOSH_LXD_FIXTURE_STEMCELL with $BOSH_LXD_HELPER_BIN, as an
# operator repacks a stock stemcell (release repack-stemcell, the overlay), into DIR, and
# exports the tarball's path as BOSH_LXD_REPACKED_STEMCELL.
repack_fixture() {
  cargo build --release --locked -q -p repack-stemcell
  BOSH_LXD_REPACKED_STEMCELL=$1/fixture-repacked.tgz
  "${CARGO_TARGET_DIR:-target}/release/repack-stemcell" "$BOSH_LXD_FIXTURE_STEMCELL" \
    "$BOSH_LXD_REPACKED_STEMCELL" --helper "$BOSH_LXD_HELPER_BIN" >&2
  export BOSH_LXD_REPACKED_STEMCELL
}

# prepare_test_inputs DIR: the fixture stemcell (built or cached), the static helper and
# the repacked fixture in DIR, exported as BOSH_LXD_FIXTURE_STEMCELL,
# BOSH_LXD_HELPER_BIN and BOSH_LXD_REPACKED_STEMCELL.
prepare_test_inputs() {
  BOSH_LXD_FIXTURE_STEMCELL=$(tests/fixtures/build-stemcell | tail -n 1)
  BOSH_LXD_HELPER_BIN=$(scripts/build-helper | tail -n 1)
  export BOSH_LXD_FIXTURE_STEMCELL BOSH_LXD_HELPER_BIN
  repack_fixture "$1"
}

# repack_real_agent DIR: the real-agent fixture stemcell (`build-stemcell --real-agent`, built
# or cached) repacked with $BOSH_LXD_HELPER_BIN like the plain one, into DIR; exports the
# tarball's path as BOSH_LXD_REAL_AGENT_STEMCELL (tests/tests/agent_real.rs).
repack_real_agent() {
  local stock
  stock=$(tests/fixtures/build-stemcell --real-agent | tail -n 1)
  cargo build --release --locked -q -p repack-stemcell
  BOSH_LXD_REAL_AGENT_STEMCELL=$1/fixture-real-agent-repacked.tgz
  "${CARGO_TARGET_DIR:-target}/release/repack-stemcell" "$stock" \
    "$BOSH_LXD_REAL_AGENT_STEMCELL" --helper "$BOSH_LXD_HELPER_BIN" >&2
  export BOSH_LXD_REAL_AGENT_STEMCELL
}
