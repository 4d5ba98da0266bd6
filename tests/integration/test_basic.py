"""Basic store-and-forward path.

Proves that:
- reports submitted while the hub is down wait in the agent's outbox and are
  all acknowledged, each stored exactly once with the same report_id,
  receipt, cells and texts (Vietnamese UTF-8 intact, a null cell stays
  "not reported", a zero stays zero), once the hub comes up;
- `gom-agent submit` works with no daemon and no hub at all;
- a malformed file, a file without a unit, or a unit the agent is not
  configured for is refused with exit status 1 and a message naming the
  file, nothing of it is queued, and the good files of the same command are;
- the spool folder: a file dropped atomically is taken in, moved to
  spool/done/ and acknowledged; a broken one goes to spool/rejected/ with a
  non-empty reason file beside it.
"""

import json
import os

import gomtest
from gomtest import GomTestCase, write_file_atomic, HEX32, parse_submit

VIET = 'Tổng số nữ: 12 người; ghi chú: đã kiểm tra'


class BasicTest(GomTestCase):

    def test_submit_while_hub_down_then_all_acked(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'X01')
        agent.start()
        files = [
            self.report('X01', form='F1', period='2026-H1',
                        cells={'C01': 5, 'C02': None, 'C03': 0},
                        texts={'T01': VIET}),
            self.report('X01', form='F2', period='2026-H1',
                        cells={'C01': 123456789012, 'C02': -3},
                        texts={'T01': 'Số hộ nghèo', 'T02': 'ASCII'}),
            self.report('X01', form='F1', period='2026-H2'),
        ]
        ids = agent.submit_ok(*files)
        self.assertEqual(len(set(ids.values())), 3, 'report_ids not unique')
        for rid in ids.values():
            self.assertRegex(rid, HEX32)

        # The hub is not running: nothing can be acknowledged.
        st = agent.status()
        self.assertEqual(st['total'], 3, st)
        self.assertEqual(st['acked'], 0, st)
        self.assertEqual(st['rejected'], 0, st)
        # Never connected, so nothing can have been sent either.
        self.assertEqual((st['queued'], st['sent']), (3, 0), st)
        self.assertIsNotNone(st['oldest_queued_age_s'], st)
        self.assertIsNone(st['hub_db_id'], st)
        for r in agent.list():
            self.assertEqual(r['state'], 'queued', r)
            self.assertIsNone(r['receipt'], r)
        agent.assert_alive()

        hub.start()
        hub.wait_listening()
        rows = self.wait_all_acked(agent, 3, timeout=30)
        for r in rows:
            self.assertIsInstance(r['receipt'], int, r)
            self.assertIsNotNone(r['acked_ms'], r)

        st = agent.status()
        self.assertEqual((st['acked'], st['queued'], st['sent'],
                          st['rejected']), (3, 0, 0, 0), st)
        self.assertEqual(st['hub_db_id'], hub.status()['db_id'])

        stored = self.assert_hub_whole(hub, [agent], expect_total=3)
        by_id = {r['report_id']: r for r in stored}
        expect = {}
        for f, rid in ids.items():
            with open(f, encoding='utf-8') as fh:
                expect[rid] = json.load(fh)
        for rid, doc in expect.items():
            h = by_id[rid]
            self.assertEqual(h['unit'], doc['unit'])
            self.assertEqual(h['form'], doc['form'])
            self.assertEqual(h['period'], doc['period'])
            self.assertEqual(h['revision'], doc['revision'])
            self.assertEqual(h['texts'], doc['texts'])
            want_cells = {k: v for k, v in doc['cells'].items()
                          if v is not None}
            got_cells = {k: v for k, v in h['cells'].items()
                         if v is not None}
            self.assertEqual(got_cells, want_cells)
            self.assertIsNotNone(h['sealed_ms'])
        # rule 10: null is "not reported", zero is zero
        first = by_id[ids[files[0]]]
        self.assertIsNone(first['cells'].get('C02'),
                          'null cell came back as a value')
        self.assertIn('C03', first['cells'])
        self.assertEqual(first['cells']['C03'], 0)
        self.assertEqual(first['texts']['T01'], VIET)

        hst = hub.status()
        self.assertEqual(hst['reports'], 3, hst)
        hub.stop()
        agent.stop()

    def test_submit_without_any_daemon(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'X01,X02')
        f1 = self.report('X01')
        f2 = self.report('X02', texts={'T01': VIET})
        cp = agent.submit(f1, f2)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lines = parse_submit(cp.stdout)
        self.assertEqual(set(lines), {f1, f2}, cp.stdout)
        verb, rid, unit, form, period, rev = lines[f2]
        self.assertEqual((verb, unit, form, period, rev),
                         ('queued', 'X02', 'F1', '2026-H1', 1))
        rows = agent.list()
        self.assertEqual(sorted(r['report_id'] for r in rows),
                         sorted(v[1] for v in lines.values()))
        for r in rows:
            self.assertEqual(r['state'], 'queued', r)
        self.assertEqual(agent.status()['queued'], 2)

        # ...and they go out once the daemons run.
        hub.start()
        agent.start()
        self.wait_all_acked(agent, 2, timeout=30)
        self.assert_hub_whole(hub, [agent], expect_total=2)

    def test_bad_files_refused_good_ones_taken(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'X01')
        fdir = os.path.join(self.tmp, 'files')
        os.makedirs(fdir)
        malformed = os.path.join(fdir, 'malformed.json')
        with open(malformed, 'w') as f:
            f.write('{"unit": "X01", "form": "F1", "period": ')
        no_unit = os.path.join(fdir, 'no_unit.json')
        with open(no_unit, 'w') as f:
            json.dump({'form': 'F1', 'period': '2026-H1', 'revision': 1,
                       'cells': {'C01': 1}, 'texts': {}}, f)
        other_unit = self.report('Z99', name='other_unit.json')
        good1 = self.report('X01', form='F1', name='good1.json')
        good2 = self.report('X01', form='F2', name='good2.json')

        cp = agent.submit(good1, malformed, no_unit, other_unit, good2)
        self.assertEqual(cp.returncode, 1,
                         'stdout %r stderr %r' % (cp.stdout, cp.stderr))
        errs = [ln for ln in cp.stderr.splitlines() if ln.strip()]
        for bad in (malformed, no_unit, other_unit):
            self.assertTrue(
                any(ln.startswith('gom-agent: ') and bad in ln
                    for ln in errs),
                'no error line naming %s in %r' % (bad, cp.stderr))
        for good in (good1, good2):
            self.assertFalse(any(good in ln for ln in errs), cp.stderr)
        lines = parse_submit(cp.stdout)
        self.assertEqual(set(lines), {good1, good2}, cp.stdout)

        rows = agent.list()
        self.assertEqual(sorted(r['report_id'] for r in rows),
                         sorted(v[1] for v in lines.values()))
        self.assertEqual(sorted(r['form'] for r in rows), ['F1', 'F2'])
        self.assertFalse(any(r['unit'] == 'Z99' for r in rows))
        self.assertEqual(agent.status()['total'], 2)

        # A command with only bad files: status 1, nothing new.
        cp = agent.submit(malformed)
        self.assertEqual(cp.returncode, 1)
        self.assertIn(malformed, cp.stderr)
        self.assertEqual(len(agent.list()), 2)

    def test_spool_folder(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'X01')
        hub.start()
        agent.start()
        spool = agent.spool
        self.assertTrue(os.path.isdir(spool), spool)
        done = os.path.join(spool, 'done')
        rejected = os.path.join(spool, 'rejected')
        self.assertTrue(os.path.isdir(done))
        self.assertTrue(os.path.isdir(rejected))

        good_doc = {'unit': 'X01', 'form': 'SP', 'period': '2026-H1',
                    'revision': 1, 'cells': {'C01': 7},
                    'texts': {'T01': VIET}}
        write_file_atomic(os.path.join(spool, 'good.json'),
                          json.dumps(good_doc, ensure_ascii=False))
        write_file_atomic(os.path.join(spool, 'broken.json'),
                          '{"unit": "X01", "form": ')

        def in_folder(folder, name):
            try:
                return [f for f in os.listdir(folder) if f.startswith(name)]
            except OSError:
                return []

        self.wait_for(lambda: [f for f in os.listdir(done)
                               if 'good.json' in f], 20,
                      'spool/good.json to reach spool/done/')
        self.wait_for(lambda: 'broken.json' in os.listdir(rejected), 20,
                      'spool/broken.json to reach spool/rejected/')

        def reason_files():
            out = []
            for f in in_folder(rejected, 'broken.json'):
                p = os.path.join(rejected, f)
                if f != 'broken.json' and os.path.getsize(p) > 0:
                    out.append(p)
            return out
        reasons = self.wait_for(reason_files, 10,
                                'a non-empty reason file for broken.json')
        with open(reasons[0], encoding='utf-8', errors='replace') as f:
            self.assertTrue(f.read().strip(), 'empty reason')

        self.assertFalse(os.path.exists(os.path.join(spool, 'good.json')))
        self.assertFalse(os.path.exists(os.path.join(spool, 'broken.json')))
        self.assertEqual(in_folder(rejected, 'good.json'), [])
        self.assertEqual(in_folder(done, 'broken.json'), [])

        rows = self.wait_all_acked(agent, 1, timeout=30)
        self.assertEqual((rows[0]['unit'], rows[0]['form']), ('X01', 'SP'))
        stored = self.assert_hub_whole(hub, [agent], expect_total=1)
        self.assertEqual(stored[0]['texts'], {'T01': VIET})
        self.assertEqual(stored[0]['cells'], {'C01': 7})
        agent.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()
