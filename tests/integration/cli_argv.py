#!/usr/bin/env python3
"""portierctl against 1000 generated command lines (seeded, so every run tries the same ones).

The commands come from portierctl's own table (--list-commands). Three kinds of vectors:
  bad    a real command with one mistake made on purpose (unknown word or option, a missing value or argument, a
         number out of range, negative, huge or not a number, a wrong choice, an empty or too long text, a 4-field
         cron, an extra word): must be exit 2 with a usage line, and nothing opened;
  good   a real command with valid values, options in odd places, against devices that cannot be reached
         (a closed port on 127.0.0.1, a serial port that does not exist, a site whose devices are both): exit 3
         for the device families, 0, 1 or 3 for the site, never 2;
  noise  words drawn from everything above and worse (non-ASCII, invalid UTF-8, empty, 5000 bytes, options
         without their values, unknown verbs) in random order: any documented status, never a signal, and every
         exit 2 with a usage line (but a refusal of a right command line, for the role or --readonly, and bad
         data in a file, which have none).
Nothing outside loopback is contacted: after `c3` always comes 127.0.0.1:<closed port>, after `nix1` a path that
does not exist, and no word is a host name in a place where one would be resolved. Every run must end by itself
(a run still going after 30 s is killed and counted as a failure).

usage: cli_argv.py PORTIERCTL WORKDIR CLOSED_PORT SITE_CONF [COUNT]
"""
import json
import os
import re
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

CTL, WORK, PORT, CONF = sys.argv[1:5]
COUNT = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
rng = random.Random(20261206)

rows = [json.loads(l) for l in subprocess.run([CTL, "--list-commands"], capture_output=True, check=True,
                                              text=True).stdout.splitlines()]
glob = [r for r in rows if r["type"] == "global"][0]["opts"]
fams = {r["family"]: r for r in rows if r["type"] == "family"}
# commands without a target (c3 discover) broadcast on the local network: never run here
cmds = [r for r in rows if r["type"] == "command" and not r.get("targetless")]
first_words = {c["argv"][0] for c in cmds}
NEVER = {r["argv"][0] for r in rows if r["type"] == "command" and r.get("targetless")} | {"c3", "nix1"}

C3 = ["c3", "127.0.0.1:%s" % PORT, "--timeout", "300"]
NIX1 = ["nix1", os.path.join(WORK, "no-such-port"), "--slave", "270100000000006B"]
SITE = ["-c", CONF]
LOCAL_FILE = "A"  # exists in WORK, the cwd of every run

# real names of the site for arguments a sample cannot guess
SITE_NAME = {"door-open": "Main entrance", "door-close": "Main entrance", "door-hold": "Main entrance",
             "door-release": "Main entrance", "door-timed-open": "Main entrance", "normal-open-on": "Back door",
             "normal-open-off": "Back door", "aux-on": "Siren", "aux-off": "Siren", "lockout-on": "Lab",
             "lockout-off": "Lab", "cancel-alarm": "Panel A", "panel-data-get": "Panel A", "panel-data": "Panel A"}


def head(c):
    return C3 if c["family"] == "c3" else NIX1 if c["family"] == "nix1" else SITE


def sample(c):
    """The row's sample words, with real names where the site needs them."""
    words = list(c["argv"])
    if c["family"] is None:
        if c["action"] in SITE_NAME:
            words = [SITE_NAME[c["action"]] if w == "A" else w for w in words]
        if c["command"] == "check-config":
            words = ["check-config", CONF]
    return words


def positions(c):
    """Where each argument sits in the sample words (index of its first word), and how many words it takes."""
    out, i = [], 0
    words = c["argv"]
    syntax = c["syntax"].split()
    for tok in syntax:
        if tok[0].isupper() or tok.startswith("[") or "|" in tok:
            arg = [a for a in c["args"] if a["name"] == tok.strip("[]").rstrip(".")]
            a = arg[0] if arg else {"type": "choice", "choices": tok, "optional": False, "rest": False}
            n = 5 if a.get("rest") and a["type"] == "cron" else 1
            out.append((i, n, a))
            i += n
        else:
            i += 1
    assert i <= len(words), (c["syntax"], words)  # options may follow (rows listed with an option)
    return out


VALUED = {"--" + o["name"] for o in glob if o["type"] != "flag"} | \
         {"--" + o["name"] for c in cmds for o in c["opts"] if o["type"] != "flag"} | \
         {"--" + o["name"] for f in fams.values() for o in f["opts"] if o["type"] != "flag"}


def odd_places(words, extra, after=1):
    """Insert the extra options at random places after the first `after` words (never between an option and
    its value)."""
    words = list(words)
    for o in extra:
        cuts = [i for i in range(after, len(words) + 1) if i == 0 or words[i - 1] not in VALUED]
        at = rng.choice(cuts) if cuts else len(words)
        words[at:at] = o
    return words


NOT_NUMBERS = ["-5", "-0", "99999999999999999999999", "18446744073709551616", "1e3", "0x10", "x", " 5", "5 ", "+5",
               "5x", "\u0665", "\uff15", "NaN", "", "-"]


def bad_uint(a):
    cands = list(NOT_NUMBERS) + [str(a["max"] + 1), str(a["max"] * 10 + 7)]
    if a["min"] > 0:
        cands.append(str(a["min"] - 1))
    return rng.choice(cands)


def bad_vector():
    c = rng.choice(cmds)
    words = sample(c)
    h = head(c)
    kind = rng.randrange(10)
    pos = positions(c)
    typed = [(i, n, a) for (i, n, a) in pos if a["type"] in ("uint", "choice", "cron", "text") and not
             (a["type"] == "text" and not a.get("max_len"))]
    if kind == 0 or (kind == 1 and not typed):
        junk = rng.choice(["frobnicate", "\u00e9t\u00e9", "x" * 300, "", "DOOR", "--", "restart-all", "\u2603"])
        if junk in first_words or junk == "--":
            junk = "zz" + junk
        words = [junk] + words[1:]
        why = "unknown command"
    elif kind == 1:
        i, n, a = rng.choice(typed)
        if a["type"] == "uint":
            v = bad_uint(a)
        elif a["type"] == "choice":
            v = rng.choice(["maybe", "ON", "2", "", "o", "\u00f6ff"])
        elif a["type"] == "cron":
            v = rng.choice(["* * * *", "61 * * * *", "* 24 * * *", "a b c d e"])
        else:
            v = rng.choice(["", "y" * (a["max_len"] + 1)])
        words[i:i + n] = v.split(" ") if a["type"] == "cron" and v.strip() else [v]
        why = "bad value of " + a.get("name", "?")
    elif kind == 2:
        opt = "--zz" + "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 8)))
        words = odd_places(words, [[opt]])
        why = "unknown option"
    elif kind == 3:
        valued = [o for o in c["opts"] + glob if o["type"] != "flag" and not o.get("hidden")]
        o = rng.choice(valued)
        words = words + ["--" + o["name"]]
        why = "missing value"
    elif kind == 4:
        req = [(i, n, a) for (i, n, a) in pos if not a.get("optional")]
        if not req:
            return bad_vector()
        i, n, a = rng.choice(req)
        words = words[:i]
        why = "missing argument"
    elif kind == 5:
        if any(a.get("optional") or a.get("rest") for a in c["args"]):
            return bad_vector()
        words = words + [rng.choice(["extra", "zz-1", "\u00e9"])]
        why = "extra word"
    elif kind == 6:
        opts = [o for o in c["opts"] if o["type"] in ("uint", "choice", "time")]
        if not opts:
            return bad_vector()
        o = rng.choice(opts)
        v = bad_uint(o) if o["type"] == "uint" else rng.choice(["25:00", "2025-02-29", "-5", "yesterdayx", ""]) \
            if o["type"] == "time" else rng.choice(["zz", "", "\u00e9"])
        words = odd_places(words, [["--" + o["name"], v]])
        why = "bad option value"
    elif kind == 7:
        if rng.random() < 0.5:
            h = ["--timeout", rng.choice(["0", "-5", "x", "99999999999", ""])] + h
        else:
            words = words + [rng.choice(["-c", "--config", "--timeout"])]
        why = "bad global option"
    elif kind == 8 and c["family"]:
        f = fams[c["family"]]
        opts = [o for o in f["opts"] if o["type"] in ("uint", "choice", "custom") and o["name"] != "slave"]
        o = rng.choice(opts)
        v = rng.choice(["zz", "-1", "", "99999999999999999999", "\u00e9"])
        words = odd_places(words, [["--" + o["name"], v]])
        why = "bad family option"
    else:
        if any(a.get("optional") or a.get("rest") for a in c["args"]):
            return bad_vector()
        words = odd_places(words, [["--json"], ["-v"]]) + [rng.choice(["-5x", "--", "-"])] + ["zz-extra"]
        why = "extra words"
    return ("bad", h + words, why)


def good_vector():
    c = rng.choice(cmds)
    words = sample(c)
    extra = [["--json"]] if rng.random() < 0.5 else []
    if rng.random() < 0.5:
        extra.append(["-v"])
    if not c["changes"] and rng.random() < 0.3:
        extra.append(["--readonly"])
    words = odd_places(words, extra)
    # a command that only portierd serves is refused (2) or cannot reach it (3): no portierd runs here; a site
    # command for technicians is denied to the configuration's operator (2)
    want = ({3} if c["family"] else {2, 3} if c.get("daemon") else {2} if c.get("role") == "technician"
            else {0, 1, 3})
    if c["family"] == "c3" and c["command"] == "events" and "--follow" not in words and rng.random() < 0.5:
        words.append("--follow")
    return ("good", head(c) + words, want)


def noise_word():
    pool = ([c["argv"][0] for c in cmds] + [w for c in cmds for w in c["argv"]] +
            ["--" + o["name"] for c in cmds for o in c["opts"]] + ["--" + o["name"] for o in glob] +
            ["--" + o["name"] for f in fams.values() for o in f["opts"]] +
            ["-v", "-h", "-c", "-f", "--", "-", "", "0", "-1", "4294967296", "99999999999999999999999999",
             "1.5", "\u00e9", "\u2603\u2603", "\udcff\udcfe", "x" * 5000, "on", "off", "get", "set", "yesterday",
             "25:00", "* * * * *", "270100000000006B", "27FFFFFFFFFFFF4E", CONF, "/nonexistent", os.path.join(WORK, "A")])
    w = rng.choice(pool)
    return w


def noise_vector():
    n = rng.randint(0, 12)
    words = [noise_word() for _ in range(n)]
    # never a family word where a target would follow (a host name there would be resolved), nor a command that
    # broadcasts on the local network
    words = [w if w not in NEVER else "zz-" + w for w in words]
    # a timeout option takes a small value here (a well-formed command must not wait for long)
    for i, w in enumerate(words):
        if w == "--timeout" and i + 1 < len(words):
            words[i + 1] = rng.choice(["200", "0", "x", "-3"])
    r = rng.random()
    if r < 0.3:
        words = C3 + words
    elif r < 0.6:
        words = NIX1 + words
    elif r < 0.75:
        words = SITE + words
    return ("noise", words, None)


def make():
    vectors = []
    for i in range(COUNT):
        r = rng.random()
        vectors.append(bad_vector() if r < 0.45 else good_vector() if r < 0.7 else noise_vector())
    return vectors


def enc(w):
    return w.encode("utf-8", "surrogateescape")


STATUS = {}


def run(v):
    kind, argv, want = v
    try:
        p = subprocess.run([enc(CTL)] + [enc(w) for w in argv], cwd=WORK, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "did not end within 30 s"
    rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
    STATUS[(kind, rc)] = STATUS.get((kind, rc), 0) + 1
    if rc < 0:
        return "killed by signal %d\n%s" % (-rc, err[-2000:])
    if rc not in (0, 1, 2, 3):
        return "exit %d (not a documented status)\n%s" % (rc, err[-2000:])
    # bad data in a file named on a right command line (a CSV that does not parse, a refused row) is exit 2 with
    # its file, line and what is wrong, and no usage line
    data = re.fullmatch(r"portierctl( c3)?: [^\n]+: line [0-9]+: [^\n]+\n", err) is not None
    # so is a refusal of a right command line: the caller's role, --readonly
    refusal = re.search(r"^portierctl[^\n]*: ([^\n]+ needs the [a-z]+ role; [^\n]+ is [a-z]+|--readonly: [^\n]+"
                        r" changes state: refused, nothing was opened or sent)$", err, re.M) is not None
    if refusal and "\nusage: portierctl" in "\n" + err:
        return "a refusal (the command line was right) with a usage line\n%s" % err[-2000:]
    if rc == 2 and "\nusage: portierctl" not in "\n" + err and not data and not refusal:
        return "exit 2 without a usage line\n%s" % err[-2000:]
    if data and kind == "bad":
        return "a command with a mistake (%s) was taken for bad data in a file\n%s" % (want, err[-2000:])
    if rc != 0 and not err.strip() and not p.stdout.strip():
        return "exit %d without a word of why" % rc  # site actions report per door on stdout
    if kind == "bad" and rc != 2:
        return "a command with a mistake (%s) ended with %d instead of 2\n%s" % (want, rc, err[-2000:])
    if kind == "bad" and ">>" in err:
        return "a command with a mistake sent something"
    if kind == "good" and rc not in want:
        return "a well-formed command ended with %d, want %s\n%s%s" % (rc, sorted(want),
                                                                       p.stdout.decode("utf-8", "replace")[-500:],
                                                                       err[-2000:])
    return None


def main():
    vectors = make()
    failures = 0
    counts = {"bad": 0, "good": 0, "noise": 0}
    with ThreadPoolExecutor(max_workers=int(os.environ.get("CLI_ARGV_JOBS", "4"))) as ex:
        for v, res in zip(vectors, ex.map(run, vectors)):
            counts[v[0]] += 1
            if res:
                failures += 1
                if failures <= 10:
                    print("FAIL [%s] %r\n  %s" % (v[0], v[1][:20], res.replace("\n", "\n  ")), file=sys.stderr)
    print("ok: %d vectors (%d with a mistake, %d well-formed, %d noise), %d failures" %
          (len(vectors), counts["bad"], counts["good"], counts["noise"], failures))
    print("exit statuses: " + ", ".join("%s %d: %d" % (k, rc, n) for (k, rc), n in sorted(STATUS.items())))
    sys.exit(1 if failures else 0)


main()
