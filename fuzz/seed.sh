#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs from the repository's test
# vectors and configuration (the corpus directories are not committed; the
# seeds are, under tests/vectors/ and sip-profiles/). Safe to re-run: it
# only adds files. Usage: fuzz/seed.sh [corpus-dir]   (default fuzz/corpus)
#
#   datagram, stream  tests/vectors/rfc4475/*.dat, tests/vectors/rfc5118/*.dat
#   uri               the Request-URI of each of those messages
#   sdp               the body of each of those messages that carries SDP,
#                     and tests/vectors/sdp/*.sdp (SRTP offers)
#   rtp               tests/vectors/rtp/*.bin (packets and packet streams)
#   media             tests/vectors/rtp/stream-*.bin (packet streams)
#   rtcp              tests/vectors/rtcp/*.bin
#   rfc4733           tests/vectors/rfc4733/*.bin
#   toml              sip-profiles/**/*.toml and tests/vectors/config/*.toml,
#                     each behind the selector octet that makes the target
#                     load it in place of the embedded file of that name
#                     (tests/vectors/config/<file>--<what>.toml replaces <file>.toml)
#   api               tests/vectors/api/*.json
#   ws_frame          tests/vectors/ws/*.bin (frames carrying SIP, upgrade
#                     requests; each behind its selector octet)
#   webrtc            tests/vectors/webrtc/*.bin (STUN checks, a DTLS
#                     ClientHello, an exchange; each behind its selector octet)
#   prompt            media/prompts/beep.wav, media/prompts/no-input.wav
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
corpus=${1:-$fuzz/corpus}
vectors=$root/tests/vectors

put() { # put TARGET NAME  (contents on stdin)
    mkdir -p "$corpus/$1"
    cat > "$corpus/$1/$2"
}
copy() { # copy TARGET FILE...
    local t=$1 f
    shift
    mkdir -p "$corpus/$t"
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$corpus/$t/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}

sip=("$vectors"/rfc4475/*.dat "$vectors"/rfc5118/*.dat)
copy datagram "${sip[@]}"
copy stream "${sip[@]}"
for f in "${sip[@]}"; do
    name=$(basename "$f" .dat)
    head -n 1 "$f" | awk '{ printf "%s", $2 }' | put uri "$name"
    if grep -qi '^content-type: *application/sdp' "$f"; then
        awk 'body { print } /^\r?$/ { body = 1 }' "$f" | put sdp "$name"
    fi
done

copy sdp "$vectors"/sdp/*.sdp
copy rtp "$vectors"/rtp/*.bin
copy media "$vectors"/rtp/stream-*.bin
copy rtcp "$vectors"/rtcp/*.bin
copy rfc4733 "$vectors"/rfc4733/*.bin
copy api "$vectors"/api/*.json
copy ws_frame "$vectors"/ws/*.bin
copy webrtc "$vectors"/webrtc/*.bin
copy prompt "$root"/media/prompts/beep.wav "$root"/media/prompts/no-input.wav

# The selector octet of each embedded file (src/config/defaults.rs order).
selector() {
    case "$1" in
        switchboard.toml) echo 0 ;;
        internal.toml) echo 1 ;;
        external.toml) echo 2 ;;
        directory.toml) echo 3 ;;
        trunks.toml) echo 4 ;;
        dialplan.toml) echo 5 ;;
        acd.toml) echo 6 ;;
        entrypoints.toml) echo 7 ;;
        *) echo "" ;;
    esac
}
while IFS= read -r f; do
    base=$(basename "$f")
    target=${base%%--*}
    [ "$target" = "$base" ] || target=$target.toml
    s=$(selector "$target")
    [ -n "$s" ] || continue
    name=$(echo "${f#"$root"/}" | tr '/' '_')
    { printf "\\x$(printf '%02x' "$s")"; cat "$f"; } | put toml "$name"
done < <(find "$root/sip-profiles" "$vectors/config" -name '*.toml' | sort)

for d in "$corpus"/*/; do
    printf '%-10s %4d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
