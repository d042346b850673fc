#!/usr/bin/env python3
"""Serves every case of tests/corpus/*.toml live, each on its own loopback address and its
service's usual port, then scans them all with portprobe and with nmap -sV and scores both the
way tests/it/corpus.rs does (product and version recall, wrong claims).

Run inside a network namespace of its own (benches/corpus_live.sh does that): it binds
127.0.x.y addresses of the namespace's loopback and nothing else.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = {"ssh": 22, "ftp": 21, "smtp": 25, "pop3": 110, "imap": 143, "http": 80}


def unescape(text):
    """The escapes of portprobe's TOML strings: \\r \\n \\t \\0 \\\\ \\xNN."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            n = chr(raw[i + 1])
            if n == "x":
                out.append(int(raw[i + 2 : i + 4], 16))
                i += 4
                continue
            out.extend({"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}.get(n, b"\\" + n.encode()))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def cases():
    out = []
    for name in sorted(os.listdir(os.path.join(ROOT, "tests/corpus"))):
        if name.endswith(".toml"):
            with open(os.path.join(ROOT, "tests/corpus", name), "rb") as f:
                out.extend(tomllib.load(f)["case"])
    for i, case in enumerate(out):
        case["addr"] = f"127.0.{1 + i // 250}.{1 + i % 250}"
        case["port"] = PORTS[case["service"]]
        case["bytes"] = unescape(case["response"])
    return out


async def serve(case):
    async def handle(reader, writer):
        try:
            if case["probe"] == "http-get":
                await asyncio.wait_for(reader.read(4096), 10)
                writer.write(case["bytes"])
                await writer.drain()
            else:
                writer.write(case["bytes"])
                await writer.drain()
                await asyncio.wait_for(reader.read(4096), 10)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, case["addr"], case["port"])


FILLER = set(
    "server service daemon http httpd https web ftp ftpd smtp smtpd mail pop3 pop3d imap imapd imap4 ssh sshd the for and microsoft apache gnu linux".split()
)


def norm(s):
    return re.sub(r"[^a-z0-9]", "", (s or "").lower())


def words(s):
    return {w for w in re.split(r"[^a-z0-9]+", (s or "").lower()) if len(w) >= 3 and w not in FILLER}


def same_product(got, want, aliases):
    g = norm(got)
    if len(g) < 2:
        return False
    for w in [want] + aliases:
        n = norm(w)
        if len(n) >= 2 and (g == n or n in g or g in n or words(got) & words(w)):
            return True
    return False


def same_version(got, want):
    g, w = got.strip().lower(), want.strip().lower()
    if g == w:
        return True
    for a, b in ((g, w), (w, g)):
        if a.startswith(b) and not a[len(b)].isdigit():
            return True
    return False


def score(name, answers, all_cases, seconds):
    t = dict(cases=0, with_product=0, product=0, with_version=0, version=0, claims=0, wrong=0)
    wrong = []
    for case in all_cases:
        got_p, got_v = answers.get((case["addr"], case["port"]), (None, None))
        t["cases"] += 1
        t["with_product"] += bool(case["product"])
        t["with_version"] += bool(case["version"])
        if got_p:
            t["claims"] += 1
            right = bool(case["product"]) and same_product(got_p, case["product"], case.get("aliases", []))
            vwrong = bool(got_v and case["version"] and not same_version(got_v, case["version"]))
            t["product"] += right
            if not right or vwrong:
                t["wrong"] += 1
                wrong.append(f"{case['response'][:70]!r} -> {got_p!r} {got_v!r} (want {case['product']!r} {case['version']!r})")
            if right and got_v and case["version"] and same_version(got_v, case["version"]):
                t["version"] += 1
    pct = lambda a, b: 100.0 * a / b if b else 100.0
    print(
        f"{name:<10} product {t['product']}/{t['with_product']} ({pct(t['product'], t['with_product']):.1f} %), "
        f"version {t['version']}/{t['with_version']} ({pct(t['version'], t['with_version']):.1f} %), "
        f"wrong {t['wrong']} of {t['claims']} claims ({pct(t['wrong'], t['claims']):.1f} %), {seconds:.1f} s"
    )
    return wrong


def run_portprobe(all_cases, portprobe):
    targets = "\n".join(f"{c['addr']}:{c['port']}" for c in all_cases) + "\n"
    start = time.time()
    out = subprocess.run([portprobe, "scan", "-", "--json"], input=targets.encode(), capture_output=True, check=False)
    seconds = time.time() - start
    answers = {}
    for line in out.stdout.decode().splitlines():
        v = json.loads(line)
        s = v.get("service", {})
        answers[(v["ip"], v["port"])] = (s.get("product"), s.get("version"))
    return answers, seconds


def run_nmap(all_cases):
    ports = ",".join(str(p) for p in sorted(set(PORTS.values())))
    start = time.time()
    out = subprocess.run(
        ["nmap", "-sV", "-Pn", "-n", "-T4", "-p", ports, "-oX", "-"] + [c["addr"] for c in all_cases],
        capture_output=True,
        check=False,
    )
    seconds = time.time() - start
    answers = {}
    for host in ET.fromstring(out.stdout).iter("host"):
        addr = host.find("address").get("addr")
        for port in host.iter("port"):
            svc = port.find("service")
            if port.find("state").get("state") == "open" and svc is not None:
                answers[(addr, int(port.get("portid")))] = (svc.get("product"), svc.get("version"))
    return answers, seconds


async def main():
    portprobe = sys.argv[1]
    all_cases = cases()
    servers = [await serve(c) for c in all_cases]
    print(f"{len(all_cases)} real-world responses served live on {len(servers)} loopback addresses")
    loop = asyncio.get_running_loop()
    answers, seconds = await loop.run_in_executor(None, run_portprobe, all_cases, portprobe)
    wrong = score("portprobe", answers, all_cases, seconds)
    if "--no-nmap" not in sys.argv:
        answers, seconds = await loop.run_in_executor(None, run_nmap, all_cases)
        nmap_wrong = score("nmap -sV", answers, all_cases, seconds)
        if "-v" in sys.argv:
            for w in nmap_wrong:
                print("nmap wrong:", w)
    for w in wrong:
        print("portprobe wrong:", w)


asyncio.run(main())
