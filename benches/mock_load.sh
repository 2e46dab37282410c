#!/usr/bin/env bash
# Benchmark (d) of issue 13: the mock's throughput and memory.
#  1. Full IMAP check sessions per second: the bench load generator (benches/tools/load.rs) runs
#     C concurrent clients for S seconds, each doing TCP connect, TLS (full handshake: no
#     resumption), greeting, AUTHENTICATE XOAUTH2 (SASL-IR), LIST "" "*", LOGOUT, back to back.
#     Load generator and mock share the same cores (2 here), so the mock gets less than all of them.
#  2. Memory per idle connection: the mock's VmRSS before and while K connections are held open
#     (TLS done, greeting read; then, on a fresh mock, with each connection authenticated),
#     (after-before)/K.
#
# Usage: benches/mock_load.sh [C] [S] [K]   (defaults 64 clients, 10 s, 1000 idle connections)
source "$(dirname "$0")/lib.sh"
C=${1:-${C:-64}}
S=${2:-${S:-10}}
K=${3:-${K:-1000}}

build
start_mock --max-connections $((K + C + 100)) --idle-timeout 300
mint_token
addr=127.0.0.1:$MOCK_IMAPS_PORT
rss() { awk '/^VmRSS/ {print $2}' "/proc/$MOCK_PID/status"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$MOCK_PID/stat"; }

echo "## Sessions per second"
echo "load average before: $(loadavg)"
c0=$(cpu_ticks)
"$TOOLS" load --addr "$addr" --ca "$MOCK_CA" --token-file "$WORK/token" --user "$ALICE" \
    --clients "$C" --secs "$S" | tee "$WORK/load.out"
c1=$(cpu_ticks)
echo "load average after: $(loadavg)"
# The mock's own CPU over the run: sessions per mock-CPU-second bounds what it could do alone.
ok=$(grep -o 'sessions_ok=[0-9]*' "$WORK/load.out" | cut -d= -f2)
awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" -v ok="$ok" -v s="$S" 'BEGIN {
    cpu = (b - a) / hz
    printf "mock CPU %.2f s over %d s (%.2f cores); %.0f sessions per mock CPU second\n", cpu, s, cpu / s, ok / cpu }'
echo
echo "## Memory per idle connection (K=$K)"
for mode in tls auth; do
    extra=()
    [ "$mode" = auth ] && extra=(--token-file "$WORK/token" --user "$ALICE")
    # A fresh mock for each: freed memory stays with the process and would hide the next growth.
    kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null || true
    rm -f "$WORK/mock.env"
    start_mock --max-connections $((K + C + 100)) --idle-timeout 300
    addr=127.0.0.1:$MOCK_IMAPS_PORT
    sleep 1
    before=$(rss)
    "$TOOLS" idle --addr "$addr" --ca "$MOCK_CA" --count "$K" --hold-secs 30 "${extra[@]}" \
        > "$WORK/idle.out" 2>&1 &
    idle=$!
    PIDS+=("$idle")
    until grep -qs holding "$WORK/idle.out"; do
        kill -0 "$idle" 2>/dev/null || { cat "$WORK/idle.out" >&2; exit 1; }
        sleep 0.2
    done
    sleep 1
    after=$(rss)
    kill "$idle" 2>/dev/null || true
    wait "$idle" 2>/dev/null || true
    echo "$mode: mock VmRSS before ${before} KiB, with $K idle connections ${after} KiB: $(awk -v a="$after" -v b="$before" -v k="$K" 'BEGIN { printf "%.1f KiB per connection", (a-b)/k }')"
done
