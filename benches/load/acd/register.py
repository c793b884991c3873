#!/usr/bin/env python3
"""Registers the agents' phones of benches/load/acd_load.sh.

Usage: register.py SWITCH_IP:PORT LOCAL_IP:PORT USERS_CSV

Sends one REGISTER per "extension;password" line of USERS_CSV from
LOCAL_IP:PORT (the agent UAS's address: the switch sends offers to a
binding's source address), answers the digest challenge (RFC 3261 22.4,
MD5, qop=auth as the switch offers it) and expects 200 OK. Exits 1 on any
failure. (SIPp 3.6's [authentication] keyword takes no injected field.)
"""
import hashlib
import re
import socket
import sys


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def main():
    rhost, rport = sys.argv[1].rsplit(":", 1)
    lhost, lport = sys.argv[2].rsplit(":", 1)
    users = [l.strip().split(";") for l in open(sys.argv[3]) if ";" in l]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((lhost, int(lport)))
    sock.settimeout(5)
    uri = f"sip:{rhost}:{rport}"

    def register(n, ext, cseq, auth):
        msg = (
            f"REGISTER {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {lhost}:{lport};branch=z9hG4bK-reg-{n}-{cseq}\r\n"
            f"From: <sip:{ext}@{rhost}>;tag=reg{n}\r\n"
            f"To: <sip:{ext}@{rhost}>\r\n"
            f"Call-ID: reg-{n}@{lhost}\r\n"
            f"CSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{ext}@{lhost}:{lport}>\r\n"
            f"{auth}Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(msg.encode(), (rhost, int(rport)))
        while True:
            data = sock.recv(65535).decode(errors="replace")
            if f"CSeq: {cseq} REGISTER" in data and f"reg-{n}@" in data:
                code = int(data.split(" ", 2)[1])
                if code >= 200:
                    return code, data

    for n, (ext, password) in enumerate(users):
        code, resp = register(n, ext, 1, "")
        if code != 401:
            sys.exit(f"REGISTER {ext}: expected 401, got {code}")
        chal = re.search(r"^WWW-Authenticate:\s*Digest\s+(.*)$", resp, re.M | re.I).group(1)
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
        realm, nonce = params["realm"], params["nonce"]
        ha1 = md5(f"{ext}:{realm}:{password}")
        ha2 = md5(f"REGISTER:{uri}")
        cnonce, nc = f"{n:08x}", "00000001"
        auth = f'Authorization: Digest username="{ext}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
        if "qop" in params:
            response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            auth += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            response = md5(f"{ha1}:{nonce}:{ha2}")
        auth += f', response="{response}"'
        if "opaque" in params:
            auth += f', opaque="{params["opaque"]}"'
        code, _ = register(n, ext, 2, auth + "\r\n")
        if code != 200:
            sys.exit(f"REGISTER {ext}: expected 200 after the challenge, got {code}")
    print(f"registered {len(users)} phones")


main()
