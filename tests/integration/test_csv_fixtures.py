"""CSV files as Excel and LibreOffice save them (tests/fixtures/csv/).

Each good fixture is submitted by a real agent (checked offline against the
form the hub sent it), delivered, and what the hub stored must be exactly
the figures and texts expected.json says were typed: Excel's "CSV UTF-8"
(BOM, CRLF, rows padded to the used range), ";" as Excel writes it with a
Vietnamese list separator and "1.234" thousands, "1,234" (quoted) and
"1 234", quoted fields with newlines and doubled quotes (texts, and a label
a person wrapped), trailing empty columns, rows and blank lines, and two
files LibreOffice Calc itself wrote from a filled template round-tripped
through .xlsx ("," and ";", every text cell quoted, no BOM, LF).

The malformed ones (binary junk, a form code the hub never sent, a unit
that is not the agent's, letters in a figure) are refused by `gom-agent
submit` with the file, the line or cell, and what is wrong; nothing is
queued and the file stays where it was. The line of a bad figure is the
spreadsheet row (a field with a newline in it is one row), and the label
quoted in the message is cut at a character boundary (valid UTF-8).
"""
import csv
import json
import os
import shutil

import gomtest

FIXTURES = os.path.join(gomtest.ROOT, 'tests', 'fixtures', 'csv')
UNITS = ['18073', '18076', '18079', '18082', '18085', '18088', '18091',
         '18094']
TREE = ('code,name,parent,level,active_from,inactive_from\n'
        '42,Tỉnh Hà Tĩnh,,province,,\n'
        '436,Thành phố Hà Tĩnh,42,district,,\n' +
        ''.join('%s,Phường %s,436,commune,,\n' % (u, u) for u in UNITS))


class CsvFixtures(gomtest.GomTestCase):

    def test_fixtures(self):
        with open(os.path.join(FIXTURES, 'expected.json'),
                  encoding='utf-8') as f:
            expected = json.load(f)
        for name in ('excel-utf8-bom-crlf.csv', 'excel-semicolon-vi.csv',
                     'excel-thousands-comma.csv', 'quoted-newlines.csv',
                     'trailing-empty.csv', 'libreoffice-calc.csv',
                     'libreoffice-calc-semicolon.csv'):
            self.assertIn(name, expected, 'fixture missing from expected')

        hub = self.new_hub()
        hub.install_pack(tree=TREE)
        n_forms = len(gomtest.SEED_FORMS)
        hub.start()
        hub.wait_listening()
        a = self.new_agent(hub, UNITS, name='a')
        a.start()
        self.wait_forms_cached(a, n_forms)

        files = os.path.join(self.tmp, 'files')
        os.makedirs(files)

        def copy(name):
            path = os.path.join(files, name)
            shutil.copy(os.path.join(FIXTURES, name), path)
            return path

        # Good ones: each queued after the offline check.
        for name, want in sorted(expected.items()):
            cp = a.submit(copy(name))
            self.assertEqual(cp.returncode, 0, '%s: %s' % (name, cp.stderr))
            got = gomtest.parse_submit(cp.stdout)
            self.assertEqual(
                got[os.path.join(files, name)][2:5],
                (want['unit'], want['form'], want['period']), name)
            self.assertIn('checked against form %s v1' % want['form'],
                          cp.stdout)
        queued = len(a.list())
        self.assertEqual(queued, len(expected))

        # Malformed ones: refused, named, nothing queued, the file kept.
        with open(os.path.join(FIXTURES, 'bad-letters.csv'),
                  encoding='utf-8-sig', newline='') as f:
            row = 1 + [r[0] if r else '' for r in csv.reader(f)].index('TT3')
        bad = {
            'bad-binary.csv': ['bad-binary.csv: line 1: '],
            'bad-form-code.csv': [
                'bad-form-code.csv: form HT-VSTBPN-6X is not one of the '
                'forms the hub has sent', 'HT-VSTBPN-6T',
                'on the #gom line (line 1)'],
            'bad-unit.csv': ['bad-unit.csv: unit 79999 is not one of this '
                             "agent's units"],
            'bad-letters.csv': [
                'bad-letters.csv: line %d: ô TT3.nam (Số lãnh đạo' % row,
                '"12a" is not a whole number'],
        }
        for name, parts in sorted(bad.items()):
            path = copy(name)
            cp = a.submit(path)
            self.assertEqual(cp.returncode, 1, '%s was taken: %s'
                             % (name, cp.stdout))
            self.assertEqual(cp.stdout, '', name)
            for part in parts:
                self.assertIn(part, cp.stderr, name)
            self.assertNotIn('\ufffd', cp.stderr,
                             '%s: the message is not valid UTF-8' % name)
            self.assertEqual(len(a.list()), queued,
                             '%s: something was queued' % name)
            self.assertTrue(os.path.exists(path), '%s was not kept' % name)
        # Binary junk is neither a template nor a crash.
        cp = a.submit(os.path.join(files, 'bad-binary.csv'))
        self.assertTrue('not a gom template' in cp.stderr
                        or 'not valid CSV' in cp.stderr, cp.stderr)

        # At the hub: exactly what was typed.
        self.wait_all_acked(a, queued)
        stored = {r['unit']: r for r in hub.reports()}
        for name, want in expected.items():
            r = stored[want['unit']]
            self.assertEqual((r['form'], r['period'], r['revision']),
                             (want['form'], want['period'], 1), name)
            self.assertEqual(r['cells'], want['cells'], name)
            self.assertEqual(r['texts'], want['texts'], name)

        # And in the consolidated table of the half-year form.
        six = {n: w for n, w in expected.items()
               if w['form'] == 'HT-VSTBPN-6T'}
        totals = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form',
             'HT-VSTBPN-6T', '--period', '2026-H1', '--json'], what='totals')
        for c in totals['cells']:
            vals = [w['cells'][c['code']] for w in six.values()
                    if c['code'] in w['cells']]
            self.assertEqual((c['sum'], c['units']),
                             (sum(vals) if vals else None, len(vals)),
                             c['code'])
        self.assertEqual(totals['reports'], len(six))


if __name__ == '__main__':
    gomtest.main()
