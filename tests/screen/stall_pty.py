#!/usr/bin/env python3
"""stall_pty: run a command on a pseudo-terminal of its own and relay it to and from this terminal, like an SSH
session; SIGUSR1 stops reading the command's output (a stalled link: the command's writes fill the pty and then
block), SIGUSR2 reads it again. Keys are relayed throughout.

usage: stall_pty.py CMD [ARGS...]   (exits with the command's status)
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import tty

stalled = False


def on_usr(signo, _frame):
    global stalled
    stalled = signo == signal.SIGUSR1


def main():
    size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
    os.kill(pid, signal.SIGWINCH)
    signal.signal(signal.SIGUSR1, on_usr)
    signal.signal(signal.SIGUSR2, on_usr)
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        while True:
            rd = [0] if stalled else [0, fd]
            try:
                r, _, _ = select.select(rd, [], [], 0.1)
            except InterruptedError:
                continue
            if 0 in r:
                data = os.read(0, 4096)
                if data:
                    os.write(fd, data)
            if fd in r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                os.write(1, data)
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
