#!/usr/bin/env bash
# SIPp-driven overload test of the whole switch (issue 11 item 3, "Overload
# control"):
#
#   sipp -sf uac_overload.xml (xK)  -->  switchboard (sip-profiles/loadtest, 127.0.0.1:5080)  -->  sipp -sf uas_overload.xml (127.0.0.1:5090)
#
# The claim under test: at twice the highest rate the switch holds, its
# goodput stays at least 90 % of that rate (excess new INVITEs get an early,
# cheap 503 with Retry-After), and a run at half that rate right after the
# overload has no failure.
#
#  (a) Held rate H: $HELD if set, else a step search like sip_load.sh's: each
#      step offers RATE calls/s for HOLD seconds; a step passes when every
#      call completed (200, ACK, BYE, 200) with no failed call, no
#      retransmission, no timeout, no 503, and SIPp offered at least 95 % of
#      RATE. H is the highest passing rate (the search stops at the first
#      failing step).
#  (b) Overload: 2H calls/s offered for OVER_S seconds, open loop (no cap on
#      concurrent calls, so a slow switch does not slow the offer down).
#  (c) Recovery: as soon as the overload's generators have sent their last
#      new INVITE (polled from their 1 s statistics, so within about a
#      second; their last calls may still be finishing), H/2 calls/s for
#      RECOVER_S seconds. Passes with 0 failed calls, 0 503s, 0 timeouts.
#
# The caller scenario (benches/load/uac_overload.xml) is SIPp's built-in uac
# that also accepts a 503 to the INVITE and ACKs it (same branch, the 503's
# To tag) and ends the call normally, so a shed call is never a failed call.
# SIPp counters in its -stf CSV keep the outcomes apart: "completed" (200 to
# the BYE: goodput) and "shed503".
#
# The callee (benches/load/uas_overload.xml) is SIPp's built-in uas, except
# that it absorbs INVITE retransmissions after its 200: the built-in one
# aborts those calls ("unexpected message"), which under overload, when the
# switch's B-leg INVITEs wait over 500 ms, turns SIPp's weakness into failed
# calls charged to the switch. UAS=builtin uses `sipp -sn uas` instead.
#
# A rate is split over ceil(rate / PER_UAC) SIPp caller processes (on
# 127.0.0.1:5070.., recovery on 5100..) because one SIPp process cannot offer
# much more than that while sharing the two cores with the switch; their
# figures are summed.
#
# Figures of a step:
#   offered   calls/s SIPp actually started, over the offering window: from
#             each generator's start to its last 1 s statistics row before
#             its last call was started (so about OVER_S - 1 s)
#   goodput   calls completed (BYE answered 200) in that same window, per
#             second, summed over the generators: what the switch delivered
#             while overloaded, and the figure the verdict uses. Also printed
#             over the whole step: all completed calls / wall time from the
#             start to the last generator's exit. That one is stretched by
#             the tail of late calls (a single INVITE timing out adds 32 s to
#             the wall time), so it says more about the backlog than about
#             the rate held under overload.
#   503       INVITEs answered 503 (counted, ACKed, not failures)
#   failed    calls started that did not end normally (SIPp failed calls and
#             calls still open when SIPp stopped)
#   retrans   SIPp retransmissions; timeouts: calls ended by a UDP
#             retransmission timeout
#   udp_drops datagrams the kernel dropped at the switch's socket (5080)
#             because its receive buffer was full, from the step's start to
#             its last caller's exit
#   cpu%      switch CPU over the offering window, share of one core
#             (machine%: both cores' busy share, to see whether the box, and so
#             the generator, was saturated)
#   rss       switch RSS at the end of the step (hwm: its peak so far)
#
# Usage: benches/load/overload_load.sh [run|selftest] [options via env]
#   HELD=           held rate H in calls/s; empty: measure it (step search)
#   RATES="1000 2000 3000 4000 5000 6000 7000 8000 9000 10000"  HOLD=10
#                   the search's steps and their length in seconds
#   OVER_S=20       length of the overload (2H) offer, seconds
#   RECOVER_S=20    length of the recovery (H/2) run, seconds
#   PER_UAC=5000    highest rate given to one SIPp caller process
#   CALL_MS=0       call length (SIPp -d), ms; goodput in the window lags
#                   by about this much, keep it well under OVER_S
#   UAS=builtin     use SIPp's built-in uas as the callee (as sip_load.sh)
#   KEEP=1          keep the work directory (SIPp logs and CSVs) and print it
# Mode `selftest` needs no switch: it runs the caller scenario against
# benches/load/uas_shed.xml, a SIPp stand-in that sheds half the INVITEs with
# a 503 and checks each 503's ACK (branch, To tag, CSeq), and checks that
# both outcomes are counted apart and that no shed call counts as failed.
#
# Exits 1 (FAIL) when goodput in the window is under 90 % of H or the
# recovery had a failed call, a 503 or a timeout; 3 (INCONCLUSIVE) when it
# would pass but the callers offered under 95 % of 2H.
# Needs: sipp (Debian package sip-tester), python3, a release build (built
# here; honours CARGO_TARGET_DIR). Everything runs on 127.0.0.1 and stops by
# itself.
set -euo pipefail

mode=${1:-run}
root=$(cd "$(dirname "$0")/../.." && pwd)
HELD=${HELD:-}
RATES=${RATES:-"1000 2000 3000 4000 5000 6000 7000 8000 9000 10000"}
HOLD=${HOLD:-10}
OVER_S=${OVER_S:-20}
RECOVER_S=${RECOVER_S:-20}
PER_UAC=${PER_UAC:-5000}
CALL_MS=${CALL_MS:-0}
KEEP=${KEEP:-}
UAS=${UAS:-}
BUF=4194304
scen=$root/benches/load/uac_overload.xml

command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }
case "$mode" in run|selftest) ;; *) echo "usage: $0 [run|selftest]" >&2; exit 2 ;; esac
sysctl -w net.core.rmem_max=$BUF net.core.wmem_max=$BUF >/dev/null 2>&1 || echo "note: could not raise net.core.rmem_max (not root?)" >&2

work=$(mktemp -d)
cleanup() {
  local p
  # Our own background jobs that still run (SIPp callers cut short, the
  # callee, the switch); never a PID that may have been reused since.
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$KEEP" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
hz=$(getconf CLK_TCK)
cpu_ticks() { [ -n "${sw_pid:-}" ] && awk '{print $14 + $15}' "/proc/$sw_pid/stat" || echo 0; }
# Busy and total jiffies of the whole machine (all cores).
machine_ticks() { awk '/^cpu / {t=0; for (i=2; i<=NF; i++) t+=$i; print t-$5-$6, t}' /proc/stat; }
rss_mib() { [ -n "${sw_pid:-}" ] && awk '/VmRSS/ {print int($2/1024)}' "/proc/$sw_pid/status" || echo 0; }
hwm_mib() { [ -n "${sw_pid:-}" ] && awk '/VmHWM/ {print int($2/1024)}' "/proc/$sw_pid/status" || echo 0; }
# Datagrams the kernel dropped because the switch's UDP socket on 5080 (the
# callers' side) had a full receive buffer: the switch did not read fast
# enough. /proc/net/udp keeps a drop count per socket (last column).
udp_drops() { awk '$2 == "0100007F:13D8" {d += $NF} END {print d + 0}' /proc/net/udp; }
# snap P: records the clock, the switch's CPU ticks, the machine's busy and
# total ticks and the UDP drops in P_t, P_cpu, P_busy, P_all, P_drops.
snap() {
  local busy all
  read -r busy all < <(machine_ticks)
  printf -v "$1_t" %s "$(now)"; printf -v "$1_cpu" %s "$(cpu_ticks)"
  printf -v "$1_busy" %s "$busy"; printf -v "$1_all" %s "$all"; printf -v "$1_drops" %s "$(udp_drops)"
}

# start_uacs NAME RATE SECS BASEPORT [TARGET]: starts ceil(RATE/PER_UAC) SIPp
# callers (in the background) that together offer RATE calls/s for SECS
# seconds; their -stf CSVs are $work/NAME_<i>.csv and "$work/NAME.list" lists
# "csv calls pid" per process.
start_uacs() {
  local name=$1 rate=$2 secs=$3 port=$4 target=${5:-127.0.0.1:5080}
  local k=$(( (rate + PER_UAC - 1) / PER_UAC )) i r n
  [ "$k" -ge 1 ] || k=1
  [ "$k" -le 10 ] || { echo "rate $rate needs $k SIPp processes; at most 10 (raise PER_UAC)" >&2; exit 2; }
  : >"$work/$name.list"
  for ((i = 0; i < k; i++)); do
    r=$(( rate / k + (i < rate % k ? 1 : 0) ))
    n=$(( r * secs ))
    sipp -sf "$scen" "$target" -i 127.0.0.1 -p $((port + i)) -r "$r" -m "$n" -l "$n" -d "$CALL_MS" \
      -buff_size $BUF -nostdin -max_socket 65000 -timeout $((secs * 3 + 45))s \
      -trace_stat -stf "$work/${name}_$i.csv" -fd 1 >"$work/${name}_$i.log" 2>&1 &
    echo "$work/${name}_$i.csv $n $!" >>"$work/$name.list"
  done
}

# Cumulative OutgoingCall(C) in the last complete row of a -stf CSV.
created_of() {
  [ -f "$1" ] || { echo 0; return; }
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "OutgoingCall(C)") c = i; next }
             c && NF > c { v = $c } END { print v + 0 }' "$1"
}

# Returns once every caller of NAME has started all its calls (or exited).
wait_offered() {
  local name=$1 csv n pid busy
  while :; do
    busy=0
    while read -r csv n pid; do
      if kill -0 "$pid" 2>/dev/null && [ "$(created_of "$csv")" -lt "$n" ]; then busy=1; fi
    done <"$work/$name.list"
    [ "$busy" = 0 ] && return 0
    sleep 0.2
  done
}

wait_uacs() {
  local csv n pid
  while read -r csv n pid; do wait "$pid" 2>/dev/null || true; done <"$work/$1.list"
}

# Sums the callers' -stf CSVs of NAME; prints shell assignments (see the
# header for what each figure means).
summarize() {
  python3 - "$work/$1.list" <<'PY'
import csv, sys

def epoch(cell):
    # "2026-12-06<TAB>20:02:26.195369<TAB>1796587346.195369"
    return float(cell.split('\t')[-1])

tot = dict(target=0, created=0, successful=0, sipp_failed=0, retrans=0, timeouts=0,
           shed=0, completed=0, answered=0, unexpected=0)
w_offered = w_goodput = w_shed = 0.0
w_len = []
start, end = [], []
for line in open(sys.argv[1]):
    path, n, _pid = line.split()
    n = int(n)
    rows = [r for r in csv.reader(open(path), delimiter=';') if r]
    head, body = rows[0], [r for r in rows[1:] if len(r) >= len(rows[0]) - 1]
    col = lambda r, name: float(r[head.index(name)]) if name in head else 0.0
    last = body[-1]
    t0 = epoch(last[head.index('StartTime')])
    start.append(t0)
    end.append(epoch(last[head.index('CurrentTime')]))
    tot['target'] += n
    tot['created'] += int(col(last, 'OutgoingCall(C)'))
    tot['successful'] += int(col(last, 'SuccessfulCall(C)'))
    tot['sipp_failed'] += int(col(last, 'FailedCall(C)'))
    tot['retrans'] += int(col(last, 'Retransmissions(C)'))
    tot['timeouts'] += int(col(last, 'FailedMaxUDPRetrans(C)'))
    tot['unexpected'] += int(col(last, 'FailedUnexpectedMessage(C)'))
    tot['shed'] += int(col(last, 'shed503(C)'))
    tot['completed'] += int(col(last, 'completed(C)'))
    tot['answered'] += int(col(last, 'answered(C)'))
    # Offering window: the last row written while calls were still being
    # started (fall back to the first row that has them all).
    offering = [r for r in body if col(r, 'OutgoingCall(C)') < n and epoch(r[head.index('CurrentTime')]) - t0 > 0.5]
    if offering:
        w = offering[-1]
    else:
        w = next((r for r in body if col(r, 'OutgoingCall(C)') >= n), last)
    dt = max(epoch(w[head.index('CurrentTime')]) - t0, 1e-3)
    w_len.append(dt)
    w_offered += col(w, 'OutgoingCall(C)') / dt
    w_goodput += col(w, 'completed(C)') / dt
    w_shed += col(w, 'shed503(C)') / dt

wall = max(end) - min(start)
failed = tot['created'] - tot['successful']  # failed or never finished
for k, v in tot.items():
    print(f"{k}={v}")
print(f"failed={failed}")
print(f"procs={len(start)}")
print(f"window_s={min(w_len):.1f}")
print(f"offered={w_offered:.0f}")
print(f"goodput={w_goodput:.0f}")
print(f"shed_rate={w_shed:.0f}")
print(f"wall_s={wall:.1f}")
print(f"goodput_all={tot['completed'] / wall if wall > 0 else 0:.0f}")
PY
}

fmt='%-9s %7s %8s %8s %9s %8s %8s %7s %8s %9s %8s %6s %8s %6s\n'
header() { printf "$fmt" step target offered goodput completed 503 failed retrans timeouts udp_drops window_s cpu% machine% rss; }

# step NAME RATE SECS PORT [TARGET]: offers RATE for SECS seconds (callers
# from base port PORT, to the switch unless TARGET), waits for all its calls
# and prints its row. Leaves the step's figures in s_* variables.
step() {
  local name=$1 rate=$2 secs=$3 port=$4 target=${5:-127.0.0.1:5080}
  snap a; start_uacs "$name" "$rate" "$secs" "$port" "$target"
  wait_offered "$name"; snap b
  wait_uacs "$name"; snap c
  report "$name" "$rate" a b c
}

# report NAME RATE A B C: sums the step's CSVs into s_* variables and prints
# its row; A and B are the snaps (see snap) at the start and at the end of
# the offering window (CPU figures), C the snap once its callers exited (UDP
# drops from A to C).
report() {
  local name=$1 rate=$2 a=$3 b=$4 c=$5 out
  local c0=${a}_cpu c1=${b}_cpu t0=${a}_t t1=${b}_t b0=${a}_busy b1=${b}_busy a0=${a}_all a1=${b}_all d0=${a}_drops d1=${c}_drops
  out=$(summarize "$name")
  eval "$(sed 's/^/s_/' <<<"$out")"
  s_cpu=$(python3 -c "print(round(100*(${!c1}-${!c0})/$hz/(${!t1}-${!t0}),1))")
  s_machine=$(python3 -c "a=${!a1}-${!a0}; print(round(100*(${!b1}-${!b0})/a,1) if a else 0)")
  s_drops=$(( ${!d1} - ${!d0} ))
  s_rss=$(rss_mib); s_hwm=$(hwm_mib)
  printf "$fmt" "$name" "$rate" "$s_offered" "$s_goodput" "$s_completed" "$s_shed" "$s_failed" \
    "$s_retrans" "$s_timeouts" "$s_drops" "$s_window_s" "$s_cpu" "$s_machine" "$s_rss"
}

if [ "$mode" = selftest ]; then
  sipp -sf "$root/benches/load/uas_shed.xml" -i 127.0.0.1 -p 5090 -buff_size $BUF -nostdin -max_socket 65000 \
    -trace_stat -stf "$work/uas.csv" -fd 1 >"$work/uas.log" 2>&1 &
  sleep 1
  rate=${SELFTEST_RATE:-500}; secs=${SELFTEST_S:-5}
  header
  step selftest "$rate" "$secs" 5070 127.0.0.1:5090
  sleep 1.5  # the stand-in's last statistics row
  read -r ack_ok ack_bad < <(python3 - "$work/uas.csv" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1]), delimiter=';') if r]
head, last = rows[0], rows[-1]
print(last[head.index('ack_ok(C)')], last[head.index('ack_bad(C)')])
PY
)
  ok=1
  [ "$s_created" = "$s_target" ] || ok=0
  [ "$s_failed" = 0 ] && [ "$s_sipp_failed" = 0 ] || ok=0
  [ "$s_shed" -gt 0 ] && [ "$s_completed" -gt 0 ] || ok=0
  [ $((s_shed + s_completed)) = "$s_created" ] || ok=0
  [ "$ack_ok" = "$s_shed" ] && [ "$ack_bad" = 0 ] || ok=0
  echo "RESULT: selftest $([ $ok = 1 ] && echo PASS || echo FAIL): $s_created calls, $s_completed completed, $s_shed answered 503 and ACKed ($ack_ok ACKs matched the INVITE's branch and the 503's To tag, $ack_bad did not), $s_failed failed"
  [ $ok = 1 ]
  exit
fi

(cd "$root" && cargo build --release --quiet)
bin=${CARGO_TARGET_DIR:-$root/target}/release/switchboard

"$bin" run --config "$root/sip-profiles/loadtest" --data-dir "$work/data" \
  --sip-listen internal=127.0.0.1:15060 >"$work/switch.log" 2>&1 &
sw_pid=$!
if [ "$UAS" = builtin ]; then uas_scen=(-sn uas); else uas_scen=(-sf "$root/benches/load/uas_overload.xml"); fi
sipp "${uas_scen[@]}" -i 127.0.0.1 -p 5090 -buff_size $BUF -nostdin -max_socket 65000 \
  >"$work/uas.log" 2>&1 &
sleep 1
kill -0 "$sw_pid" || { cat "$work/switch.log"; exit 1; }

header
held_how="given"
if [ -z "$HELD" ]; then
  held_how="measured, ${HOLD} s steps"
  HELD=0
  for rate in $RATES; do
    step "s$rate" "$rate" "$HOLD" 5070
    if [ "$s_created" = "$s_target" ] && [ "$s_failed" = 0 ] && [ "$s_retrans" = 0 ] &&
       [ "$s_timeouts" = 0 ] && [ "$s_shed" = 0 ] && [ "$s_offered" -ge $((rate * 95 / 100)) ]; then
      HELD=$rate
    else
      break
    fi
    sleep 2
  done
  [ "$HELD" -gt 0 ] || { echo "RESULT: FAIL: no step of RATES held (no held rate to overload)"; exit 1; }
  sleep 2
fi

over=$((2 * HELD)); half=$((HELD / 2))

# (b) overload, then (c) recovery as soon as the overload's offer ends.
# The overload's tail (its last calls) overlaps the recovery run, so the
# overload's UDP drops are counted until its callers exit and include those
# of the recovery's first seconds.
snap oa; start_uacs overload "$over" "$OVER_S" 5070
wait_offered overload; snap ob
start_uacs recovery "$half" "$RECOVER_S" 5100
wait_uacs overload; snap oc
report overload "$over" oa ob oc
o_offered=$s_offered; o_goodput=$s_goodput; o_shed=$s_shed; o_failed=$s_failed; o_retrans=$s_retrans
o_timeouts=$s_timeouts; o_cpu=$s_cpu; o_machine=$s_machine; o_rss=$s_rss; o_hwm=$s_hwm; o_procs=$s_procs
o_completed=$s_completed; o_wall=$s_wall_s; o_all=$s_goodput_all; o_window=$s_window_s; o_unexp=$s_unexpected
o_drops=$s_drops
wait_offered recovery; snap rb
wait_uacs recovery; snap rc
report recovery "$half" ob rb rc

pct=$(python3 -c "print(round(100*$o_goodput/$HELD,1))")
pct_all=$(python3 -c "print(round(100*$o_all/$HELD,1))")
rec_bad=$((s_failed + s_shed + s_timeouts))
verdict=PASS
python3 -c "import sys; sys.exit(0 if $o_goodput >= 0.9*$HELD else 1)" || verdict=FAIL
[ "$rec_bad" = 0 ] && [ "$s_created" = "$s_target" ] || verdict=FAIL
# A generator that fell short of 2H would flatter the switch.
if [ "$verdict" = PASS ] && [ "$o_offered" -lt $((over * 95 / 100)) ]; then verdict=INCONCLUSIVE; fi
echo "overload detail: ${o_procs} SIPp callers; whole step ${o_completed} completed in ${o_wall} s; ${o_unexp} calls failed on an unexpected response; ${o_drops} datagrams to the switch's 5080 dropped by the kernel (receive buffer full); switch CPU ${o_cpu}% of one core (machine ${o_machine}% busy), RSS ${o_rss} MiB (peak ${o_hwm} MiB)"
echo "RESULT: ${verdict}: held rate H ${HELD} calls/s (${held_how}); offered at 2H=${over}: ${o_offered} calls/s; goodput ${o_goodput} calls/s = ${pct} % of H over the ${o_window} s offering window (needs >= 90 %; whole step with its tail: ${o_all} calls/s = ${pct_all} %); 503s answered ${o_shed}; overload failed calls ${o_failed}, retransmissions ${o_retrans}, timeouts ${o_timeouts}; recovery at H/2=${half} for ${RECOVER_S} s: ${s_failed} failed, ${s_shed} 503s, ${s_timeouts} timeouts, ${s_retrans} retransmissions"
case "$verdict" in PASS) exit 0 ;; INCONCLUSIVE) echo "the callers offered under 95 % of 2H: lower PER_UAC to spread the offer over more SIPp processes, or free the cores" >&2; exit 3 ;; *) exit 1 ;; esac
