#!/usr/bin/env bash
# Conference load test (issue 9): holds CONFS concurrent meet-me conferences
# of PARTIES G.711 parties on the switch's bridge and reports late frames,
# loss, whether each party hears the others, and the switch's CPU per party.
#
#   examples/conference_load (one UDP socket per party, one SIP socket)
#       --INVITE sip:7000+c, PCMU-->  switchboard (loadtest profile, 127.0.0.1:5080;
#                                     its dial plan makes 7000..7999 meet-me rooms of 8)
#   <--200 with the switch's port for the party; then 20 ms PCMU packets
#   both ways: each party sends its own tone (300 + 100 k Hz, -20 dBFS) and
#   gets back ONE stream, the mix of the others (mix-minus), from the bridge.
#
# The generator sets the parties up at CPS calls/s (room by room), lets the
# media run WARMUP_S unmeasured, then measures HOLD_S seconds:
# - loss: per party, the packets whose slot falls in the hold (expected) and
#   the distinct ones of them that arrived; summed over the parties.
# - late frame: a mixed packet that arrived (kernel receive timestamp,
#   SO_TIMESTAMPNS) more than 20 ms after its slot; packet s's slot is
#   base + 20 ms x (s - first seq), base being the stream's earliest arrival
#   once each packet's 20 ms steps are taken off. So a stream that stalls,
#   or whose clock falls behind, is late from then on.
# - mix: one received packet in 25 per party is decoded and each tone of
#   its room measured (an exact DFT bin): every other party up must be heard
#   at >= half its level, the party itself at < a tenth.
# - the switch's CPU (utime + stime of /proc/<pid>/stat, per thread too) at
#   the start and end of the hold, per party = total / parties up; its RSS at
#   the end of the hold; the receive-buffer drops (/proc/net/udp) of the
#   switch's party sockets and of the generator's.
# The generator is cheap on purpose (it shares the cores with the switch):
# one paced sender thread (each party's packet every 20 ms, from the party's
# own socket, spread over ten 2 ms phases), one receiver thread that sweeps
# every socket every 100 ms with recvmmsg, tone checks on a sample only. On
# loopback the kernel's delivery of a packet is charged to its sender: the
# switch's figure includes delivering the mixes into the generator's sockets.
# Target on the 2-core machine: 250 conferences (2,000 parties) with no late
# frame and loss under 0.1 %.
#
# Usage: benches/load/conference_load.sh       (options via env)
#   CONFS=250  PARTIES=8  HOLD_S=30  WARMUP_S=2  CPS=200  SIP_PORT=5080  API_PORT=18089
#   NICE=0   (e.g. NICE=-10: the switch and the generator run at that nice
#            level, ahead of compile jobs sharing the machine, as media
#            servers are usually run; needs root)
# Needs: a release build (built here; honours CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS), `ulimit -n` of at least CONFS x PARTIES + 256 for the
# generator (raised here to the hard limit). Everything runs on 127.0.0.1 and
# stops by itself. The last line is the summary (RESULT: ...).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
CONFS=${CONFS:-250}
PARTIES=${PARTIES:-8}
HOLD_S=${HOLD_S:-30}
WARMUP_S=${WARMUP_S:-2}
CPS=${CPS:-200}
SIP_PORT=${SIP_PORT:-5080}
API_PORT=${API_PORT:-18089}
NICE=${NICE:-0}
BUF=8388608
RTP_LO=16384
RTP_HI=$((RTP_LO + 4 * CONFS * PARTIES + 1023)) # RTP + RTCP per party, twice over, and spare
[ "$CONFS" -ge 1 ] && [ "$CONFS" -le 1000 ] || { echo "CONFS must be 1..1000 (rooms 7000..7999)" >&2; exit 2; }
# shellcheck source=lib/anchored.sh
. "$root/benches/load/lib/anchored.sh"

raise_socket_buffers $BUF
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
prio=()
[ "$NICE" = 0 ] || prio=(nice -n "$NICE")
build_switch_and conference_load
# Anchoring on, as a bridge needs the media through the switch.
anchored_config "$RTP_LO" "$RTP_HI" "$SIP_PORT"
grep -q 'action = "conference"' "$work/config/dialplan.toml" ||
  { echo "sip-profiles/loadtest/dialplan.toml has no meet-me rooms (action = \"conference\")" >&2; exit 2; }
start_switch "$API_PORT"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run; nice $NICE"
status=0
"${prio[@]}" "$gen" --confs "$CONFS" --parties "$PARTIES" --hold-s "$HOLD_S" --warmup-s "$WARMUP_S" --cps "$CPS" \
  --switch "127.0.0.1:$SIP_PORT" --switch-pid "$sw_pid" --clk-tck "$(getconf CLK_TCK)" | tee "$work/gen.log" || status=$?
switch_report "$work/gen.log"
exit "$status"
