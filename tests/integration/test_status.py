"""`gom-agent status` and `gom-hub status` answer an IT person's first
questions (issue 9, item 3) with real processes: running? since when?
connected to the hub, since when? what waits longest, and why?

The agent: never started (its queue waits: "never run here"); running
with the hub down (not connected, since when, and the error it meets);
connected (since when, nothing waiting); stopped with reports queued
("not running", stopped at). The hub: running with its pid; an agent
whose reports the hub keeps refusing (rate limit) listed as holding
reports, with its fingerprint and units; killed (not running, no stop
recorded). Each answer checked in --json and in the text a person reads.

Checked to fail: with the agent's pid left out of the outbox (running:
no), with the hub's list of agents holding reports left empty.
"""
import gomtest


class Status(gomtest.GomTestCase):

    def text(self, binary, node):
        return gomtest.run_cli([binary, 'status', '--config',
                                node.cfg]).stdout

    def test_agent_and_hub_status(self):
        hub = self.new_hub()
        hub.set('max_reports_per_minute', 2)
        agent = self.new_agent(hub, ['U1'])
        agent.set('hello_ivl_ms', 300)

        # Never started: the queue waits for a process.
        agent.submit_ok(self.report('U1', revision=1))
        st = agent.status()
        self.assertFalse(st['running'])
        self.assertFalse(st['connected'])
        self.assertIn('never run', st['stuck']['why'])
        self.assertEqual((st['stuck']['unit'], st['stuck']['revision']),
                         ('U1', 1))
        self.assertIn('running: no', self.text(gomtest.AGENT_BIN, agent))

        # Running, the hub not up: not connected since, and why.
        agent.start()
        self.wait_for(lambda: agent.status()['running'], 20,
                      'status seeing the agent run')
        self.wait_for(lambda: 'cannot reach the hub'
                      in agent.status()['stuck']['why'], 20,
                      'status saying the hub cannot be reached')
        st = agent.status()
        self.assertEqual(st['pid'], agent.proc.pid)
        self.assertFalse(st['connected'])
        self.assertIsNotNone(st['disconnected_since_at'])
        text = self.text(gomtest.AGENT_BIN, agent)
        self.assertIn('running: yes, pid %d' % agent.proc.pid, text)
        self.assertIn('hub: not connected since', text)
        self.assertRegex(text, r'waiting: 1 report; the oldest, U1 F1 '
                               r'2026-H1 r1, .*cannot reach the hub')

        # Connected: since when, nothing waits.
        hub.start()
        hub.wait_listening()
        self.wait_all_acked(agent, 1)
        self.wait_for(lambda: agent.status()['connected'], 20,
                      'status seeing the connection')
        st = agent.status()
        self.assertIsNone(st['stuck'])
        self.assertIsNotNone(st['connected_since_at'])
        self.assertIn('hub: connected since',
                      self.text(gomtest.AGENT_BIN, agent))
        hs = hub.status()
        self.assertTrue(hs['running'])
        self.assertEqual(hs['pid'], hub.proc.pid)
        # As the agent said at its last hello: the one at the connection
        # still counted the report; the next (hello_ivl_ms) says none.
        self.wait_for(lambda: hub.status()['stuck'] == [], 20,
                      'the hub seeing nothing held at the agent')

        # Refused again and again (2 a minute): the hub lists the agent.
        for r in range(2, 7):
            agent.submit_ok(self.report('U1', revision=r))
        fp = [a['fingerprint'] for a in hub.agents()
              if a['key'] == agent.key][0]
        self.wait_for(lambda: hub.status()['stuck'], 30,
                      'the hub listing an agent that holds reports')
        stuck = hub.status()['stuck'][0]
        self.assertEqual((stuck['fingerprint'], stuck['units']), (fp, 'U1'))
        self.assertGreater(stuck['queue_depth'], 0)
        self.assertIn('refused again and again', stuck['why'])
        self.assertIn('waiting at agent %s (units U1)' % fp,
                      self.text(gomtest.HUB_BIN, hub))
        st = agent.status()
        self.assertIn('rate', st['stuck']['why'])

        # Stopped: says so, and since when; the queue waits for it.
        agent.stop()
        st = agent.status()
        self.assertFalse(st['running'])
        self.assertIsNotNone(st['stopped_at'])
        self.assertIn('not running', st['stuck']['why'])
        self.assertRegex(self.text(gomtest.AGENT_BIN, agent),
                         r'running: no; stopped at \d{4}-')

        # The hub killed: not running, and no stop on record.
        hub.kill9()
        hs = hub.status()
        self.assertFalse(hs['running'])
        self.assertIsNone(hs['pid'])
        self.assertIn('running: no (killed',
                      self.text(gomtest.HUB_BIN, hub))


if __name__ == '__main__':
    gomtest.main()
