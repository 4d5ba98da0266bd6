"""The hub's limits and hostile report content (issue 5), against a real hub.

- Per report: more cells than max_cells_per_report, or more text bytes than
  max_text_bytes_per_report, gets a permanent NACK "too-large" that names
  the limit and the value; exactly at the limit the report is stored.
  A text that is not UTF-8, a unit code with bytes that are not UTF-8, a
  cell beyond 10^12 get a permanent "invalid"; a report with fields this
  protocol version does not define is accepted; a wrong protocol version
  gets "version". Each refusal leaves a hub log line with the key's
  fingerprint, and nothing refused is stored.
- Per agent: past max_reports_per_minute a flooding agent gets transient
  "rate" NACKs and backs off, while another agent's reports are all
  acknowledged within a deadline; once the limit is lifted the flooder's
  backlog arrives whole: nothing lost, nothing doubled.
- Connections: past max_connections the hub refuses the handshake (ZAP 400,
  "too many connections"); when a connection closes, the refused agent
  gets in and delivers.
"""
import os
import subprocess
import time

import gomtest

PROBE = os.environ.get('GOM_PROBE',
                       os.path.join(gomtest.ROOT, 'build', 'tests',
                                    'gom-probe'))


class Limits(gomtest.GomTestCase):

    def probe(self, agent, mode, size=None, revision=None, wait_ms=5000):
        argv = [PROBE, '--config', agent.cfg, '--mode', mode,
                '--wait-ms', str(wait_ms)]
        if size is not None:
            argv += ['--size', str(size)]
        if revision is not None:
            argv += ['--revision', str(revision)]
        cp = subprocess.run(argv, capture_output=True, text=True,
                            timeout=wait_ms / 1000 + 30)
        return cp.returncode, cp.stdout.strip()

    def fingerprint(self, hub, key):
        for a in hub.agents():
            if a['key'] == key:
                return a['fingerprint']
        self.fail('gom-hub agents does not list %s' % key)

    def test_report_limits_and_hostile_content(self):
        if not os.access(PROBE, os.X_OK):
            self.fail('gom-probe missing at %s (set GOM_PROBE)' % PROBE)
        hub = self.new_hub()
        hub.set('max_cells_per_report', 50)
        hub.set('max_text_bytes_per_report', 1000)
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, ['U1'])
        fp = self.fingerprint(hub, agent.key)

        # (mode, size, revision, expected reply prefix, words in the reason)
        cases = [
            ('cells', 51, 1, 'nack permanent too-large',
             ['51 cells', 'max_cells_per_report', '50']),
            ('cells', 50, 2, 'ack', []),
            ('text', 1001, 1, 'nack permanent too-large',
             ['1001 bytes', 'max_text_bytes_per_report', '1000']),
            ('text', 1000, 3, 'ack', []),
            ('badutf8', None, 1, 'nack permanent invalid',
             ['not valid UTF-8']),
            ('badcode', None, 1, 'nack permanent invalid', ['unit']),
            ('overflow', None, 1, 'nack permanent invalid',
             ['1000000000001', 'larger than gom takes']),
            ('unknown', None, 4, 'ack', []),
            ('version', None, None, 'nack permanent version', ['version 9']),
        ]
        for mode, size, rev, want, words in cases:
            before = hub.log_text().count(fp)
            rc, out = self.probe(agent, mode, size=size, revision=rev)
            what = '%s (size %s, r%s)' % (mode, size, rev)
            self.assertEqual(rc, 0, '%s: no answer: %s' % (what, out))
            self.assertTrue(out.startswith('reply: ' + want),
                            '%s: got %r, want %r' % (what, out, want))
            for w in words:
                self.assertIn(w, out, '%s: reason lacks %r' % (what, w))
            hub.assert_alive()
            if want != 'ack':
                # One log line naming the key's fingerprint (the refusal is
                # logged when the batch is answered: wait for it).
                self.wait_for(lambda: hub.log_text().count(fp) > before, 10,
                              '%s: a hub log line with %s' % (what, fp),
                              logs=[hub])

        # A hello whose agent_version is not UTF-8 is welcomed, and the
        # agent stays listed (jansson refuses invalid UTF-8: the row used
        # to vanish from `gom-hub agents --json` and the dashboard).
        rc, out = self.probe(agent, 'badhello')
        self.assertTrue(out.startswith('reply: welcome'), out)
        listed = [a for a in hub.agents() if a['key'] == agent.key]
        self.assertEqual(len(listed), 1, 'agent vanished from the list')
        self.assertIsNotNone(listed[0]['last_seen_at'])

        rows = hub.reports()
        self.assertEqual(sorted(r['revision'] for r in rows), [2, 3, 4],
                         'refused reports were stored: %s' % rows)
        self.assertTrue(all(r['unit'] == 'U1' for r in rows))
        # The log never carries the invalid bytes raw.
        with open(hub.log_path, 'rb') as f:
            raw = f.read()
        self.assertNotIn(b'\xff', raw, 'invalid UTF-8 copied into the log')

    def test_rate_limit_flooder_and_normal_agent(self):
        hub = self.new_hub()
        hub.set('max_reports_per_minute', 30)
        hub.start()
        hub.wait_listening()
        flooder = self.new_agent(hub, ['F1'], name='flooder')
        normal = self.new_agent(hub, ['N1'], name='normal')
        n_flood, n_normal = 150, 10
        flooder.submit_ok(*[self.report('F1', period='2026-H1', revision=i)
                            for i in range(1, n_flood + 1)])
        flooder_fp = self.fingerprint(hub, flooder.key)
        t_start = time.monotonic()
        flooder.start()
        # The flooder uses its burst (30) and is then refused for "rate".
        hub.wait_log('rate: %s over max_reports_per_minute' % flooder_fp,
                     timeout=30)
        t0 = time.monotonic()
        normal.submit_ok(*[self.report('N1', revision=i)
                           for i in range(1, n_normal + 1)])
        normal.start()
        self.wait_all_acked(normal, n_normal, timeout=15)
        took = time.monotonic() - t0
        hub.assert_alive()
        acked = flooder.status()['acked']
        # 30 at once, then one every 2 s: far from 150 this soon.
        elapsed = time.monotonic() - t_start
        self.assertLessEqual(acked, 30 + elapsed / 2 + 2,
                             'flooder not limited: %d acked in %.1f s'
                             % (acked, elapsed))
        self.assertGreaterEqual(acked, 30, 'the burst was not served')
        self.assertEqual([r for r in flooder.list()
                          if r['state'] == 'rejected'], [],
                         'a rate NACK must not set a report aside')
        print('normal agent: %d reports acked in %.1f s while the flooder '
              'was limited (%d of %d acked)' % (n_normal, took, acked,
                                                n_flood))

        # Lift the limit: the flooder's whole backlog arrives, once each.
        hub.stop()
        hub.set('max_reports_per_minute', 0)
        hub.start()
        hub.wait_listening()
        self.wait_all_acked(flooder, n_flood, timeout=90)
        self.assert_hub_whole(hub, [flooder, normal],
                              expect_total=n_flood + n_normal)

    def test_max_connections(self):
        hub = self.new_hub()
        hub.set('max_connections', 2)
        hub.start()
        hub.wait_listening()
        agents = [self.new_agent(hub, ['C%d' % i], name='agent%d' % i)
                  for i in range(3)]
        a, b, c = agents
        for i, x in enumerate(agents):
            x.submit_ok(self.report('C%d' % i))
        a.start()
        b.start()
        self.wait_all_acked(a, 1, timeout=30)
        self.wait_all_acked(b, 1, timeout=30)
        c.start()
        hub.wait_log('too many connections', timeout=30)
        c.wait_log('too many connections', timeout=30)
        self.assertEqual(c.status()['acked'], 0,
                         'a third connection got in past max_connections')
        # One connection closes: the refused agent gets in on its next try.
        a.stop()
        self.wait_all_acked(c, 1, timeout=30)
        hub.assert_alive()
        self.assert_hub_whole(hub, agents, expect_total=3)


if __name__ == '__main__':
    gomtest.main()
