#!/usr/bin/env python3
"""An emergency with a panel that cannot be reached, through portierd: each failed door travels as one
{door, reason} (failed_doors), whole, though its reason holds "; " ("...Connection refused; unlocks when the panel is
back"); failures keeps one "door: reason" per door for older clients; portierctl status (a client of the daemon)
names every failed door, those with one reason together, and the reason once."""
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portierd_lib import Daemon, Site, cleanup, ctl, fail, ok, tmpdir, wait_until  # noqa: E402

PANEL_A_DOORS = ["Main entrance", "Back door", "Garage", "Store room"]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_json(sock):
    rc, out, err = ctl("--json", "status", sock=sock)
    if rc not in (0, 3) or not out:  # 3: a device is down (Panel A is)
        fail("status --json: exit %d: %s" % (rc, err))
    rows = [json.loads(line) for line in out.splitlines()]
    site = [r for r in rows if "emergency" in r and "site" in r]
    if len(site) != 1:
        fail("status --json: no site row: %r" % out)
    return site[0], {r["device"]: r for r in rows if "link" in r}


def main():
    tmp = tmpdir("daemon-emergency-failed")
    parts = []
    try:
        site = Site(tmp)
        parts.append(site)
        with open(site.config) as f:
            text = f.read()
        # Panel A at a port nobody listens on: its connects are refused
        text, n = re.subn(r"(\bport = )\d+;", r"\g<1>%d;" % closed_port(), text, count=1)
        if n != 1:
            fail("no panel port in %s" % site.config)
        conf = os.path.join(tmp, "refused.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o600)
        daemon = Daemon(tmp, conf)
        parts.append(daemon)

        def others_up():
            s, devs = status_json(daemon.sock)
            return devs.get("Panel B", {}).get("link") == "up" and devs.get("Bus 1", {}).get("link") == "up" and \
                "refused" in devs.get("Panel A", {}).get("detail", "")
        wait_until(others_up, 30, "Panel B and Bus 1 up, Panel A refused")

        ctl("emergency", "on", sock=daemon.sock)

        def failed_all():
            s, _ = status_json(daemon.sock)
            return len(s["emergency"].get("failed_doors", [])) == len(PANEL_A_DOORS)
        wait_until(failed_all, 30, "Panel A's doors failed")
        s, _ = status_json(daemon.sock)
        em = s["emergency"]
        doors = [d["door"] for d in em["failed_doors"]]
        reasons = {d["reason"] for d in em["failed_doors"]}
        if doors != PANEL_A_DOORS or len(reasons) != 1:
            fail("failed_doors: %s" % em)
        reason = reasons.pop()
        if "Connection refused; unlocks when" not in reason:
            fail("a failed door's reason is not whole: %r" % reason)
        if em["failures"] != ["%s: %s" % (d, reason) for d in PANEL_A_DOORS]:
            fail("failures (one \"door: reason\" per door): %s" % em["failures"])
        ok("status --json: Panel A's four doors in failed_doors, each with its whole reason (with \"; \"), and in "
           "failures one \"door: reason\" each")

        rc, out, err = ctl("status", sock=daemon.sock)
        want = "not yet: %s (%s)" % (", ".join(PANEL_A_DOORS), reason)
        if want not in out:
            fail("status text: %r not in %r" % (want, out))
        ok("portierctl status through portierd: the failed doors named together, the reason once and whole")
        ctl("emergency", "off", sock=daemon.sock)
    finally:
        cleanup(tmp, *reversed(parts))


if __name__ == "__main__":
    main()
