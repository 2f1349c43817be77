#!/usr/bin/env python3
"""Validate portier's Home Assistant discovery messages against ha_discovery_schema.json (what the Home Assistant
documentation, cited in that file, says each entity type accepts), and that every topic they name is one the
bridge publishes (state) or reads (commands).
usage: ha_check.py SCHEMA DISCOVERY_DUMP RETAINED_DUMP BASE HA_USER EXPECT_COMMANDS(0|1)
Dumps are mosquitto_sub -F '%t %p' lines."""
import json, re, sys

schema = json.load(open(sys.argv[1]))
base, ha_user, expect_cmd = sys.argv[4], sys.argv[5], sys.argv[6] == "1"

def lines(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("Timed out"):
            continue
        topic, _, payload = line.partition(" ")
        out[topic] = payload
    return out

disc, retained = lines(sys.argv[2]), lines(sys.argv[3])
errors = []
def err(topic, msg):
    errors.append("%s: %s" % (topic, msg))

JSON_TYPES = {"string": str, "integer": int, "object": dict, "array": list, "null": type(None), "boolean": bool}
def type_ok(value, want):
    wants = want if isinstance(want, list) else [want]
    return any(isinstance(value, JSON_TYPES[w]) and not (w == "integer" and isinstance(value, bool)) for w in wants)

common = schema["common"]
seen = {c: 0 for c in schema["components"]}
unique_ids = set()
for topic, payload in sorted(disc.items()):
    m = re.match(schema["topic_pattern"], topic)
    if not m:
        err(topic, "not a discovery topic")
        continue
    comp = m.group(1)
    if payload == "":
        continue  # removal of an entity
    try:
        cfg = json.loads(payload)
    except ValueError as e:
        err(topic, "payload is not JSON: %s" % e)
        continue
    spec = schema["components"][comp]
    seen[comp] += 1
    allowed = set(common["optional"]) | set(spec["required"]) | set(spec["optional"])
    for k in spec["required"]:
        if k not in cfg:
            err(topic, "missing required %s" % k)
    for k in cfg:
        if k not in allowed:
            err(topic, "key %s is not documented for %s" % (k, comp))
    for k, want in common["types"].items():
        if k in cfg and not type_ok(cfg[k], want):
            err(topic, "%s must be %s" % (k, want))
    for enums in (common["enums"], spec.get("enums", {})):
        for k, values in enums.items():
            if k in cfg and cfg[k] not in values:
                err(topic, "%s = %r is not one of %s" % (k, cfg[k], values))
    uid = cfg.get("unique_id")
    if not uid:
        err(topic, "no unique_id (entities without one cannot be grouped into a device)")
    elif uid in unique_ids:
        err(topic, "duplicate unique_id %s" % uid)
    unique_ids.add(uid)
    dev = cfg.get("device", {})
    if not any(k in dev for k in common["device"]["one_of_required"]):
        err(topic, "device needs identifiers or connections")
    for k in dev:
        if k not in common["device"]["optional"]:
            err(topic, "device key %s is not documented" % k)
    for k in common["origin"]["required"]:
        if k not in cfg.get("origin", {k: 1}):
            err(topic, "origin needs %s" % k)
    for a in cfg.get("availability", []):
        if "topic" not in a:
            err(topic, "availability entry without topic")
        for k in a:
            if k not in common["availability_item"]["required"] + common["availability_item"]["optional"]:
                err(topic, "availability key %s is not documented" % k)
        if a.get("topic") not in retained:
            err(topic, "availability topic %s is not published (retained)" % a.get("topic"))
        elif retained[a["topic"]] not in (a.get("payload_available", "online"), a.get("payload_not_available", "offline")):
            err(topic, "availability topic %s holds %r" % (a["topic"], retained[a["topic"]]))
    if "event_types" in cfg and (not isinstance(cfg["event_types"], list) or not cfg["event_types"] or
                                 not all(isinstance(t, str) for t in cfg["event_types"])):
        err(topic, "event_types must be a non-empty list of strings")
    for k in ("state_topic", "command_topic", "json_attributes_topic"):
        t = cfg.get(k)
        if t is None:
            continue
        if "+" in t or "#" in t:
            err(topic, "%s has a wildcard" % k)
        if k == "command_topic" and not t.startswith("%s/cmd/%s/" % (base, ha_user)):
            err(topic, "command topic %s is not under %s/cmd/%s/" % (t, base, ha_user))
        if k in ("state_topic", "json_attributes_topic") and comp != "event" and t not in retained:
            err(topic, "%s %s is not published (retained)" % (k, t))
    # the state payload must match what the entity expects
    if comp in ("binary_sensor", "lock", "switch") and cfg.get("state_topic") in retained:
        state = json.loads(retained[cfg["state_topic"]])
        tmpl = cfg.get("value_template", "")
        mm = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", tmpl)
        if not mm:
            err(topic, "value_template %r is not a plain value_json field" % tmpl)
        else:
            v = state.get(mm.group(1))
            d = spec.get("defaults", {})
            if comp == "binary_sensor":
                ok = {cfg.get("payload_on", d["payload_on"]), cfg.get("payload_off", d["payload_off"]), "unknown"}
            elif comp == "lock":
                ok = {cfg.get("state_locked", d["state_locked"]), cfg.get("state_unlocked", d["state_unlocked"])}
            else:
                ok = {cfg.get("state_on", cfg.get("payload_on", d["payload_on"])),
                      cfg.get("state_off", cfg.get("payload_off", d["payload_off"]))}
            if v not in ok:
                err(topic, "state %s renders %r, expected one of %s" % (cfg["state_topic"], v, sorted(ok)))

if expect_cmd:
    for comp in ("lock", "switch", "button"):
        if not seen[comp]:
            err("-", "no %s entity although commands are enabled" % comp)
    if not any("/switch/" in t and t.endswith("/emergency/config") and disc[t] for t in disc):
        err("-", "no emergency switch although commands are enabled")
else:
    for t, p in disc.items():
        if p and re.search(r"/(lock|switch|button)/", t):
            err(t, "a command entity is advertised although commands are disabled")
for comp in ("binary_sensor", "event"):
    if not seen[comp]:
        err("-", "no %s entity" % comp)
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("ok: %d discovery messages (%s)" % (len(disc), ", ".join("%s %d" % kv for kv in sorted(seen.items()))))
