#!/usr/bin/env bash
# Benchmark (b) of issue 13: round trips per check, per protocol, xoauth vs curl. Each check runs
# through the bench's latency proxy (benches/tools/proxy.rs) at RTT 0 and at RTT R ms (default
# 50); round trips = (median wall at R - median wall at 0) / R. The proxy also charges the TCP
# handshake (1 RTT), so the count is "after DNS" as the issue counts (there is no DNS here).
# Against the mock and, with root and /usr/sbin/dovecot, a private Dovecot 2.3.
#
# Usage: benches/rtt.sh [N] [R]       (N runs per cell, default 7; R in ms, default 50)
source "$(dirname "$0")/lib.sh"
N=${1:-${N:-7}}
R=${2:-${R:-50}}

build
start_mock
mint_token
servers=(mock)
if start_dovecot; then servers+=(dovecot); else log "Dovecot rows skipped"; fi

echo "| server | protocol | xoauth RTTs | curl RTTs | ratio x/c | xoauth wall ms at 0 / $R | curl wall ms at 0 / $R | load avg |"
echo "|---|---|---:|---:|---:|---|---|---|"
for server in "${servers[@]}"; do
    for proto in imap pop smtp; do
        endpoint "$server" "$proto"
        target=$port
        p0=$(free_port); start_proxy "$p0" "$target" 0
        pr=$(free_port); start_proxy "$pr" "$target" "$R"
        load=$(loadavg)
        declare -A w0 wr rtts
        for tool in xoauth curl; do
            check_cmd "$tool" "$proto" "$server" "$p0" "$ca"
            measure "$N" "$WORK/w0" "${CMD[@]}" > /dev/null
            check_cmd "$tool" "$proto" "$server" "$pr" "$ca"
            measure "$N" "$WORK/wr" "${CMD[@]}" > /dev/null
            w0[$tool]=$(median < "$WORK/w0")
            wr[$tool]=$(median < "$WORK/wr")
            rtts[$tool]=$(awk -v a="${wr[$tool]}" -v b="${w0[$tool]}" -v r="$R" 'BEGIN { printf "%.1f", (a-b)/(r/1000) }')
        done
        echo "| $server | $proto | ${rtts[xoauth]} | ${rtts[curl]} | $(ratio "${rtts[xoauth]}" "${rtts[curl]}") | $(ms "${w0[xoauth]}") / $(ms "${wr[xoauth]}") | $(ms "${w0[curl]}") / $(ms "${wr[curl]}") | $load |"
    done
done
echo
echo "N=$N runs per cell, RTT $R ms; load average at the end: $(loadavg)"
