"""Hostile frames inside an authenticated session.

gom-probe (tests/tools) connects with an enrolled agent's own keys, so its
messages pass CURVE and ZAP and reach the hub's decoder: random bytes, an
empty frame, two frames, a protocol version the hub does not speak, a
truncated report, a report with an invalid unit code, a message type agents
never send, and a message over the hub's maximum size. For each: the hub
answers with a clear permanent NACK (or, over the size limit, libzmq closes
that connection), stays alive, stores nothing, and a real agent's report
sent afterwards is still acknowledged.
"""
import os
import subprocess
import unittest

import gomtest

PROBE = os.environ.get('GOM_PROBE',
                       os.path.join(gomtest.ROOT, 'build', 'tests',
                                    'gom-probe'))


class HostileFrames(gomtest.GomTestCase):

    def probe(self, agent, mode, size=None, wait_ms=5000):
        argv = [PROBE, '--config', agent.cfg, '--mode', mode,
                '--wait-ms', str(wait_ms)]
        if size is not None:
            argv += ['--size', str(size)]
        cp = subprocess.run(argv, capture_output=True, text=True,
                            timeout=wait_ms / 1000 + 30)
        return cp.returncode, cp.stdout.strip()

    def test_hostile_frames(self):
        if not os.access(PROBE, os.X_OK):
            self.fail('gom-probe missing at %s (set GOM_PROBE)' % PROBE)
        hub = self.new_hub()
        hub.set('max_message_bytes', 65536)
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, ['U1'])

        rc, out = self.probe(agent, 'hello')
        self.assertEqual((rc, out.split()[:2]), (0, ['reply:', 'welcome']),
                         'a valid hello must be welcomed: %s' % out)

        expect = {
            'garbage': 'nack permanent malformed',
            'empty': 'nack permanent malformed',
            'multi': 'nack permanent malformed',
            'version': 'nack permanent version',
            'truncated': 'nack permanent malformed',
            'badreport': 'nack permanent invalid',
            'ack': 'nack permanent unexpected',
        }
        for mode, want in sorted(expect.items()):
            rc, out = self.probe(agent, mode, size=300)
            self.assertEqual(rc, 0, '%s: no answer from the hub: %s'
                             % (mode, out))
            self.assertTrue(out.startswith('reply: ' + want),
                            '%s: got %r, want %r' % (mode, out, want))
            hub.assert_alive()

        # Over MAXMSGSIZE libzmq closes the connection: no answer, but the
        # hub lives and serves the next connection.
        rc, out = self.probe(agent, 'big', size=200000, wait_ms=2000)
        self.assertEqual(rc, 3, 'an oversize message got an answer: %s' % out)
        hub.assert_alive()
        rc, out = self.probe(agent, 'hello')
        self.assertEqual(rc, 0, 'hub stopped answering after oversize: %s'
                         % out)

        self.assertEqual(hub.reports(), [], 'hostile frames stored something')
        self.assertGreaterEqual(hub.status()['nacks'], len(expect))

        # A real agent still gets through.
        agent.start()
        agent.submit_ok(self.report('U1'))
        self.wait_all_acked(agent, 1)
        self.assertEqual(len(hub.reports()), 1)


if __name__ == '__main__':
    gomtest.main()
