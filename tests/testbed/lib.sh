# Helpers for test-bed scripts. Every script runs inside a network namespace of its own
# (`unshare -rn`), so it only ever touches that namespace's loopback.

# Brings loopback up; refuses to run outside a fresh namespace (other interfaces visible).
ns_init() {
    ip link set lo up
    if ip -o link show | grep -qv ': lo:'; then
        echo "testbed: refusing to run outside a network namespace of its own" >&2
        exit 97
    fi
    # The namespace whose processes ns_cleanup stops (checked fresh just above).
    TESTBED_NS=$(readlink /proc/self/ns/net)
    trap 'ns_cleanup' EXIT
    # A failing set-up step says which, instead of exiting silently under set -e.
    trap 'echo "testbed: failed (exit $?) at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2' ERR
    set -o errtrace
}

# Stops the bed's jobs, then every other process of its namespace: some daemons leave the job
# list (postfix's master, ejabberd's Erlang VM and epmd, rspamd's workers, daemons that fork)
# or ignore SIGTERM for a while (Firebird), and a process left behind would outlive the test.
# Best effort: a process that is gone already is no failure, and nothing here fails the bed.
ns_cleanup() {
    set +e
    trap - ERR
    local pids p pid left=() i
    pids=$(jobs -p)
    [ -n "$pids" ] && kill $pids 2>/dev/null
    if [ -n "${TESTBED_NS:-}" ]; then
        pids=()
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            { [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ]; } && continue
            [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$TESTBED_NS" ] && pids+=("$pid")
        done
        [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
        for i in $(seq 1 20); do
            left=()
            for pid in "${pids[@]}"; do
                # A zombie has exited; its parent (this script, or init) reaps it.
                [ -d "/proc/$pid" ] && [ "$(sed 's/.*) //; s/ .*//' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
                    left+=("$pid")
            done
            [ ${#left[@]} -eq 0 ] && break
            sleep 0.1
        done
        [ ${#left[@]} -gt 0 ] && kill -9 "${left[@]}" 2>/dev/null
    fi
    wait 2>/dev/null
    return 0
}

# Waits until something accepts on 127.0.0.1:PORT (at most ~5 s).
wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "testbed: nothing listens on port $port after 5 s" >&2
    return 1
}

# A plain listener that accepts and discards (an 'open' port with no service).
start_listener() {
    local port=$1
    socat -u "TCP-LISTEN:$port,reuseaddr,fork" OPEN:/dev/null </dev/null >/dev/null 2>&1 &
    wait_port "$port"
}

# Runs the command given to the script, keeping its exit code.
run_command() {
    set +e
    "$@"
    local rc=$?
    set -e
    return $rc
}
