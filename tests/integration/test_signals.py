"""Orderly shutdown on SIGTERM and SIGINT.

Proves that:
- the hub and the agent exit with status 0 within a deadline on SIGTERM in
  the middle of a batch, and every report the agent counted as acknowledged
  at that moment is on the hub's disk with the same receipt (the hub
  finishes the batch in hand: store, then acknowledge);
- after both are restarted, everything submitted is acknowledged and stored
  exactly once;
- SIGINT does the same, and an idle hub and an agent whose hub is down
  (still reconnecting) also exit 0 promptly.
"""

import signal
import time

import gomtest
from gomtest import GomTestCase

PROMPT = 5.0        # seconds in which a daemon must exit on a signal
N = 600


class SignalsTest(GomTestCase):

    def _exit_promptly(self, node, sig):
        rc, took = node.signal_and_wait(sig, timeout=PROMPT)
        self.assertEqual(rc, 0, '%s exited %d on signal %d\n%s'
                         % (node.name, rc, sig, gomtest.tail(node.log_path)))
        return took

    def _mid_batch(self, sig):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'S01')
        agent.set('window', 16)
        files = [self.report('S01', form='F%03d' % i,
                             cells=gomtest.many_cells(i))
                 for i in range(N)]
        ids = set(agent.submit_ok(*files).values())
        hub.start()
        hub.wait_listening()
        agent.start()
        self.wait_for(lambda: gomtest.acked_count([agent]) >= 1, 40,
                      'the first report acked')
        self._exit_promptly(hub, sig)
        stored = {r['report_id']: r['receipt'] for r in hub.reports()}
        self.assertLess(len(stored), N, 'the signal came after the batch: '
                        'the test proved little')
        for r in agent.list():
            if r['state'] == 'acked':
                self.assertTrue(r['report_id'] in stored,
                                'report %s acked on the agent (receipt %s) '
                                'but not stored' % (r['report_id'],
                                                    r['receipt']))
                self.assertEqual(r['receipt'], stored[r['report_id']])
        self._exit_promptly(agent, sig)
        self.assertEqual({r['report_id'] for r in agent.list()}, ids)

        hub.start()
        hub.wait_listening()
        agent.start()
        self.wait_all_acked(agent, N, timeout=60)
        self.assert_hub_whole(hub, [agent], expect_total=N)
        self._exit_promptly(agent, sig)
        self._exit_promptly(hub, sig)

    def test_sigterm_mid_batch(self):
        self._mid_batch(signal.SIGTERM)

    def test_sigint_mid_batch(self):
        self._mid_batch(signal.SIGINT)

    def test_sigterm_idle(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'S01')
        # The agent first, with no hub: it is reconnecting.
        agent.start()
        f = self.report('S01')
        agent.submit_ok(f)
        agent.wait_log('agent ', timeout=10)     # its start-up line
        agent.assert_alive()
        self._exit_promptly(agent, signal.SIGTERM)
        # An idle hub, no agent connected.
        hub.start()
        hub.wait_listening()
        self._exit_promptly(hub, signal.SIGTERM)
        # Both up: the report goes through, then both stop again.
        hub.start()
        hub.wait_listening()
        agent.start()
        self.wait_all_acked(agent, 1, timeout=30)
        t0 = time.monotonic()
        self._exit_promptly(hub, signal.SIGTERM)
        self._exit_promptly(agent, signal.SIGTERM)
        self.assertLess(time.monotonic() - t0, 2 * PROMPT)
        self.assertEqual(len(hub.reports()), 1)


if __name__ == '__main__':
    gomtest.main()
