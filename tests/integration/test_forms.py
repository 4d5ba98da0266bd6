"""Forms and the unit tree, end to end with the seed documents' forms.

- The hub loads the form pack (deploy/forms) and a unit tree; a broken form
  file or tree stops `gom-hub run` with the file, the place and the fault.
- An agent receives the forms when it connects and caches them; from then
  on `gom-agent submit` checks a report offline and refuses it with every
  problem named by cell code (nothing queued).
- An agent that has not got the forms yet queues the report unchecked; the
  hub then checks it and rejects it permanently with the problems; the
  report after it is still acknowledged.
- Units outside the tree, and forms outside the pack, are refused.
"""
import glob
import json
import os
import subprocess
import zipfile

import gomtest

FORMS = sorted(glob.glob(os.path.join(gomtest.ROOT, 'deploy', 'forms',
                                      '*.json')))
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')


class FormsMixin(object):
    """A hub with the seed forms and a small Hà Tĩnh tree; sample reports."""

    def hub_with_pack(self):
        hub = self.new_hub()
        hub.install_pack(FORMS)
        return hub

    def sample(self, base, **changes):
        with open(os.path.join(SAMPLES, '%s-2026-H1.json' % base)) as f:
            doc = json.load(f)
        for key, value in changes.items():
            if key == 'cells':
                doc['cells'].update(value)
            else:
                doc[key] = value
        self.n_samples = getattr(self, 'n_samples', 0) + 1
        return self.report(doc['unit'], extra=doc,
                           name='%s-%d.json' % (base, self.n_samples))


class Forms(FormsMixin, gomtest.GomTestCase):

    def test_forms_end_to_end(self):
        self.assertGreaterEqual(len(FORMS), 5, 'deploy/forms is incomplete')
        hub = self.hub_with_pack()
        hub.start()
        hub.wait_listening()
        self.assertIn('catalog: %d forms' % len(FORMS), hub.log_text())
        self.assertIn('5 units', hub.log_text())

        # Agent A receives the forms when it connects.
        a = self.new_agent(hub, ['18073', '18099'], name='a')
        a.start()
        self.wait_forms_cached(a, len(FORMS), timeout=20)
        self.assertEqual(len(os.listdir(os.path.join(a.dir, 'forms'))),
                         len(FORMS), 'agent a caches every form, no more')

        # Offline check at submit: women > total, a required text missing.
        bad = self.sample('18073', cells={'CB1.nu': 16},
                          texts={'situation': 'x'})
        cp = a.submit(bad)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn('CB1.nu = 16 is more than cell CB1.tong = 15',
                      cp.stderr)
        self.assertIn('text directions is required but empty', cp.stderr)
        self.assertIn('Cấp ủy Đảng', cp.stderr)     # the row's label
        self.assertEqual(a.list(), [], 'a refused report was queued')

        good = self.sample('18073')
        cp = a.submit(good)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('checked against form HT-VSTBPN-6T v1', cp.stdout)
        self.wait_all_acked(a, 1)
        stored = hub.reports()
        self.assertEqual(stored[0]['form_version'], 1)

        # A unit the key may report for but that is not in the tree.
        outside = self.sample('18073', unit='18099')
        a.submit_ok(outside)

        def rejected(agent, unit):
            rows = [r for r in agent.list() if r['unit'] == unit]
            return rows and rows[0]['state'] == 'rejected' and rows[0]
        row = self.wait_for(lambda: rejected(a, '18099'), 30,
                            'report for a unit outside the tree rejected')
        self.assertEqual(row['code'], 'unknown-unit')

        # Agent B has no forms yet: it queues unchecked; the hub refuses.
        b = self.new_agent(hub, ['18076'], name='b')
        wrong = self.sample('18076', cells={'TT4.nu': 999, 'ZZ.so': 1})
        cp = b.submit(wrong)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('not checked', cp.stdout)
        unknown = self.sample('18076', form='NO-SUCH-FORM')
        after = self.sample('18076', period='2026-H2')
        b.submit_ok(unknown, after)
        b.start()
        row = self.wait_for(
            lambda: [r for r in b.list() if r['state'] == 'rejected'
                     and r['form'] == 'HT-VSTBPN-6T'], 30,
            'hub rejects the report that fails the form')[0]
        self.assertEqual(row['code'], 'invalid')
        self.assertIn('ZZ.so is not in form HT-VSTBPN-6T', row['reason'])
        self.assertIn('TT4.nu = 999 is more than cell TT3.nu = 37',
                      row['reason'])
        row = self.wait_for(
            lambda: [r for r in b.list() if r['state'] == 'rejected'
                     and r['form'] == 'NO-SUCH-FORM'], 30,
            'hub rejects an unknown form')[0]
        self.assertEqual(row['code'], 'unknown-form')
        self.wait_for(
            lambda: [r for r in b.list() if r['period'] == '2026-H2'
                     and r['state'] == 'acked'], 30,
            'the good report after the rejected ones is acked')
        units = sorted(r['unit'] for r in hub.reports())
        self.assertEqual(units, ['18073', '18076'], 'refused reports stored')

        # Consolidation: only the stored 2026-H1 report (18073) counts; the
        # tree's three communes are expected, two are missing.
        totals = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form',
             'HT-VSTBPN-6T', '--period', '2026-H1', '--unit', '42', '--json'],
            what='gom-hub totals')
        with open(os.path.join(SAMPLES, '18073-2026-H1.json')) as f:
            want = json.load(f)['cells']
        cells = {c['code']: c for c in totals['cells']}
        for code, value in want.items():
            self.assertEqual(cells[code]['sum'], value, code)
            self.assertEqual(cells[code]['units'], 1, code)
        self.assertIsNone(cells['CB2.tong']['sum'], 'empty is not zero')
        ind = {i['code']: i for i in totals['indicators']}
        self.assertAlmostEqual(ind['women_party_committees']['value'],
                               round(100.0 * want['CB1.nu']
                                     / want['CB1.tong'], 2))
        comp = totals['completeness']
        self.assertEqual((comp['expected'], comp['missing']), (3, 2))
        self.assertEqual(sorted(u['code'] for u in comp['missing_units']),
                         ['18076', '18079'])

        # Arrivals: 18073 late (the H1 deadline has passed), 18076 rejected
        # (its H1 report was refused; its H2 report does not count here),
        # 18079 missing; never above 100%.
        arr = gomtest.run_json(
            [gomtest.HUB_BIN, 'arrivals', '--config', hub.cfg, '--form',
             'HT-VSTBPN-6T', '--period', '2026-H1', '--json'],
            what='gom-hub arrivals')
        states = {u['code']: u['state'] for u in arr['units']}
        self.assertEqual(states, {'18073': 'late', '18076': 'rejected',
                                  '18079': 'missing'})
        rej = [u for u in arr['units'] if u['code'] == '18076'][0]
        self.assertEqual(rej['rejected_code'], 'invalid')
        self.assertEqual((arr['expected'], arr['late'], arr['rejected'],
                          arr['missing']), (3, 1, 1, 2))
        self.assertAlmostEqual(arr['percent'], 33.3)
        self.assertEqual(rej['parent_name'], 'Thành phố Hà Tĩnh')

        # The same table as an Excel workbook in the form's layout.
        xlsx = os.path.join(self.tmp, 'tong-hop.xlsx')
        gomtest.run_cli([gomtest.HUB_BIN, 'export', '--config', hub.cfg,
                         '--form', 'HT-VSTBPN-6T', '--period', '2026-H1',
                         '--xlsx', xlsx], what='gom-hub export')
        with zipfile.ZipFile(xlsx) as z:
            names = z.namelist()
            strings = z.read('xl/sharedStrings.xml').decode('utf-8')
            sheet = z.read('xl/worksheets/sheet1.xml').decode('utf-8')
        self.assertIn('xl/worksheets/sheet3.xml', names)
        self.assertIn('II.2.1. Công tác tổ chức', strings)
        self.assertIn('Cấp ủy Đảng (cấp ủy viên)', strings)
        self.assertIn('Bị từ chối', strings)          # 18076's state
        self.assertIn('<v>%d</v>' % want['CB1.tong'], sheet)

        # The narrative of one section from every unit.
        texts = gomtest.run_json(
            [gomtest.HUB_BIN, 'texts', '--config', hub.cfg, '--form',
             'HT-VSTBPN-6T', '--period', '2026-H1', '--section', 'situation',
             '--json'], what='gom-hub texts')
        with open(os.path.join(SAMPLES, '18073-2026-H1.json')) as f:
            want_text = json.load(f)['texts']['situation']
        self.assertEqual([(t['unit'], t['text']) for t in texts],
                         [('18073', want_text)])

    def run_hub_expecting_refusal(self, hub):
        cp = subprocess.run([gomtest.HUB_BIN, 'run', '--config', hub.cfg],
                            capture_output=True, text=True, timeout=30)
        self.assertNotEqual(cp.returncode, 0, 'hub started with a broken '
                            'catalog')
        return cp.stderr + cp.stdout

    def test_broken_catalog_stops_the_hub(self):
        hub = self.hub_with_pack()
        broken = os.path.join(hub.dir, 'forms', 'ZZ-broken.json')
        with open(broken, 'w') as f:
            f.write('{"form": "ZZ", "version": 1, "title": "x", '
                    '"period": "year", "deadline": {"year": "12-14"}, '
                    '"sections": [{"code": "S", "columns": [{"code": "a"}], '
                    '"rows": [{"code": "R", "le": "Q"}]}]}')
        err = self.run_hub_expecting_refusal(hub)
        self.assertIn('ZZ-broken.json: sections[0].rows[0]', err)
        self.assertIn('"le": row Q has no cell', err)
        os.remove(broken)
        with open(os.path.join(hub.dir, 'units.csv'), 'a') as f:
            f.write('18080,Xã thiếu cha,999,commune,,\n')
        err = self.run_hub_expecting_refusal(hub)
        self.assertIn('units.csv:7: unit 18080: parent 999 is not in the '
                      'file', err)


if __name__ == '__main__':
    gomtest.main()
