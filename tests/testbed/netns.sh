#!/usr/bin/env bash
# An empty namespace: loopback up and nothing else, then runs "$@" (for tests that need no
# services but must not reach any network, e.g. name resolution that has to fail).
# Usage: unshare -rn tests/testbed/netns.sh COMMAND [ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ns_init
run_command "$@"
