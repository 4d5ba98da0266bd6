"""Garbage on the hub's port must not hurt it.

Raw TCP clients (no ZeroMQ library is available to the tests) send random
bytes, nothing at all, a truncated ZMTP greeting, a greeting with the wrong
security mechanism, a CURVE greeting followed by a garbage HELLO, a frame
header announcing an enormous frame, and many idle connections. Proves
that after each the hub process is still alive and a normal agent still
gets a new report acknowledged (also while a garbage connection is held
open), and that the hub still exits 0 on SIGTERM.
"""

import os
import random
import socket
import struct

import gomtest
from gomtest import GomTestCase


def greeting(mechanism=b'CURVE', as_server=0, major=3, minor=0):
    """A ZMTP 3.x greeting (64 bytes)."""
    return (b'\xff' + b'\x00' * 8 + b'\x7f' + bytes([major, minor])
            + mechanism.ljust(20, b'\x00') + bytes([as_server])
            + b'\x00' * 31)


class ProtocolTest(GomTestCase):

    def setUp(self):
        super().setUp()
        self.rng = random.Random(int.from_bytes(os.urandom(4), 'big'))
        self.hub = self.new_hub()
        self.hub.start()
        self.hub.wait_listening()
        self.agent = self.new_agent(self.hub, 'P01')
        self.agent.start()
        self.sent = 0
        self._check_serving()

    def _connect(self):
        s = socket.create_connection(('127.0.0.1', self.hub.port), 5)
        s.settimeout(2)
        self.addCleanup(s.close)
        return s

    def _send_and_close(self, data, read_reply=True):
        s = self._connect()
        try:
            if data:
                s.sendall(data)
            if read_reply:
                try:
                    s.recv(4096)
                except (socket.timeout, OSError):
                    pass
        except OSError:
            pass                    # the hub may drop us mid-send: fine
        finally:
            s.close()

    def _check_serving(self):
        """The hub is alive and a fresh report is acknowledged."""
        self.hub.assert_alive()
        self.sent += 1
        f = self.report('P01', form='F%03d' % self.sent)
        rid = self.agent.submit_ok(f)[f]

        def acked():
            return self.agent.by_id()[rid]['state'] == 'acked'
        self.wait_for(acked, 30, 'report %d acked after garbage'
                      % self.sent)
        self.hub.assert_alive()
        stored = [r['report_id'] for r in self.hub.reports()]
        self.assertTrue(rid in stored, 'acked but not stored')
        self.assertEqual(len(stored), self.sent)

    def tearDown(self):
        if self.hub.alive():
            self.agent.stop()
            self.hub.stop()

    def test_random_bytes(self):
        for size in (1, 10, 64, 4096, 1 << 20):
            self._send_and_close(self.rng.randbytes(size))
        self._check_serving()

    def test_zero_length_connections(self):
        for _ in range(20):
            self._send_and_close(b'', read_reply=False)
        s = self._connect()
        s.shutdown(socket.SHUT_WR)      # half-close, then go away
        s.close()
        self._check_serving()

    def test_truncated_greeting(self):
        g = greeting()
        for cut in (1, 10, 11, 12, 32, 63):
            self._send_and_close(g[:cut])
        self._check_serving()

    def test_wrong_mechanism_and_versions(self):
        for mech in (b'NULL', b'PLAIN', b'GSSAPI', b'XYZZY', b''):
            self._send_and_close(greeting(mech))
        self._send_and_close(greeting(major=2))
        self._send_and_close(greeting(major=255, minor=255))
        # ZMTP 1.0/2.0 style greeting
        self._send_and_close(b'\x01\x00' + b'\x00' * 20)
        self._check_serving()

    def test_garbage_curve_handshake(self):
        g = greeting()
        # HELLO command with the right size and random content
        body = b'\x05HELLO' + b'\x01\x00' + b'\x00' * 72 + \
            self.rng.randbytes(32 + 8 + 80)
        self._send_and_close(g + b'\x04' + bytes([len(body)]) + body)
        # short command
        self._send_and_close(g + b'\x04\x03abc')
        # a message frame before any handshake
        self._send_and_close(g + b'\x00\x05hello')
        # a long command announcing an enormous size
        self._send_and_close(g + b'\x06' + struct.pack('>Q', (1 << 63) - 1)
                             + self.rng.randbytes(1000))
        # a long frame announcing a big size, then hanging up
        self._send_and_close(g + b'\x02' + struct.pack('>Q', 1 << 40))
        # random bytes after a correct greeting
        for _ in range(5):
            self._send_and_close(g + self.rng.randbytes(
                self.rng.randint(1, 3000)))
        self._check_serving()

    def test_idle_and_held_connections(self):
        held = []
        for i in range(50):
            s = self._connect()
            if i % 2:
                try:
                    s.sendall(greeting()[:self.rng.randint(1, 63)])
                except OSError:
                    pass
            held.append(s)
        # With all of them open, the agent must still be served.
        self._check_serving()
        for s in held:
            s.close()
        self._check_serving()


if __name__ == '__main__':
    gomtest.main()
