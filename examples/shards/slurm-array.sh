#!/usr/bin/env bash
# A sharded scan as a Slurm job array: task I of N runs --shard I/N and writes
# results/shard-I.jsonl; --requeue plus --resume means a preempted or failed task continues
# where it stopped when Slurm runs it again.
#
#   sbatch --array=1-16 examples/shards/slurm-array.sh 10.0.0.0/16 -p 1-1024 --randomize --seed 42
#   cat results/shard-*.jsonl > all.jsonl      # once every task is done
#
# The array must start at 1 (--array=1-N): the task id is the shard number.
#SBATCH --job-name=portprobe-shards
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?run with sbatch --array=1-N}"
: "${SLURM_ARRAY_TASK_COUNT:?run with sbatch --array=1-N}"
out=${RESULTS:-results}
mkdir -p "$out"
exec "${PORTPROBE:-portprobe}" scan \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --resume "$out/shard-$SLURM_ARRAY_TASK_ID.jsonl" "$@"
