#!/usr/bin/env bash
# SIPp-driven load test of the whole switch (issue 2, "Benchmarks"):
#
#   sipp -sn uac  -->  switchboard (sip-profiles/loadtest, 127.0.0.1:5080)  -->  sipp -sn uas (127.0.0.1:5090)
#
# Mode `rate` (default): steps the call rate; each step runs RATE calls/s for
# HOLD seconds (default 10). A step passes when every call succeeded, SIPp
# counted no retransmission and no timeout, and SIPp sustained the rate. Prints
# the highest passing rate with the switch's CPU (share of one core) and RSS.
#
# Mode `dialogs`: holds N concurrent calls (default 20000) for 60 s each and
# prints the switch's memory per dialog: RSS with all N calls up minus RSS
# idle, over N. It is sampled 35 s after the last call was set up, when the
# INVITE transactions have ended their RFC 6026 linger (64*T1 = 32 s) and
# only the dialogs remain (the calls started at DIALOG_RATE, so the ramp must
# be under 25 s for every call to be up then). The RSS at the end of the
# ramp, transactions included, is printed too.
#
# Usage: benches/load/sip_load.sh [rate|dialogs] [options via env]
#   RATES="1000 2000 3000 4000 5000"  HOLD=10   DIALOGS=20000  DIALOG_RATE=500
# Needs: sipp (Debian package sip-tester), a release build (built here).
# Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail

mode=${1:-rate}
root=$(cd "$(dirname "$0")/../.." && pwd)
RATES=${RATES:-"1000 2000 3000 4000 5000 6000"}
HOLD=${HOLD:-10}
DIALOGS=${DIALOGS:-20000}
DIALOG_RATE=${DIALOG_RATE:-1000}
BUF=4194304

command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 2; }
sysctl -w net.core.rmem_max=$BUF net.core.wmem_max=$BUF >/dev/null 2>&1 || echo "note: could not raise net.core.rmem_max (not root?)" >&2

(cd "$root" && cargo build --release --quiet)
bin=${CARGO_TARGET_DIR:-$root/target}/release/switchboard

work=$(mktemp -d)
cleanup() {
  [ -n "${uas_pid:-}" ] && kill "$uas_pid" 2>/dev/null || true
  [ -n "${sw_pid:-}" ] && kill "$sw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" run --config "$root/sip-profiles/loadtest" --data-dir "$work/data" \
  --sip-listen internal=127.0.0.1:15060 >"$work/switch.log" 2>&1 &
sw_pid=$!
sipp -sn uas -i 127.0.0.1 -p 5090 -buff_size $BUF -nostdin -max_socket 65000 \
  >"$work/uas.log" 2>&1 &
uas_pid=$!
sleep 1
kill -0 "$sw_pid" || { cat "$work/switch.log"; exit 1; }

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$sw_pid/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$sw_pid/status"; }

# Last line of SIPp's -stf CSV: prints "successful failed retransmissions timeouts rate".
stats_of() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
head, last = rows[0], rows[-1]
col = lambda n: last[head.index(n)]
print(col('SuccessfulCall(C)'), col('FailedCall(C)'), col('Retransmissions(C)'),
      col('FailedMaxUDPRetrans(C)'), col('CallRate(C)'))
PY
}

if [ "$mode" = rate ]; then
  best=0; best_cpu=0; best_rss=0
  printf '%8s %10s %8s %8s %8s %10s %8s\n' rate successful failed retrans timeouts cpu% rss_MiB
  for rate in $RATES; do
    n=$((rate * HOLD))
    t0=$(cpu_ticks); s0=$(date +%s.%N)
    sipp -sn uac 127.0.0.1:5080 -i 127.0.0.1 -p 5070 -r "$rate" -m "$n" -l $((rate * 4)) \
      -buff_size $BUF -nostdin -max_socket 65000 -timeout $((HOLD * 4))s \
      -trace_stat -stf "$work/stat_$rate.csv" -fd 1 >"$work/uac_$rate.log" 2>&1 || true
    t1=$(cpu_ticks); s1=$(date +%s.%N)
    read -r ok failed retrans timeouts achieved < <(stats_of "$work/stat_$rate.csv")
    cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/($s1-$s0),1))")
    rss=$(( $(rss_kb) / 1024 ))
    printf '%8s %10s %8s %8s %8s %10s %8s\n' "$rate" "$ok" "$failed" "$retrans" "$timeouts" "$cpu" "$rss"
    if [ "$ok" = "$n" ] && [ "$failed" = 0 ] && [ "$retrans" = 0 ] && [ "$timeouts" = 0 ]; then
      best=$rate; best_cpu=$cpu; best_rss=$rss
    else
      break
    fi
    sleep 2
  done
  echo "RESULT: highest rate held ${HOLD}s with 0 failed calls and 0 retransmissions: ${best} calls/s (switch CPU ${best_cpu}% of one core, RSS ${best_rss} MiB)"
elif [ "$mode" = dialogs ]; then
  rss0=$(rss_kb)
  secs=$(( DIALOGS / DIALOG_RATE + 60 + 30 ))
  sipp -sn uac 127.0.0.1:5080 -i 127.0.0.1 -p 5070 -r "$DIALOG_RATE" -m "$DIALOGS" -l "$DIALOGS" -d 60000 \
    -buff_size $BUF -nostdin -max_socket 65000 -timeout ${secs}s \
    -trace_stat -stf "$work/stat_dialogs.csv" -fd 1 >"$work/uac_dialogs.log" 2>&1 &
  uac_pid=$!
  ramp=$(( DIALOGS / DIALOG_RATE ))
  [ "$ramp" -lt 25 ] || { echo "DIALOG_RATE too low: the ramp must be under 25 s" >&2; exit 2; }
  sleep $(( ramp + 2 ))
  rss_ramp=$(rss_kb)
  sleep 33
  rss1=$(rss_kb)
  wait $uac_pid || true
  read -r ok failed retrans timeouts achieved < <(stats_of "$work/stat_dialogs.csv")
  per=$(python3 -c "print(round(($rss1-$rss0)*1024/$DIALOGS))")
  echo "dialogs=$DIALOGS successful=$ok failed=$failed retrans=$retrans rss_idle_kb=$rss0 rss_end_of_ramp_kb=$rss_ramp rss_dialogs_only_kb=$rss1"
  echo "RESULT: ${DIALOGS} concurrent dialogs held 60 s: ${per} bytes of switch memory per dialog (failed calls: ${failed})"
else
  echo "usage: $0 [rate|dialogs]" >&2; exit 2
fi
