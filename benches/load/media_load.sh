#!/usr/bin/env bash
# Media load test (issue 3 item 10): holds CALLS relayed G.711 calls through
# the anchoring switch and reports packets forwarded, loss, and the switch's
# CPU per call.
#
#   examples/media_load (caller: UAC + one RTP socket for every caller)
#       --INVITE PCMU-->  switchboard (loadtest profile, [media] anchor = true, 127.0.0.1:5080)
#       --INVITE------->  examples/media_load (callee: UAS on 127.0.0.1:5090 + one RTP socket)
#   then 20 ms PCMU packets both ways for every call for HOLD_S seconds, then BYE.
#
# The generator sets the calls up at CPS calls/s, sends one 160-byte packet
# per call and direction every 20 ms tick (one paced sender thread per
# direction, batched per tick), checks every payload byte of what the switch
# forwards (each packet names its call and number), and reads the switch's
# CPU time from /proc/<pid>/stat at the start and the end of the hold (no
# signalling then: the figure is the relay's), with the receive-buffer drops
# of every socket involved (/proc/net/udp) to say where a loss happened.
# Targets on the 2-core machine: 1,000 concurrent relayed calls with loss
# under 0.1 %, CPU per relayed call under 0.1 % of a core. On loopback the
# kernel's delivery of a packet is charged to its sender: the switch's
# figure includes delivering what it relays into the generator's sockets.
#
# Usage: benches/load/media_load.sh            (options via env)
#   CALLS=1000  HOLD_S=30  CPS=200  SIP_PORT=5080  UAS_PORT=5090  API_PORT=18088
# Needs: a release build (built here; honours CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS). Everything runs on 127.0.0.1 and stops by itself. The
# last line is the summary (RESULT: ...).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
CALLS=${CALLS:-1000}
HOLD_S=${HOLD_S:-30}
CPS=${CPS:-200}
SIP_PORT=${SIP_PORT:-5080}
UAS_PORT=${UAS_PORT:-5090}
API_PORT=${API_PORT:-18088}
BUF=8388608
RTP_LO=16384
RTP_HI=$((RTP_LO + 4 * CALLS + 1023)) # RTP + RTCP on two legs per call, and spare
# shellcheck source=lib/anchored.sh
. "$root/benches/load/lib/anchored.sh"

raise_socket_buffers $BUF
build_switch_and media_load
anchored_config "$RTP_LO" "$RTP_HI" "$SIP_PORT"
sed -i -e "s/127\.0\.0\.1:5090/127.0.0.1:$UAS_PORT/" "$work/config/trunks.toml"
start_switch "$API_PORT"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
status=0
"$gen" --calls "$CALLS" --hold-s "$HOLD_S" --cps "$CPS" \
  --switch "127.0.0.1:$SIP_PORT" --uas "127.0.0.1:$UAS_PORT" \
  --switch-pid "$sw_pid" --clk-tck "$(getconf CLK_TCK)" | tee "$work/gen.log" || status=$?
switch_report "$work/gen.log"
exit "$status"
