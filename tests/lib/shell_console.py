# SPDX-License-Identifier: Apache-2.0
"""Drives Vireo's management shell on a pty, as an operator would: the
console side shared by the soak (tests/soak/drive) and the snapshot test
(tests/system/snapshot).  Console(out, argv) starts argv (tools/vireo run
...) on a pty and logs everything to OUT/console.log; expect() waits for a
regex, command() types a shell command and returns its output."""
import os
import pty
import re
import select
import time

PROMPT = "vireo> "


class Failed(Exception):
    pass


class Console:
    def __init__(self, out, argv):
        self.log = open(os.path.join(out, "console.log"), "w", encoding="utf-8", errors="replace")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        self.text = ""  # everything so far, \r dropped
        self.pos = 0  # what expect() has consumed
        self.scanned = 0  # what scan_status() has looked at
        self.closed = False

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        text = data.decode("utf-8", errors="replace").replace("\r", "")
        self.log.write(text)
        self.log.flush()
        self.text += text

    def pump(self, seconds):
        end = time.time() + seconds
        while not self.closed and time.time() < end:
            self._read(min(1.0, max(0.0, end - time.time())))

    def expect(self, pattern, timeout, what, since=None):
        """Waits for a regex after what was consumed (or after index since,
        then consuming nothing)."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            m = rx.search(self.text, self.pos if since is None else since)
            if m:
                if since is None:
                    self.pos = m.end()
                return m
            if self.closed or time.time() > end:
                tail = self.text[-800:]
                raise Failed("expected %s within %d s (/%s/); last output:\n%s" %
                             (what, timeout, pattern, tail))
            self._read(min(1.0, max(0.0, end - time.time())))

    def send(self, text):
        # Typed, not pasted: the UART holds 16 bytes.
        for ch in text:
            os.write(self.fd, ch.encode())
            time.sleep(0.01)

    def command(self, line, timeout=60):
        """Runs a shell command; returns its output (up to the next prompt)."""
        self.pos = len(self.text)
        self.send(line + "\r")
        start = self.pos
        m = self.expect(re.escape(PROMPT), timeout, "the shell prompt after `%s`" % line)
        return self.text[start:m.start()]

    def wait_exit(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pump(0.5)
                return os.waitstatus_to_exitcode(status)
            self._read(0.5)
        raise Failed("expected tools/vireo run to end within %d s" % timeout)

    def kill(self):
        try:
            os.kill(self.pid, 15)
            time.sleep(2)
            os.kill(self.pid, 9)
        except OSError:
            pass
