#!/usr/bin/env bash
# Benchmark (c) of issue 13: a bulk IMAP audit of M mailboxes (default 1000) at concurrency P
# (default 32) through the bench's latency proxy (default RTT 50 ms), xoauth vs
# `xargs -P P curl`: wall time, throughput (mailboxes/s), ratio, and peak memory (max RSS from
# /usr/bin/time: for xoauth its one process, for curl the largest single curl; the sum over 32
# concurrent curls is about 32x that).
#
# The mock gets M extra shared mailboxes (box0001@contoso.example, ...) on which alice has
# FullAccess; both tools use alice's delegated token and open each mailbox as XOAUTH2 user=.
# xoauth runs `xoauth check --mailboxes FILE --concurrency P --protocols imap`; when this
# build's `check` has no --mailboxes, its row says "not available in this build" and only curl
# is measured.
#
# Usage: benches/audit.sh [M] [P] [RTT_MS]
source "$(dirname "$0")/lib.sh"
M=${1:-${M:-1000}}
P=${2:-${P:-32}}
R=${3:-${R:-50}}
[ -x /usr/bin/time ] || { log "needs /usr/bin/time (apt-get install time)"; exit 2; }

build
{
    cat "$ROOT/mock-server/config/contoso.toml"
    for i in $(seq -f '%04g' 1 "$M"); do
        printf '\n[[mailbox]]\naddress = "box%s@contoso.example"\nkind = "shared"\nfull_access = ["%s"]\nfolders = [ { name = "Inbox", messages = 1 } ]\n' "$i" "$ALICE"
    done
} > "$WORK/audit.toml"
start_mock --config "$WORK/audit.toml"
mint_token
seq -f 'box%04g@contoso.example' 1 "$M" > "$WORK/mailboxes.txt"
port=$(free_port)
start_proxy "$port" "$MOCK_IMAPS_PORT" "$R"

echo "| tool | mailboxes | concurrency | RTT ms | wall s | mailboxes/s | peak RSS MiB | load avg |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"

load=$(loadavg)
if "$XOAUTH" check --help 2>/dev/null | grep -q -- '--mailboxes'; then
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$WORK/x.mem" "$XOAUTH" check --host 127.0.0.1 \
        --imap-port "$port" --protocols imap --ca-file "$MOCK_CA" \
        --access-token-env XOAUTH_TOKEN --no-cache \
        --mailboxes "$WORK/mailboxes.txt" --concurrency "$P" > "$WORK/x.out" 2>&1 ||
        { log "xoauth audit exited non-zero:"; tail -5 "$WORK/x.out" >&2; }
    t1=$EPOCHREALTIME
    xw=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b-a }')
    xm=$(awk '{ printf "%.1f", $1/1024 }' "$WORK/x.mem")
    echo "| xoauth | $M | $P | $R | $xw | $(awk -v m="$M" -v w="$xw" 'BEGIN { printf "%.1f", m/w }') | $xm | $load |"
else
    xw=
    echo "| xoauth | $M | $P | $R | not available in this build (no \`check --mailboxes\`) | | | $load |"
fi

load=$(loadavg)
export MOCK_CA port TOKEN
t0=$EPOCHREALTIME
# One curl per mailbox; each records its own max RSS.
mkdir -p "$WORK/cmem"
xargs -P "$P" -I{} /usr/bin/time -f %M -o "$WORK/cmem/{}" \
    curl -sS --fail --oauth2-bearer "$TOKEN" --login-options AUTH=XOAUTH2 -u '{}:' \
    --cacert "$MOCK_CA" "imaps://127.0.0.1:$port/" -o /dev/null < "$WORK/mailboxes.txt" \
    2> "$WORK/c.err" || log "some curls failed: $(sort "$WORK/c.err" | uniq -c | head -3)"
t1=$EPOCHREALTIME
cw=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b-a }')
cm=$(cat "$WORK"/cmem/* | sort -n | tail -1 | awk '{ printf "%.1f", $1/1024 }')
echo "| xargs -P $P curl | $M | $P | $R | $cw | $(awk -v m="$M" -v w="$cw" 'BEGIN { printf "%.1f", m/w }') | $cm (one curl) | $load |"
echo
if [ -n "$xw" ]; then
    echo "throughput ratio xoauth/curl: $(ratio "$cw" "$xw")"
fi
echo "load average at the end: $(loadavg)"
