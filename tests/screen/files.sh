# The slave file view: list the files of a NiX1 slave (Qi), view CONFIG.TXT (Qg), put a local file with
# packet progress (verified; the file lands on the simulator's uSD), delete it after a confirmation, and
# provision the slave from the bus's server_dir with per-action lines; the emergency key answers meanwhile.
source "$(dirname "$0")/lib.sh"
start_c3 --model C3-200
start_nix1 --slaves 1 --configured
write_live_config
ADDR=$(echo $NIX1_ADDRS | cut -d' ' -f1)
mkdir -p "$TMP/srv"
printf '1350028169\tkey-one-ABCDEFGHIJKLMNO\n' >"$TMP/srv/keys.txt"
printf '1\tVault in\n2\tVault out\n' >"$TMP/srv/units.txt"
printf 'Arthur Dent\t1350028169\t1\nFord\t0\t0\n' >"$TMP/srv/users.txt"
printf '1\tArthur Dent\t* 8-17 * * *\n2\tFord\t* * * * *\n' >"$TMP/srv/cron.txt"
sed -i "s|poll_ms = 200; slaves = (|poll_ms = 200; server_dir = \"$TMP/srv\"; slaves = (|" "$TMP/site.conf"
grep -q server_dir "$TMP/site.conf" || fail "server_dir not in the generated configuration"
# a local file of 6400 bytes: 50 packets of 128 bytes
for i in $(seq 640); do printf 'line %04d\n' $i; done >"$TMP/hello.txt"
start 100x30 "$PORTIER" -c "$TMP/site.conf"
wait_up
keys 4; wait_text "Vault +$ADDR +Bus 1 +up"
keys f; wait_text "Files on Vault \\($ADDR\\)"
wait_text 'CONFIG.TXT +[0-9]+' 30
wait_text '[0-9]+ file\(s\) \(extensions'
# select_file NAME: move the selection (at the top after a re-read) down to NAME by its row in the list
select_file() {
    local row
    row=$(screen_text | sed -n '/Name  *Size/,/file(s)/p' | grep -n -- " $1 " | head -1 | cut -d: -f1)
    [ -n "$row" ] || fail "$1 not listed"
    keys Home
    for ((k = 2; k < row; k++)); do keys Down; done
}
# view CONFIG.TXT
select_file CONFIG.TXT
keys Enter; wait_text "CONFIG.TXT on Vault"
wait_text '[0-9]+ bytes, [0-9]+ line\(s\)'
wait_text "$(head -1 "$TMP/usd/$ADDR/CONFIG.TXT" | cut -c1-10 | sed 's/[][\\.*^$+?(){}|]/\\&/g')"
keys Escape; wait_text "Files on Vault"
# put: local path, then the 8.3 name; progress in packets; the file is on the slave's uSD
keys p; wait_text 'Local file to upload'
keys -l "$TMP/nothere"; keys Enter; wait_text 'No such file'
keys C-u; keys -l "$TMP/hello.txt"; keys Enter
wait_text 'Name on the slave'
wait_text 'HELLO.TXT'
keys Enter
wait_text 'Put HELLO.TXT \(6400 bytes\): packet [0-9]+/50 sent'
# the emergency key answers during the upload
keys F12; wait_text 'EMERGENCY UNLOCK'
keys F11; wait_text 'End the emergency'; keys y; wait_gone 'EMERGENCY UNLOCK' 30
wait_text 'Put HELLO.TXT \(6400 bytes\): ✓ 6400 bytes in 50 packet\(s\), verified' 120
wait_text 'HELLO.TXT +6400'
cmp -s "$TMP/hello.txt" "$TMP/usd/$ADDR/HELLO.TXT" || fail "HELLO.TXT on the slave differs"
# delete it, after a confirmation
select_file HELLO.TXT
keys d; wait_text 'Delete HELLO.TXT on Vault'
keys y; wait_text 'Delete HELLO.TXT: ✓ HELLO.TXT deleted' 30
wait_gone 'HELLO.TXT +6400'
[ ! -e "$TMP/usd/$ADDR/HELLO.TXT" ] || fail "HELLO.TXT still on the slave"
# provisioning from server_dir: confirmation, per-action lines, result; the slave holds KEYS.TXT
keys P; wait_text "Provision Vault \\($ADDR\\) from"
keys y; wait_text 'Provisioning: ✓' 90
wait_text "$ADDR USERS\\.[A-Z]: verified"
wait_text "$ADDR: provisioned"
wait_text 'KEYS.TXT +[0-9]+' 30
grep -q 'key-one-ABCDEFGHIJKLMNO' "$TMP/usd/$ADDR/KEYS.TXT" || fail "KEYS.TXT not provisioned"
# a second run changes nothing
keys F4; wait_text "Provision Vault"
keys y; wait_text 'Provisioning: ✓ already up to date, verified' 90
keys Escape; wait_text 'NiX1 slaves'
# P from the slave list too, as the help lists it
keys '?'; wait_text 'F4 p P +slave-provision'
keys Escape; wait_text 'NiX1 slaves'
keys P; wait_text "Provision Vault \\($ADDR\\) from"
keys n; wait_gone "Provision Vault \\($ADDR\\) from"
keys Escape; wait_text 'NiX1 slaves'
keys 6; wait_text 'slave-provision Vault: ok: already up to date'
wait_text 'slave-file-put Vault: ok: 6400 bytes'
keys F2; wait_text 'slave-provision +Vault +ok'
keys Escape
keys q; wait_text 'EXITED 0' 30
stop_tmux
pass "slave files: list, view, put with progress, delete, provisioning"
