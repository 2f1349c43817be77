# Below 80x24 the console says what it needs; a resize brings the panes back; monochrome and ASCII work.
source "$(dirname "$0")/lib.sh"
write_config
start 60x15 NO_COLOR=1 PORTIER_ASCII=1 "$PORTIER" -c "$TMP/site.conf"
wait_text 'at least 80x24'
wait_text 'this one is 60x15'
resize 100 30
wait_text 'Live events'
resize 70 30
wait_text 'at least 80x24'
resize 100 30
wait_text 'Live events'
keys F10; wait_text 'EXITED 0'
pass "small window message and resize"
