"""A generated province through real processes: 1 province, 10 districts,
1,000 communes (a 3-level tree; 3 communes closed before the deadline),
900 of them reporting on the Thanh Hóa 2020 targets form (seed 001, given a
deadline in 2099 so that every report is on time) through a real agent
enrolled for all of them; a tenth also send a revision 2 with other
figures, and about 5% of cells are left empty.

The test computes the expected totals itself from the figures it wrote:
every cell's sum and count over the units' latest revisions, every ratio
as sum over sum against its target, completeness (997 expected, 900 on
time, 97 missing), and one district's arrivals unit by unit, and compares
them with `gom-hub totals` and `gom-hub arrivals`. (Checked to fail: with
totals reading the lowest revision instead of the highest.)
"""
import glob
import json
import os
import random
import shutil

import gomtest

FORM = os.path.join(gomtest.ROOT, 'deploy', 'forms',
                    'TH-SLDTBXH-BDG-2020.json')


class Province(gomtest.GomTestCase):

    def test_generated_province(self):
        rnd = random.Random(20201218)
        with open(FORM, encoding='utf-8') as f:
            form = json.load(f)
        form['form'] = 'TH-GEN'
        form['deadline'] = {'date': '2099-12-31'}
        cells = []
        for sec in form['sections']:
            cols = [c['code'] for c in sec['columns']]
            for row in sec['rows']:
                if row.get('heading'):
                    continue
                for c in row.get('columns', cols):
                    cells.append((row['code'], c, row.get('le')))
        self.assertGreater(len(cells), 10)

        hub = self.new_hub()
        # One agent sends about 990 reports: the per-key limit (600 at
        # once, then 10 a second) would make this test wait 40 s.
        hub.set('max_reports_per_minute', 0)
        forms = os.path.join(hub.dir, 'forms')
        with open(os.path.join(forms, 'TH-GEN.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(form, f, ensure_ascii=False)
        lines = ['code,name,parent,level,active_from,inactive_from',
                 '38,Tỉnh Thanh Hóa,,province,,']
        communes, closed = [], set()
        for d in range(10):
            lines.append('D%02d,Huyện %d,38,district,,' % (d, d))
            for c in range(100):
                code = 'C%02d%03d' % (d, c)
                communes.append((code, 'D%02d' % d))
                until = ''
                if d == 0 and c < 3:
                    until = '2020-01-01'     # merged away long ago
                    closed.add(code)
                lines.append('%s,Xã %d-%d,D%02d,commune,,%s'
                             % (code, d, c, d, until))
        with open(os.path.join(hub.dir, 'units.csv'), 'w',
                  encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
        hub.start()
        hub.wait_listening()

        # 900 communes report; a tenth of them send a revision 2.
        active = [(c, d) for c, d in communes if c not in closed]
        reporting = rnd.sample(active, 900)
        agent = self.new_agent(hub, [c for c, _ in reporting], name='agent')
        latest = {}
        files = []
        for code, _ in reporting:
            for rev in ((1, 2) if rnd.random() < 0.1 else (1,)):
                values = {}
                for row, col, le in cells:
                    if rnd.random() < 0.05:
                        continue             # not reported: stays empty
                    values['%s.%s' % (row, col)] = rnd.randint(0, 50)
                # keep part <= whole rules true
                for row, col, le in cells:
                    k, w = '%s.%s' % (row, col), '%s.%s' % (le, col)
                    if le and k in values and w in values:
                        values[w] = max(values[w], values[k])
                files.append(self.report(
                    code, form='TH-GEN', period='2020', revision=rev,
                    cells=values, texts={},
                    name='%s-r%d.json' % (code, rev)))
                latest[code] = values
        for k in range(0, len(files), 250):
            agent.submit_ok(*files[k:k + 250])
        agent.start()
        self.wait_for(lambda: agent.status()['acked'] == len(files), 120,
                      '%d reports acked' % len(files))

        got = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form',
             'TH-GEN', '--period', '2020', '--json'], what='totals')
        sums, counts = {}, {}
        for values in latest.values():
            for k, v in values.items():
                sums[k] = sums.get(k, 0) + v
                counts[k] = counts.get(k, 0) + 1
        for c in got['cells']:
            self.assertEqual(c['sum'], sums.get(c['code']), c['code'])
            self.assertEqual(c['units'], counts.get(c['code'], 0), c['code'])
        for ind in got['indicators']:
            spec = [i for i in form['indicators']
                    if i['code'] == ind['code']][0]
            num = sum(sums.get(k, 0) for k in spec['numerator'])
            den = sum(sums.get(k, 0) for k in spec['denominator'])
            scale = spec.get('scale', 100)
            want = round(scale * num / den, 2) if den else None
            self.assertEqual((ind['numerator'], ind['denominator']),
                             (num, den), ind['code'])
            if want is None:
                self.assertIsNone(ind['value'])
                continue
            self.assertAlmostEqual(ind['value'], want, places=2)
            t = spec.get('target', {})
            met = ((t.get('min') is None or scale * num / den >= t['min'])
                   and (t.get('max') is None
                        or scale * num / den <= t['max']))
            if t:
                self.assertEqual(ind['met'], met, ind['code'])

        comp = got['completeness']
        self.assertEqual(comp['expected'], 997)
        self.assertEqual((comp['on_time'], comp['late'], comp['missing']),
                         (900, 0, 97))
        self.assertAlmostEqual(comp['percent'], round(900 / 997 * 100, 1))

        # One district: arrivals per unit equal the ground truth.
        arr = gomtest.run_json(
            [gomtest.HUB_BIN, 'arrivals', '--config', hub.cfg, '--form',
             'TH-GEN', '--period', '2020', '--unit', 'D00', '--json'],
            what='arrivals')
        want = {c: ('on_time' if c in latest else 'missing')
                for c, d in active if d == 'D00'}
        self.assertEqual({u['code']: u['state'] for u in arr['units']}, want)
        revs = {u['code']: u['revision'] for u in arr['units']
                if u['revision']}
        for code, rev in revs.items():
            self.assertEqual(rev, 2 if os.path.exists(os.path.join(
                self.tmp, 'files', '%s-r2.json' % code)) else 1)


if __name__ == '__main__':
    gomtest.main()
