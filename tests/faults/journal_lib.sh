# Shared helpers for the journal fault tests: the real console in tmux (tests/screen/lib.sh) with one live
# C3 panel, a journal wherever the test puts it, and checks of the stored rows through python3's sqlite3.
source "$(dirname "$0")/../screen/lib.sh"
MOUNTS=()
journal_cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    local m
    for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null || true; done
    cleanup
}
trap journal_cleanup EXIT
skip() { echo "skip: $*"; exit 77; }

# mount_tmpfs DIR SIZE: a small filesystem of our own (root only; else the test is skipped).
mount_tmpfs() {
    mkdir -p "$1"
    [ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
    mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>/dev/null || skip "cannot mount a tmpfs here"
    MOUNTS+=("$1")
}

# write_journal_config JOURNAL_PATH [QUEUE_EVENTS]: one live C3-200 (start_c3 first), polled every 200 ms.
write_journal_config() {
    cat >"$TMP/site.conf" <<CONF
site = { name = "Journal site"; };
roles = { default = "technician"; };
panels = (
  { name = "Panel A"; host = "127.0.0.1"; port = $C3_PORT; model = "C3-200"; poll_ms = 200;
    doors = ["Front", "Back"]; }
);
emergency = { doors = "all"; confirm = "none"; restore = "previous"; };
journal = { path = "$1"; queue_events = ${2:-4096}; };
ui = { colours = true; bell = "none"; };
CONF
    chmod 600 "$TMP/site.conf"
}

# sql DB QUERY: the first column of every row, one per line (a reader never blocks the console: WAL).
sql() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
for row in c.execute(sys.argv[2]):
    print(row[0])
PY
}

# swipe FROM TO: cards FROM..TO on door 1, paced so the panel's 30-record ring never overflows.
swipe() {
    local i
    for ((i = $1; i <= $2; i++)); do
        c3 swipe door=1 card=$i granted=1
        if ((i % 10 == 0)); then sleep 0.15; fi
    done
}

# shown: the number in the Live events title ("Live events  N shown"); the console shows every event.
shown() { screen_text | sed -n 's/.*Live events  \([0-9]*\) shown.*/\1/p' | head -1; }

# ms: the clock in milliseconds (bash's own: no process started to read it).
ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }

# within MS T0 REGEX: REGEX is on the screen at most MS after T0 (an ms reading). A look at the screen begun
# after that found it missing is a failure; the time the test takes to look (tmux, grep, other tests on a busy
# machine) is not counted against the console: a look begun in time that finds it passes. Sets WITHIN_MS to
# when that look began, after T0.
within() {
    local t
    while :; do
        t=$(ms)
        screen_text | grep -Eq -- "$3" && break
        [ $((t - $2)) -le "$1" ] || fail "'$3' not shown $((t - $2)) ms after (limit $1 ms)"
        sleep 0.05
    done
    WITHIN_MS=$((t - $2))
    echo "  ('$3' found by a look begun $WITHIN_MS ms after)"
}

# banner_within MS REGEX: the banner (or REGEX) appears at most MS after now.
banner_within() { within "$1" "$(ms)" "$2"; }

# cards_in_order DB: the access cards stored, in row order, one line.
cards_in_order() { sql "$1" "SELECT card FROM events WHERE kind = 0 AND card > 0 ORDER BY id" | tr '\n' ' '; }
# seq A B: "A A+1 ... B " (the form cards_in_order prints).
seq_line() { seq "$1" "$2" | tr '\n' ' '; }
