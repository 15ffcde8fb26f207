# Shared by the r1lab Slurm scripts: settings with defaults, and the inference server's lifecycle.
# Sourced by generate.slurm / evaluate.slurm (each task serves the model on its own node).
#
# Every setting is an environment variable (sbatch exports the submitter's environment):
#   R1LAB            how to run r1lab on the nodes                      (default: r1lab)
#   PYTHON           a python for small helpers                          (default: python3)
#   MODEL            model to serve: HF id or path (transformers: a local dir)       (required)
#   SERVED_MODEL     model name sent in requests (default: MODEL; transformers: its absolute path)
#   SERVER           vllm | sglang | transformers                         (default: vllm)
#   SERVER_CMD       the whole server command, overriding SERVER; may use $MODEL $PORT $TP $DP
#   SERVER_ARGS      extra arguments appended to the server command
#   TP, DP           tensor / data parallel size of vLLM or SGLang  (default: TP=1, DP=GPUS_PER_TASK)
#   PORT             server port                                         (default: a free port)
#   HEALTH_TIMEOUT   seconds to wait for GET /health                     (default: 1800)
#   CACHE_FRACTION   transformers only: KV-cache share of free memory    (default: r1lab's CPU cap)

set -euo pipefail

R1LAB=${R1LAB:-r1lab}
PYTHON=${PYTHON:-python3}
SERVER=${SERVER:-vllm}
SERVER_ARGS=${SERVER_ARGS:-}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-1800}
TP=${TP:-1}
_gpus=${GPUS_PER_TASK:-${SLURM_GPUS_ON_NODE:-1}}
DP=${DP:-$(( _gpus > TP ? _gpus / TP : 1 ))}
SERVER_PID=""

log() { echo "[$(date -u +%H:%M:%S)] ${SLURM_JOB_ID:-local}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}: $*" >&2; }

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

server_command() {
    if [[ -n "${SERVER_CMD:-}" ]]; then
        eval "echo $SERVER_CMD"
        return
    fi
    case "$SERVER" in
        vllm) echo "vllm serve $MODEL --host 0.0.0.0 --port $PORT --tensor-parallel-size $TP --data-parallel-size $DP" ;;
        sglang) echo "$PYTHON -m sglang.launch_server --model-path $MODEL --host 0.0.0.0 --port $PORT --tp $TP --dp $DP" ;;
        transformers) echo "$R1LAB serve $MODEL --port $PORT${CACHE_FRACTION:+ --cache-memory-fraction $CACHE_FRACTION}" ;;
        *) echo "unknown SERVER=$SERVER (vllm, sglang, transformers, or set SERVER_CMD)" >&2; return 2 ;;
    esac
}

# served_model: the name requests carry (transformers serve knows a local model by its absolute path).
served_model() {
    : "${MODEL:?set MODEL to the model to serve}"
    if [[ -n "${SERVED_MODEL:-}" ]]; then echo "$SERVED_MODEL"
    elif [[ "$SERVER" == transformers ]]; then realpath "$MODEL"
    else echo "$MODEL"; fi
}

# start_server LOGFILE: start the server in its own process group, wait for /health; sets BASE_URL.
start_server() {
    local logfile=$1 command
    PORT=${PORT:-$(free_port)}
    SERVED_MODEL=$(served_model)
    command=$(server_command)
    command="$command $SERVER_ARGS"
    log "starting server: $command (log: $logfile)"
    setsid bash -c "exec $command" >"$logfile" 2>&1 &
    SERVER_PID=$!
    BASE_URL="http://127.0.0.1:$PORT/v1"
    local waited=0
    until "$PYTHON" - "http://127.0.0.1:$PORT/health" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=5).read()
except Exception:
    sys.exit(1)
PY
    do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server exited before it was healthy; its log:"; tail -n 40 "$logfile" >&2
            return 1
        fi
        if (( waited >= HEALTH_TIMEOUT )); then
            log "the server was not healthy after ${HEALTH_TIMEOUT}s; its log:"; tail -n 40 "$logfile" >&2
            stop_server; return 1
        fi
        sleep 2; waited=$(( waited + 2 ))
    done
    log "server healthy after ${waited}s at $BASE_URL (model $SERVED_MODEL)"
}

# stop_server: SIGTERM to the server's process group, SIGKILL after 20 s. Safe to call twice.
stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    local pid=$SERVER_PID
    SERVER_PID=""
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 40); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; log "server stopped"; return 0; }
        sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    log "server killed"
}

# run_client CMD...: run in the background and wait, so a SIGTERM reaches this shell at once (bash
# runs traps only between commands); the client gets Slurm's SIGTERM itself and stops cleanly.
CLIENT_PID=""
run_client() {
    "$@" &
    CLIENT_PID=$!
    local status=0
    wait "$CLIENT_PID" || status=$?
    while kill -0 "$CLIENT_PID" 2>/dev/null; do  # woken by a trap: wait for the client's own exit
        wait "$CLIENT_PID" || status=$?
    done
    CLIENT_PID=""
    return "$status"
}

on_term() {
    log "SIGTERM: stopping (finished rows are on disk; a requeued or resubmitted task resumes)"
    if [[ -n "$CLIENT_PID" ]]; then kill -TERM "$CLIENT_PID" 2>/dev/null || true; fi
    while [[ -n "$CLIENT_PID" ]] && kill -0 "$CLIENT_PID" 2>/dev/null; do sleep 0.2; done
    stop_server
    exit 143
}
# USR1 (ask for it with `sbatch --signal=B:USR1@300`: 5 minutes before the time limit): requeue this
# task; Slurm then stops it with SIGTERM as above and starts it again, and the rerun resumes.
on_usr1() {
    # In an array, SLURM_JOB_ID of one task can equal the array's id, which would requeue every task.
    local self=${SLURM_JOB_ID:?}
    [[ -n "${SLURM_ARRAY_JOB_ID:-}" ]] && self="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    log "USR1: requeueing this task ($self) before its time limit"
    scontrol requeue "$self" || log "scontrol requeue $self failed (is the job --requeue?)"
}

# install_traps: for the array tasks; SIGTERM (preemption, scancel, time limit) stops client and server.
install_traps() {
    trap on_term TERM
    trap on_usr1 USR1
    trap stop_server EXIT
}
