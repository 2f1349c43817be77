# Every door action against live simulators, each with its result in place and the panel's state checked:
# open N s (asked, validated), close, hold, release, normal-open on/off, aux on/off, cancel alarm, probe
# lock-out on/off and timed open; actions that do not fit the selected output are refused with a reason.
source "$(dirname "$0")/lib.sh"
live_site 9
start 120x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 3; wait_text 'Front +door +Panel A +1 closed +locked'
# open: the number is asked and validated as typed
keys o; wait_text 'Front: seconds \(1-254\)'
keys C-u; keys -l 999; wait_text 'seconds: a number from 1 to 254'
keys Enter; wait_text 'seconds: a number from 1 to 254'
keys C-u; keys -l 3; keys Enter
wait_text 'Front .*door-open: ok'
wait_text 'door-open Front: done'
# close
keys c; wait_text 'Front .*door-close: ok'
c3_status 'door1=[a-z]+,locked'
# hold / release (Back)
keys j; keys h; wait_text 'Back .*held-open .*door-hold: ok'
c3_status 'door2=[a-z]+,(released|unlocked)'
keys r; wait_text 'Back .*door-release: ok'
wait_gone 'Back .*held-open'
# normal-open on / off
keys n; wait_text 'Back .*normal-open .*normal-open-on: ok'
c3_status 'door2=[a-z]+,normalopen'
keys N; wait_text 'Back .*normal-open-off: ok'
c3_status 'door2=[a-z]+,locked'
# a door is not an aux output, nor a probe
keys a; wait_text "Switch an aux output on: not possible on door 'Back'"
keys l; wait_text "not possible on door 'Back'"
# aux on (asked) / off
keys j; wait_text 'Siren'
keys a; wait_text 'Siren: seconds \(1-255\)'
keys C-u; keys -l 255; keys Enter
wait_text 'Siren .*aux-on: ok'
c3_status 'aux1=on'
keys A; wait_text 'Siren .*aux-off: ok'
c3_status 'aux1=off'
# cancel the panel's alarm after a forced door
c3 force door=1
wait_text 'Front .*ALARM' 30
keys g; keys x; wait_text 'cancel-alarm Panel A: done'
wait_text 'Front .*cancel-alarm: ok'
wait_gone 'Front .*ALARM' 30
# probes: lock-out on/off, timed open (asked, minutes)
keys G; keys k; wait_text 'Vault in'
keys l; wait_text 'Vault in .*locked-out .*lockout-on: ok'
keys u; wait_text 'Vault in .*lockout-off: ok'
wait_gone 'Vault in .*locked-out'
keys t; wait_text 'Vault in: minutes \(1-1440\)'
keys C-u; keys -l 2; keys Enter
wait_text 'Vault in .*open [0-9]+[ms].*door-timed-open: open until'
keys r; wait_text 'Vault in .*door-release: ok'
# a C3-only action on a probe is refused by the core with the reason
keys n; wait_text "not possible on probe 'Vault in'"
# Enter shows the output's details, with the device's link
keys Enter; wait_text 'Vault in: probe 1 of Bus 1 \(nix1, link up'
keys Escape
# the audit trail has every action, each with its result
keys 6; keys F2; wait_text 'operator audit trail'
for a in door-open door-close door-hold door-release normal-open-on normal-open-off aux-on aux-off \
         cancel-alarm lockout-on lockout-off door-timed-open; do
    wait_text "$a .* ok "
done
keys q; wait_text 'EXITED 0'
pass "every door action with its result and the panel's state"
