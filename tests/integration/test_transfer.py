"""Offline transfer for a commune with no link at all (issue 9, item 6;
docs/transfer.md), with real processes: an agent that never reaches the
hub exports its unsent reports to a file, the hub imports it, and the
agent takes the hub's receipts back.

- The file is sealed from the agent's key to the hub's: a byte changed,
  a file made for another hub, or one made by a key the hub has not
  enrolled are refused with what is wrong, and nothing is stored.
- Import applies the network's checks: a report for a unit the key is not
  enrolled for is refused with the reason, the other is stored; the
  running hub's answers (arrivals, asked of it) include it at once.
- Importing the same file again stores nothing twice and gives the same
  receipts.
- The receipts file, sealed by the hub for this agent, marks the stored
  report acknowledged with the hub's receipt and the refused one rejected
  with the hub's reason; a receipts file for another agent is refused.
  Started afterwards, the agent has nothing to resend, and every receipt
  it holds is the hub's.

Checked to fail: with the seal not checked (the tampered file's import
would store), with import not going through the form and enrollment
checks (18079 would be stored).
"""
import json
import os
import stat

import gomtest

FORM = 'HT-VSTBPN-6T'
PERIOD = '2026-H1'
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')


def run(argv):
    return gomtest.run_cli(argv, check=False)


class Transfer(gomtest.GomTestCase):

    def hub_import(self, hub, path, receipts=None):
        argv = [gomtest.HUB_BIN, 'import', '--config', hub.cfg]
        if receipts:
            argv += ['--receipts', receipts]
        return run(argv + [path])

    def test_export_import_receipts(self):
        hub = self.new_hub()
        hub.install_pack()
        hub.enable_http(gomtest.free_port())
        hub.start()
        hub.wait_listening()
        # Enrolled for 18073 only, though it reports for 18079 as well.
        agent = self.new_agent(hub, ['18073', '18079'],
                               enroll_units=['18073'])
        agent.submit_ok(os.path.join(SAMPLES, '18073-%s.json' % PERIOD),
                        os.path.join(SAMPLES, '18079-%s.json' % PERIOD))
        out = os.path.join(self.tmp, 'stick', 'from-18073.gom')
        os.makedirs(os.path.dirname(out))
        cp = run([gomtest.AGENT_BIN, 'export', '--config', agent.cfg,
                  '--out', out])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('2 reports in', cp.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertEqual({r['state'] for r in agent.list()}, {'queued'})

        # Refused files: nothing stored.
        bad = out + '.bad'
        with open(out, 'rb') as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0x01
        with open(bad, 'wb') as f:
            f.write(bytes(data))
        cp = self.hub_import(hub, bad)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('damaged', cp.stderr)
        other_hub = self.new_hub(name='other-hub')
        cp = self.hub_import(other_hub, out)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('made for another key', cp.stderr)
        stranger = self.new_agent(hub, ['18076'], name='stranger',
                                  enroll=False)
        stranger.submit_ok(os.path.join(SAMPLES, '18076-%s.json' % PERIOD))
        strange = os.path.join(self.tmp, 'stick', 'stranger.gom')
        run([gomtest.AGENT_BIN, 'export', '--config', stranger.cfg,
             '--out', strange])
        cp = self.hub_import(hub, strange)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('not enrolled here', cp.stderr)
        self.assertEqual(hub.reports(), [])

        # The import: one stored, one refused by the enrollment check.
        receipts = os.path.join(self.tmp, 'stick', 'receipts.gom')
        cp = self.hub_import(hub, out, receipts)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('1 stored, 0 had come before, 1 refused', cp.stdout)
        self.assertRegex(cp.stdout, r'18079 %s %s r1: refused, ' % (FORM,
                                                                   PERIOD))
        rows = hub.reports()
        self.assertEqual([(r['unit'], r['agent_key']) for r in rows],
                         [('18073', agent.key)])
        receipt = rows[0]['receipt']
        arrivals = json.loads(run([
            gomtest.HUB_BIN, 'arrivals', '--config', hub.cfg, '--form', FORM,
            '--period', PERIOD, '--unit', '18073', '--json']).stdout)
        self.assertNotEqual(arrivals['units'][0]['state'], 'missing')

        # Again: nothing twice, the same receipt.
        again = os.path.join(self.tmp, 'stick', 'receipts2.gom')
        cp = self.hub_import(hub, out, again)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('0 stored, 1 had come before, 1 refused', cp.stdout)
        self.assertIn('receipt %d (had come before)' % receipt, cp.stdout)
        self.assertEqual(len(hub.reports()), 1)

        # Receipts: for this agent only.
        cp = run([gomtest.AGENT_BIN, 'receipts', '--config', stranger.cfg,
                  receipts])
        self.assertEqual(cp.returncode, 1)
        self.assertIn('made for another key', cp.stderr)
        cp = run([gomtest.AGENT_BIN, 'receipts', '--config', agent.cfg,
                  receipts])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('1 acknowledged, 1 rejected', cp.stdout)
        by_unit = {r['unit']: r for r in agent.list()}
        self.assertEqual(by_unit['18073']['state'], 'acked')
        self.assertEqual(by_unit['18073']['receipt'], receipt)
        self.assertEqual(by_unit['18079']['state'], 'rejected')
        self.assertTrue(by_unit['18079']['reason'])

        # The agent, started: nothing to resend; its receipts are the hub's.
        agent.start()
        self.wait_for(lambda: agent.status()['connected'], 30,
                      'the agent connecting')
        st = agent.status()
        self.assertEqual(st['queued'] + st['sent'], 0)
        rows = hub.reports()
        self.assertEqual(len(rows), 1)
        self.assertEqual(by_unit['18073']['report_id'], rows[0]['report_id'])


if __name__ == '__main__':
    gomtest.main()
