# Sourced by the ops tests that start tradebus processes in the background: stop_pids PID...
# sends SIGTERM to each (a clean stop: nodes deregister, the journal syncs), waits up to 5 s
# per process, then SIGKILLs what is still there.
stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "$@"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    return 0
}
