# What the integration tests start from, for scripts that run them (sourced, not run).
# shellcheck shell=bash

# repack_fixture DIR: repacks $BOSH_LXD_FIXTURE_STEMCELL as an operator repacks a stock
# stemcell, with the self-contained repack-stemcell of scripts/build-repack (the static
# helper of scripts/build-helper and the overlay built in, no --helper), into DIR. Exports
# the tool's path as BOSH_LXD_REPACK_BIN and the tarball's as BOSH_LXD_REPACKED_STEMCELL.
repack_fixture() {
  BOSH_LXD_REPACK_BIN=$(scripts/build-repack | tail -n 1)
  BOSH_LXD_REPACKED_STEMCELL=$1/fixture-repacked.tgz
  "$BOSH_LXD_REPACK_BIN" "$BOSH_LXD_FIXTURE_STEMCELL" "$BOSH_LXD_REPACKED_STEMCELL" >&2
  export BOSH_LXD_REPACK_BIN BOSH_LXD_REPACKED_STEMCELL
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
# or cached) repacked like the plain one, with the self-contained repack-stemcell
# ($BOSH_LXD_REPACK_BIN, made by repack_fixture), into DIR; exports the tarball's path as
# BOSH_LXD_REAL_AGENT_STEMCELL (tests/tests/agent_real.rs).
repack_real_agent() {
  local stock
  stock=$(tests/fixtures/build-stemcell --real-agent | tail -n 1)
  BOSH_LXD_REAL_AGENT_STEMCELL=$1/fixture-real-agent-repacked.tgz
  "$BOSH_LXD_REPACK_BIN" "$stock" "$BOSH_LXD_REAL_AGENT_STEMCELL" >&2
  export BOSH_LXD_REAL_AGENT_STEMCELL
}
