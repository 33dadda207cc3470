#!/bin/sh
# One test shard: TSR_SHARD_INDEX of TSR_SHARD_COUNT, pinned by its agent.
set -eu
cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
echo "test shard $TSR_SHARD_INDEX of $TSR_SHARD_COUNT on CPU $cpus"
sleep 0.2
