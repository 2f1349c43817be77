# Two consoles on one portierd, as two Unix users when run as root (root: technician; nobody with group dialout:
# operator, roles decided by the daemon), and portierctl beside them: a swipe shows once on both screens; an alarm
# acknowledged in one is acknowledged in the other; an emergency from portierctl shows in both with its counts and
# is restored from the second; an emergency from the second console shows in the first and is restored there; with
# a silent panel both follow the live counts while the daemon retries its doors until they confirm.
source "$(dirname "$0")/lib.sh"
: "${PORTIERD:?}" "${PORTIERCTL:?}"
live_site 3
two_users_site
"$PORTIER" --check-config "$TMP/site.conf" >/dev/null || fail "config: $("$PORTIER" --check-config "$TMP/site.conf" 2>&1)"
start_portierd
SESSION=a # the console a failure shows, unless a step names another
SESSION=a start 120x30 "$PORTIER" --socket "$PD_SOCK"
SESSION=b start 120x30 env -u XDG_CONFIG_HOME $AS_B "$PORTIER" --socket "$PD_SOCK"
SESSION=a wait_text 'connected to portierd .* as [^ ]+ \((technician)\)'
SESSION=b wait_text "connected to portierd .* as $WHO_B"
SESSION=a wait_up; SESSION=b wait_up
pass "two consoles connected, each with the role the daemon gave its user"

# swipes: each on both screens, once
cards="4242 4243 4244 4245 4246 4247 4248 4249 4250 4251 4252 4253"
for k in $cards; do c3 swipe door=1 card=$k granted=1; done
for t in a b; do
    SESSION=$t wait_text 'Panel A +Front .*card 4253' 20
    for k in $cards; do
        n=$(SESSION=$t screen_text | grep -c "card $k " || true)
        [ "$n" = 1 ] || SESSION=$t fail "console $t shows card $k $n times"
    done
done
pass "12 swipes show once each on both consoles"

# an alarm acknowledged in console a: acknowledged in console b
c3 force door=2
for t in a b; do SESSION=$t wait_text '[1-9] alarms?' 30; SESSION=$t keys 5; SESSION=$t wait_text 'Panel A +Back +door forced open'; done
SESSION=a keys F2
SESSION=a wait_text 'Alarm acknowledged'
SESSION=b wait_text 'alarm #[0-9]+ acknowledged by [^ ]+ \(another client\)' 15
sleep 1 # the door's own alarm (door status: opened) may follow the forced-open one
SESSION=a keys F4
for t in a b; do SESSION=$t wait_text 'No alarm waiting' 15; SESSION=$t wait_text ' 0 alarms'; done
pass "an alarm acknowledged in one console is acknowledged in the other"

# an emergency from portierctl: both consoles show it with its counts; restored from console b
ctl emergency on >/dev/null 2>&1 || fail "portierctl emergency on"
for t in a b; do
    SESSION=$t keys 1
    SESSION=$t wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 30
done
c3_status 'door1=[a-z]+,normalopen.*door2=[a-z]+,normalopen'
SESSION=b keys F11; SESSION=b wait_text 'End the emergency'; SESSION=b keys y
for t in a b; do SESSION=$t wait_gone 'EMERGENCY UNLOCK' 30; done
SESSION=b wait_text 'emergency-off site: done'
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
pass "an emergency from portierctl shows in both consoles with its counts; restored from the other console"

# an emergency from console b: console a shows it with its counts and restores it
SESSION=b keys F12
for t in a b; do SESSION=$t wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 30; done
ctl status 2>/dev/null | grep -qi 'emergency.*\(on\|active\)' || fail "portierctl status shows no emergency: $(ctl status 2>&1)"
SESSION=a keys F11; SESSION=a wait_text 'End the emergency'; SESSION=a keys y
for t in a b; do SESSION=$t wait_gone 'EMERGENCY UNLOCK' 30; done
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
ctl audit --limit 10 --csv | grep -q 'emergency-on' || fail "no emergency in the daemon's audit"
pass "an emergency from one console shows in the other, which restores it"

# live counts: with the panel silent only the bus's doors confirm; both consoles follow the daemon's counts while it
# retries the panel's doors, up to all four once the panel answers again
c3 fault mute
SESSION=a keys F12
for t in a b; do SESSION=$t wait_text 'EMERGENCY UNLOCK . 4 doors: 2 confirmed, [0-9] pending, [0-9] failed' 40; done
c3 fault none
for t in a b; do SESSION=$t wait_text 'EMERGENCY UNLOCK . 4 doors: 4 confirmed, 0 pending, 0 failed' 60; done
c3_status 'door1=[a-z]+,normalopen.*door2=[a-z]+,normalopen'
SESSION=b keys F11; SESSION=b wait_text 'End the emergency'; SESSION=b keys y
for t in a b; do SESSION=$t wait_gone 'EMERGENCY UNLOCK' 30; done
c3_status 'door1=[a-z]+,locked.*door2=[a-z]+,locked'
pass "live counts in both consoles while the daemon retries a silent panel's doors until they confirm"

for t in a b; do SESSION=$t keys q; SESSION=$t wait_text 'EXITED 0'; done
pass "both consoles quit"
