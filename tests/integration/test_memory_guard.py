"""A message that never ends (issue 5: memory that never grows without
bound), against a real hub, from a peer that speaks ZMTP and CURVE by
hand (zmtp_curve.py) with an enrolled key.

libzmq bounds each frame (MAXMSGSIZE) but keeps a message whose last frame
has not come whole in memory, so frames sent with MORE and never a last
one grow the hub without bound: measured, 300 frames of 1 MB took a hub
from 13 to 300 MiB resident, given back only when the connection closed.
(libzmq as a sender cannot do it: it sends nothing of a message before its
end.) The hub's memory guard (max_memory_mb) closes every connection past
the limit: the test checks that the hostile connection is cut before it
has sent twice the limit, that the hub says so in its log, that its
memory comes back under the limit, and that an honest agent connected
throughout loses and doubles nothing: it reconnects and every report is
stored exactly once.

Checked to fail: with the guard switched off (max_memory_mb = 0) the
hostile peer sends all its frames and the hub holds them.
"""
import os
import re
import time

import gomtest
import zmtp_curve

LIMIT_MB = 160
FRAME = 1000000
MAX_FRAMES = 2 * LIMIT_MB       # the peer gives up here: the guard failed


def resident_mb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) // 1024
    raise AssertionError('no VmRSS for pid %d' % pid)


class MemoryGuard(gomtest.GomTestCase):

    def test_endless_message_cut(self):
        # ASan keeps freed memory in quarantine (256 MB by default), which
        # would hide what the guard gives back.
        old = os.environ.get('ASAN_OPTIONS')
        self.addCleanup(lambda: os.environ.pop('ASAN_OPTIONS') if old is None
                        else os.environ.__setitem__('ASAN_OPTIONS', old))
        os.environ['ASAN_OPTIONS'] = (old or '') + ':quarantine_size_mb=1'
        hub = self.new_hub()
        hub.set('max_memory_mb', LIMIT_MB)
        hub.start()
        hub.wait_listening()
        base = resident_mb(hub.proc.pid)
        self.assertLess(base, LIMIT_MB // 2,
                        'the hub needs %d MiB before anything' % base)

        honest = self.new_agent(hub, ['U1'], name='honest')
        honest.start()
        for i in range(5):
            honest.submit_ok(self.report('U1', revision=i + 1))
        self.wait_all_acked(honest, 5)

        hostile = self.new_agent(hub, ['U2'], name='hostile')
        with open(os.path.join(hostile.dir, 'agent.cert_secret'),
                  encoding='utf-8') as f:
            secret = re.search(r'secret-key = "(%s)"' % gomtest.Z85_KEY,
                               f.read()).group(1)
        peer = zmtp_curve.CurvePeer('127.0.0.1', hub.port, hub.key,
                                    hostile.key, secret)
        self.addCleanup(peer.close)
        peer.handshake()
        # The session works: a frame that is not an envelope is refused.
        peer.send_frame(b'not an envelope')
        reply, more = peer.recv_frame(timeout=10)
        self.assertIn(b'malformed', reply)

        chunk = os.urandom(FRAME)
        sent, cut = 0, None
        deadline = time.monotonic() + 120
        while sent < MAX_FRAMES and time.monotonic() < deadline:
            try:
                peer.send_frame(chunk, more=True)
            except OSError as e:
                cut = e
                break
            sent += 1
        self.assertIsNotNone(
            cut, 'the hub took %d frames of one unfinished message (%d MiB '
            'resident, limit %d) without closing the connection'
            % (sent, resident_mb(hub.proc.pid), LIMIT_MB))
        print('memory guard: the connection cut after %d frames of 1 MB '
              '(limit %d MiB)' % (sent, LIMIT_MB))
        hub.wait_log('over max_memory_mb %d' % LIMIT_MB)
        self.wait_for(lambda: resident_mb(hub.proc.pid) < LIMIT_MB * 0.9, 30,
                      'the hub giving the memory back')
        hub.wait_log('resident again')
        hub.assert_alive()

        # The honest agent was cut too: it reconnects, resends what was in
        # flight, and delivers what comes next.
        for i in range(5, 10):
            honest.submit_ok(self.report('U1', revision=i + 1))
        self.wait_all_acked(honest, 10)
        self.assert_hub_whole(hub, [honest], expect_total=10)
        self.assertLess(resident_mb(hub.proc.pid), LIMIT_MB)


if __name__ == '__main__':
    gomtest.main()
