"""The commune officer's spreadsheet path, end to end.

`gom-agent template` writes a CSV of a seed form (from the form the hub sent
the agent): UTF-8 with a byte-order mark, Vietnamese labels, a box per
cell. The test fills it in as a person would in a spreadsheet (Python's csv
module standing in for Excel), including Excel's ";" flavour and thousands
separators, and submits it: the report is checked offline, queued, and
stored at the hub with exactly the figures typed; a box left empty is "not
reported". A figure that is not a whole number, or one that breaks the
form's rules, is refused with the line and the cell named; nothing queued.
"""
import csv
import io
import os

import gomtest
import test_forms


class Spreadsheet(test_forms.FormsMixin, gomtest.GomTestCase):

    def fill(self, template, values, texts, path, delimiter=','):
        """Types values {row: {column_index: text}} and texts {code: text}
        into the template, saving as Excel would (BOM kept)."""
        with open(template, encoding='utf-8-sig') as f:
            rows = list(csv.reader(f))
        for row in rows:
            if row and row[0] in values:
                for i, v in values[row[0]].items():
                    row[3 + i] = v
            if row and row[0] == '#text' and row[1] in texts:
                row[3] = texts[row[1]]
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator='\r\n').writerows(
            rows)
        with open(path, 'w', encoding='utf-8-sig', newline='') as f:
            f.write(buf.getvalue())
        return path

    def test_template_fill_submit(self):
        hub = self.hub_with_pack()
        hub.start()
        hub.wait_listening()
        a = self.new_agent(hub, ['18073'], name='a')
        a.start()
        cached = os.path.join(a.dir, 'forms', 'HT-VSTBPN-6T.v1.json')
        self.wait_for(lambda: os.path.exists(cached), 20, 'forms cached')

        tpl = os.path.join(self.tmp, 'template.csv')
        gomtest.run_cli([gomtest.AGENT_BIN, 'template', '--config', a.cfg,
                         '--form', 'HT-VSTBPN-6T', '--period', '2026-H1',
                         '--out', tpl], what='gom-agent template')
        with open(tpl, 'rb') as f:
            raw = f.read()
        self.assertTrue(raw.startswith(b'\xef\xbb\xbf'), 'no UTF-8 BOM')
        text = raw.decode('utf-8-sig')
        self.assertIn('Số lượng các cuộc tuyên truyền', text)
        self.assertIn('#gom,form,HT-VSTBPN-6T'.replace(',', '","'), text)

        # TT3: columns so / nam / nu (indices 0, 1, 2); "1.234" is 1234.
        values = {'TC1': {0: '2'}, 'TC3': {0: ' 12 '},
                  'TT3': {1: '1.234', 2: '2 345'}, 'TT4': {1: '1000'},
                  'CB1': {0: '15', 1: '4'}}
        texts = {'situation': 'Tình hình chung: ổn định,\n"tốt".',
                 'directions': 'Phương hướng: tiếp tục.'}
        filled = self.fill(tpl, values, texts,
                           os.path.join(self.tmp, 'filled.csv'),
                           delimiter=';')
        cp = a.submit(filled)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn('checked against form HT-VSTBPN-6T v1', cp.stdout)
        self.wait_all_acked(a, 1)
        stored = hub.reports()[0]
        self.assertEqual(stored['cells'], {
            'TC1.so': 2, 'TC3.so': 12, 'TT3.nam': 1234, 'TT3.nu': 2345,
            'TT4.nam': 1000, 'CB1.tong': 15, 'CB1.nu': 4})
        self.assertEqual(stored['texts'], texts)
        self.assertEqual((stored['unit'], stored['period'],
                          stored['revision']), ('18073', '2026-H1', 1))

        # The same file again: nothing new. Other figures for the same unit,
        # form and period: refused unless --revise, which makes revision 2.
        cp = a.submit(filled)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertTrue(cp.stdout.startswith('already queued:'), cp.stdout)
        values['TC1'] = {0: '3'}
        corrected = self.fill(tpl, values, texts,
                              os.path.join(self.tmp, 'corrected.csv'))
        cp = a.submit(corrected)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('--revise (it becomes revision 2)', cp.stderr)
        cp = gomtest.run_cli([gomtest.AGENT_BIN, 'submit', '--config', a.cfg,
                              '--revise', corrected], what='submit --revise')
        self.assertIn(' r2 ', cp.stdout)
        cp = gomtest.run_cli([gomtest.AGENT_BIN, 'submit', '--config', a.cfg,
                              '--revise', corrected], what='submit --revise')
        self.assertIn('nothing new to send', cp.stdout)
        self.wait_all_acked(a, 2)
        revs = sorted(r['revision'] for r in hub.reports())
        self.assertEqual(revs, [1, 2], 'every revision stays on record')
        totals = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form',
             'HT-VSTBPN-6T', '--period', '2026-H1', '--json'], what='totals')
        tc1 = [c for c in totals['cells'] if c['code'] == 'TC1.so'][0]
        self.assertEqual((tc1['sum'], tc1['units']), (3, 1),
                         'totals must use the highest revision only')

        # Not a whole number: the line and the cell are named.
        bad = self.fill(tpl, {'TC2': {0: '3,5'}}, {},
                        os.path.join(self.tmp, 'bad.csv'))
        cp = a.submit(bad)
        self.assertEqual(cp.returncode, 1)
        with open(tpl, encoding='utf-8-sig') as f:
            line = 1 + [r[0] for r in csv.reader(f)].index('TC2')
        self.assertIn('line %d: ô TC2.so' % line, cp.stderr)
        self.assertIn('"3,5" is not a whole number', cp.stderr)

        # Against the form's rules (women > total), as revision 2.
        broken = self.fill(tpl, {'CB1': {0: '5', 1: '9'}},
                           {'situation': 'x', 'directions': 'y'},
                           os.path.join(self.tmp, 'broken.csv'))
        with open(broken, encoding='utf-8-sig') as f:
            content = f.read().replace('"revision","1"', '"revision","2"')
        with open(broken, 'w', encoding='utf-8-sig') as f:
            f.write(content)
        cp = a.submit(broken)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('CB1.nu = 9 is more than cell CB1.tong = 5', cp.stderr)
        self.assertEqual(len(a.list()), 2, 'a refused report was queued')

        # A file that is not a template at all.
        junk = os.path.join(self.tmp, 'junk.csv')
        with open(junk, 'wb') as f:
            f.write(b'a,b,c\n\x00\xff\xfe garbage\n')
        cp = a.submit(junk)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('junk.csv: line 1: not a gom template', cp.stderr)


if __name__ == '__main__':
    gomtest.main()
