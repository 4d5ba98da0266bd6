"""Idempotence and conflicts (DESIGN.md rules 4, 5 and 8).

Proves that:
- submitting an acknowledged report's file again is answered
  "already queued" and changes nothing;
- the same content sent again under a fresh outbox (a second agent enrolled
  for the same unit, hence a new report_id) is stored once and acknowledged
  with the original receipt;
- the same natural key with different content is refused by an agent that
  already holds that key; sent from a third agent's fresh outbox it is a
  permanent `conflict` NACK naming use_revision 2; it stays rejected with
  its reason (also across an agent restart) and is not stored, and the
  reports queued after it are still acknowledged;
- a corrected revision 2 is then accepted, and both revisions are on record.
"""

import gomtest
from gomtest import GomTestCase, parse_submit


class DuplicatesTest(GomTestCase):

    def test_resend_and_conflict(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        a1 = self.new_agent(hub, 'D01', name='agent1')
        a1.start()
        cells = {'C01': 10, 'C02': 20}
        texts = {'T01': 'Tổng số nữ'}
        f = self.report('D01', form='F1', period='2026-H1', cells=cells,
                        texts=texts, name='orig.json')
        rid1 = a1.submit_ok(f)[f]
        rows = self.wait_all_acked(a1, 1, timeout=30)
        receipt = rows[0]['receipt']
        self.assertIsInstance(receipt, int)

        # 1. The same file again on the same agent: nothing new.
        cp = a1.submit(f)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lines = parse_submit(cp.stdout)
        self.assertIn(f, lines, cp.stdout)
        self.assertEqual(lines[f][0], 'already queued', cp.stdout)
        self.assertEqual(lines[f][1], rid1, 'a new report_id was made')
        rows = a1.list()
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual((rows[0]['state'], rows[0]['receipt']),
                         ('acked', receipt))

        # 2. The same content from a fresh outbox (second agent, same unit).
        a2 = self.new_agent(hub, 'D01', name='agent2')
        a2.start()
        copy = self.report('D01', form='F1', period='2026-H1', cells=cells,
                           texts=texts, name='copy.json')
        rid2 = a2.submit_ok(copy)[copy]
        self.assertNotEqual(rid2, rid1)
        rows2 = self.wait_all_acked(a2, 1, timeout=30)
        self.assertEqual(rows2[0]['receipt'], receipt,
                         'a resent copy got a different receipt')
        stored = hub.reports()
        same = [r for r in stored
                if (r['unit'], r['form'], r['period'], r['revision'])
                == ('D01', 'F1', '2026-H1', 1)]
        self.assertEqual(len(same), 1, stored)
        self.assertEqual(same[0]['receipt'], receipt)
        self.assertEqual(same[0]['report_id'], rid1)
        self.assertEqual(same[0]['agent_key'], a1.key)
        self.assertEqual(same[0]['cells'], cells)
        self.assertEqual(len(stored), 1, stored)
        self.assertGreaterEqual(hub.status()['duplicates'], 1)

        # 3. Same natural key, different content. The second agent's own
        # outbox already holds that key, so it refuses locally, naming the
        # next revision; a third agent with a fresh outbox sends it to the
        # hub, followed by good reports.
        bad = self.report('D01', form='F1', period='2026-H1',
                          cells={'C01': 11, 'C02': 20}, texts=texts,
                          name='conflict.json')
        cp = a2.submit(bad)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn(bad, cp.stderr)
        self.assertEqual(len(a2.list()), 1)

        a2.stop()
        a2 = self.new_agent(hub, 'D01', name='agent3')
        after = [self.report('D01', form='G%d' % i, period='2026-H1',
                             name='after%d.json' % i) for i in range(5)]
        ids = a2.submit_ok(bad, *after)
        bad_id = ids[bad]
        a2.start()

        def settled():
            rows = {r['report_id']: r for r in a2.list()}
            return (rows[bad_id]['state'] == 'rejected'
                    and all(rows[ids[x]]['state'] == 'acked'
                            for x in after)) and rows
        rows = self.wait_for(settled, 30, 'conflict rejected, the five '
                             'reports after it acked')
        r = rows[bad_id]
        self.assertEqual(r['code'], 'conflict', r)
        self.assertEqual(r['use_revision'], 2, r)
        self.assertTrue(r['reason'], r)
        self.assertIsNone(r['receipt'], r)
        st = a2.status()
        self.assertEqual(st['rejected'], 1, st)
        self.assertEqual(st['acked'], 5, st)
        self.assertGreaterEqual(hub.status()['nacks'], 1)

        stored = hub.reports()
        ids_at_hub = {x['report_id'] for x in stored}
        self.assertFalse(bad_id in ids_at_hub, 'the conflict was stored')
        self.assertEqual(len(stored), 6, stored)
        same = [x for x in stored
                if (x['unit'], x['form'], x['period'], x['revision'])
                == ('D01', 'F1', '2026-H1', 1)]
        self.assertEqual(len(same), 1)
        self.assertEqual(same[0]['cells'], cells, 'the conflict overwrote '
                         'the stored report')

        # A permanent rejection is not retried: it stays rejected even
        # across a restart of the agent.
        a2.stop()
        a2.start()
        fixed = self.report('D01', form='F1', period='2026-H1', revision=2,
                            cells={'C01': 11, 'C02': 20}, texts=texts,
                            name='fixed.json')
        fid = a2.submit_ok(fixed)[fixed]

        def fixed_acked():
            rows = {r['report_id']: r for r in a2.list()}
            return rows[fid]['state'] == 'acked' and rows
        rows = self.wait_for(fixed_acked, 30, 'revision 2 acked')
        self.assertEqual(rows[bad_id]['state'], 'rejected')
        self.assertEqual(rows[bad_id]['code'], 'conflict')
        stored = hub.reports()
        self.assertEqual(len(stored), 7)
        revs = sorted(x['revision'] for x in stored
                      if (x['unit'], x['form'], x['period'])
                      == ('D01', 'F1', '2026-H1'))
        self.assertEqual(revs, [1, 2])
        a1.stop()
        a2.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()
