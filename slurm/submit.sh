#!/bin/bash
# Submit a sharded run: a job array (one model server + one shard per task) and the merge job that
# depends on it.  slurm/submit.sh generate|evaluate [r1lab generate/evaluate options...]
#
#   NUM_SHARDS=8 OUTPUT_DIR=runs/distill MODEL=deepseek-ai/DeepSeek-R1-Distill-Qwen-7B \
#     slurm/submit.sh generate --input data/problems.jsonl --num-generations 4 --max-tokens 32768
#
# Resources per task (all optional): GPUS_PER_TASK (default 8; 0 = none), CPUS_PER_TASK (16),
# MEM_PER_TASK (e.g. 200G; default: Slurm's), MAX_PARALLEL (tasks at once), ARRAY (indices to run,
# e.g. "3,5" to resubmit two shards; default all), SBATCH_ARGS (more sbatch options, e.g.
# "--partition=gpu --time=12:00:00 --signal=B:USR1@120"). Server and r1lab settings: slurm/common.sh.
# Prints "array JOBID" and "merge JOBID".
set -euo pipefail
R1LAB_SLURM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export R1LAB_SLURM_DIR
MODE=${1:?usage: slurm/submit.sh generate|evaluate [r1lab options...]}
shift
case "$MODE" in generate | evaluate) ;; *) echo "unknown mode $MODE (generate or evaluate)" >&2; exit 2 ;; esac
: "${NUM_SHARDS:?set NUM_SHARDS}" "${OUTPUT_DIR:?set OUTPUT_DIR}" "${MODEL:?set MODEL}"
OUTPUT_DIR=$(realpath -m "$OUTPUT_DIR")
export NUM_SHARDS OUTPUT_DIR MODEL
mkdir -p "$OUTPUT_DIR/logs"

resources=(--cpus-per-task "${CPUS_PER_TASK:-16}")
[[ -n "${MEM_PER_TASK:-}" ]] && resources+=(--mem "$MEM_PER_TASK")
(( ${GPUS_PER_TASK:-8} > 0 )) && resources+=(--gres "gpu:${GPUS_PER_TASK:-8}")
export GPUS_PER_TASK=${GPUS_PER_TASK:-8}
array="${ARRAY:-0-$(( NUM_SHARDS - 1 ))}${MAX_PARALLEL:+%$MAX_PARALLEL}"
# shellcheck disable=SC2086
array_job=$(sbatch --parsable --array "$array" "${resources[@]}" ${SBATCH_ARGS:-} \
    --output "$OUTPUT_DIR/logs/%x-%A_%a.out" "$R1LAB_SLURM_DIR/$MODE.slurm" "$@")
array_job=${array_job%%;*}
# shellcheck disable=SC2086
merge_job=$(sbatch --parsable --dependency "afterok:$array_job" --kill-on-invalid-dep=yes \
    --cpus-per-task "${MERGE_CPUS:-${CPUS_PER_TASK:-16}}" ${MERGE_MEM:+--mem "$MERGE_MEM"} ${SBATCH_ARGS:-} \
    --output "$OUTPUT_DIR/logs/%x-%j.out" "$R1LAB_SLURM_DIR/merge.slurm" "$MODE" "$@")
merge_job=${merge_job%%;*}
echo "array $array_job"
echo "merge $merge_job"
