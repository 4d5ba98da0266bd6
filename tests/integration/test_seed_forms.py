"""Every seed form the whole way through real processes, the hub's own
checks against forged reports, and a 2-level beside a 3-level province.

test_every_seed_form: for each of the five forms in deploy/forms/, each
commune's agent writes the template (`gom-agent template`), the test fills
it in as a person would in a spreadsheet (keeps the layout, types numbers
into some boxes, leaves others empty; saved as Excel does: BOM, CRLF, "," or
";", thousands written "1.234" or "1,234"), `gom-agent submit`s it, the
agent delivers it, and `gom-hub totals --json` (province, district and one
commune) must equal what the test computes from the figures it typed: each
cell's sum and how many units reported it, each ratio as sum over sum times
its scale against its target, completeness from the form's deadline. The
figures are drawn at random (fixed seed) and then made to satisfy the form's
rules (part <= whole, total = sum of parts), which the test reads from the
form file itself.

test_forged_reports: gom-probe sends reports with an enrolled agent's key
that never went through the agent's checks, each breaking one rule (women >
total, a negative figure, a required cell or text missing, a cell or text
not in the form, a period the form does not have, total != its parts): the
hub answers each with a permanent NACK "invalid" naming the rule, stores
nothing, and totals stay as they were; a unit whose only report was forged
shows as "rejected" in arrivals.

test_two_and_three_level_provinces: the same form in a province of
province -> district -> commune and one of province -> commune (as since
2025): completeness counts the leaves, totals and arrivals per subtree
(--unit) equal the independent computation.
"""
import copy
import csv
import datetime
import fractions
import json
import os
import random
import subprocess
import time

import gomtest

FORMS_DIR = os.path.join(gomtest.ROOT, 'deploy', 'forms')
PROBE = os.environ.get('GOM_PROBE',
                       os.path.join(gomtest.ROOT, 'build', 'tests',
                                    'gom-probe'))

# One valid period for each seed form.
PERIODS = {
    'DB-LDLD-BDG-2016-2020': '2016-2020',
    'DB-LDLD-NUCB-2020': '2018-2023',
    'HT-VSTBPN-6T': '2026-H1',
    'HT-VSTBPN-NAM': '2026',
    'TH-SLDTBXH-BDG-2020': '2020',
}

TREE = gomtest.SAMPLE_TREE
COMMUNES = ['18073', '18076', '18079']


def load_form(code):
    with open(os.path.join(FORMS_DIR, code + '.json'), encoding='utf-8') as f:
        return json.load(f)


class FormModel(object):
    """What the test needs to know of a form, read from its file (not from
    gom): cells, rules, indicators, texts, deadline."""

    def __init__(self, doc):
        self.doc = doc
        self.code = doc['form']
        self.cells = []              # cell codes, in the form's order
        self.les = []                # (part, whole)
        self.sums = []               # (total, [parts])
        self.required = set()
        row_cols = {}
        for sec in doc['sections']:
            cols = [c['code'] for c in sec['columns']]
            for row in sec['rows']:
                if row.get('heading'):
                    continue
                have = row.get('columns', cols)
                row_cols[row['code']] = have
                for c in have:
                    code = '%s.%s' % (row['code'], c)
                    self.cells.append(code)
                    if row.get('required') or sec.get('required'):
                        self.required.add(code)
                for total, parts in (sec.get('sum_columns') or {}).items():
                    if total in have and all(p in have for p in parts):
                        self.sums.append((
                            '%s.%s' % (row['code'], total),
                            ['%s.%s' % (row['code'], p) for p in parts]))
        for sec in doc['sections']:
            for row in sec['rows']:
                if row.get('le'):
                    for c in row_cols[row['code']]:
                        if c in row_cols[row['le']]:
                            self.les.append(('%s.%s' % (row['code'], c),
                                             '%s.%s' % (row['le'], c)))
        for chk in doc.get('checks', []):
            if chk['type'] == 'le':
                self.les.append((chk['cell'], chk['max']))
            elif chk['type'] == 'sum':
                self.sums.append((chk['cell'], list(chk['parts'])))
            elif chk['type'] == 'required':
                self.required.update(chk['cells'])
        self.texts = [(t['code'], bool(t.get('required')))
                      for t in doc.get('texts', [])]
        self.indicators = doc.get('indicators', [])

    def problems(self, v):
        """The rules v breaks (the test's own reading of docs/forms.md)."""
        out = []
        for c in self.required:
            if c not in v:
                out.append('%s required' % c)
        for c, x in v.items():
            if c not in self.cells or x < 0:
                out.append('%s = %r' % (c, x))
        for part, whole in self.les:
            if part in v and whole in v and v[part] > v[whole]:
                out.append('%s > %s' % (part, whole))
        for total, parts in self.sums:
            if total in v and all(p in v for p in parts) \
                    and v[total] != sum(v[p] for p in parts):
                out.append('%s != sum' % total)
        return out

    def draw(self, rnd, empty=0.2):
        """Figures a unit might report: some cells empty, the rest drawn,
        then adjusted until every rule holds (bounded)."""
        v = {}
        for c in self.cells:
            if c in self.required or rnd.random() >= empty:
                v[c] = rnd.choice([rnd.randint(0, 60), rnd.randint(0, 60),
                                   rnd.randint(100, 99999)])
        for _ in range(50):
            changed = False
            derived = set()
            for total, parts in self.sums:
                if total in v and all(p in v for p in parts):
                    derived.add(total)
                    s = sum(v[p] for p in parts)
                    if v[total] != s:
                        v[total] = s
                        changed = True
            for part, whole in self.les:
                if part in v and whole in v and v[part] > v[whole]:
                    if whole in derived:
                        v[part] = v[whole]
                    else:
                        v[whole] = v[part]
                    changed = True
            if not changed:
                break
        assert not self.problems(v), self.problems(v)
        return v

    def deadline_ms(self, period):
        """End of the deadline day, Vietnam time (UTC+7), in Unix ms."""
        d = self.doc['deadline']
        if 'date' in d:
            day = d['date']
        elif 'year' in d:
            day = '%s-%s' % (period[:4], d['year'])
        else:
            day = '%s-%s' % (period[:4], d[period[5:]])
        y, m, dd = (int(x) for x in day.split('-'))
        tz = datetime.timezone(datetime.timedelta(hours=7))
        end = datetime.datetime(y, m, dd, tzinfo=tz) + \
            datetime.timedelta(days=1)
        return int(end.timestamp() * 1000) - 1

    def expected_totals(self, reports):
        """{unit: values} -> (cells {code: (sum or None, units)},
        indicators {code: (num, den, exact value or None, met)})."""
        cells = {}
        for c in self.cells:
            got = [v[c] for v in reports.values() if c in v]
            cells[c] = (sum(got) if got else None, len(got))
        inds = {}
        for ind in self.indicators:
            num = sum(cells[c][0] or 0 for c in ind['numerator'])
            den = sum(cells[c][0] or 0 for c in ind['denominator'])
            any_num = any(cells[c][1] for c in ind['numerator'])
            scale = ind.get('scale', 100)
            value = met = None
            if any_num and den > 0:
                exact = fractions.Fraction(scale) * num / den
                value = exact
                t = ind.get('target') or {}
                if t:
                    met = ((t.get('min') is None or exact >= t['min'])
                           and (t.get('max') is None or exact <= t['max']))
            inds[ind['code']] = (num, den, value, met)
        return cells, inds


def fmt_number(n, style):
    """A whole number as a person types it: plain, "1.234" (Vietnamese
    thousands), "1,234", or with spaces around."""
    if style == 'vi':
        return '{:,}'.format(n).replace(',', '.')
    if style == 'en':
        return '{:,}'.format(n)
    if style == 'spaced':
        return ' %d ' % n
    return str(n)


def fill_template(tc, template, model, values, texts, path, delimiter=',',
                  style='plain'):
    """Reads the template with the csv module, checks its boxes are exactly
    the form's cells, types values {cell: n} into the boxes and texts into
    the narrative lines, and saves as Excel's "CSV UTF-8" does."""
    with open(template, encoding='utf-8-sig', newline='') as f:
        rows = list(csv.reader(f))
    tc.assertEqual(rows[0][0], '#gom', 'template does not start with #gom')
    columns = []
    boxes = []
    for row in rows:
        if not row:
            continue
        if row[0] == '#columns':
            columns = row[3:]
        elif row[0] == '#text':
            if row[1] in texts:
                row[3] = texts[row[1]]
        elif not row[0].startswith('#'):
            for i, col in enumerate(columns):
                box = row[3 + i]
                code = '%s.%s' % (row[0], col)
                if box == 'x':
                    continue
                tc.assertEqual(box, '', 'template box %s not empty' % code)
                boxes.append(code)
                if code in values:
                    row[3 + i] = fmt_number(values[code], style)
    tc.assertEqual(sorted(boxes), sorted(model.cells),
                   '%s: the template\'s boxes are not the form\'s cells'
                   % model.code)
    with open(path, 'w', encoding='utf-8-sig', newline='') as f:
        csv.writer(f, delimiter=delimiter, lineterminator='\r\n').writerows(
            rows)
    return path


def hub_json(hub, *args):
    return gomtest.run_json([gomtest.HUB_BIN] + list(args[:1]) +
                            ['--config', hub.cfg] + list(args[1:]) +
                            ['--json'], what='gom-hub %s' % args[0])


class SeedFormsBase(gomtest.GomTestCase):

    def hub_with_pack(self, tree=TREE, extra_forms=()):
        hub = self.new_hub()
        hub.install_pack([os.path.join(FORMS_DIR, code + '.json')
                          for code in PERIODS], tree)
        forms = os.path.join(hub.dir, 'forms')
        for doc in extra_forms:
            with open(os.path.join(forms, doc['form'] + '.json'), 'w',
                      encoding='utf-8') as f:
                json.dump(doc, f, ensure_ascii=False)
        hub.start()
        hub.wait_listening()
        return hub

    def totals(self, hub, form, period, unit=None):
        args = ['totals', '--form', form, '--period', period]
        if unit:
            args += ['--unit', unit]
        return hub_json(hub, *args)

    def assert_totals(self, got, model, reports, what):
        cells, inds = model.expected_totals(reports)
        by = {c['code']: c for c in got['cells']}
        self.assertEqual(sorted(by), sorted(model.cells),
                         '%s: totals list other cells' % what)
        for code, (s, n) in cells.items():
            self.assertEqual((by[code]['sum'], by[code]['units']), (s, n),
                             '%s: cell %s' % (what, code))
        gi = {i['code']: i for i in got['indicators']}
        self.assertEqual(sorted(gi), sorted(inds),
                         '%s: indicators' % what)
        for code, (num, den, value, met) in inds.items():
            i = gi[code]
            self.assertEqual((i['numerator'], i['denominator']), (num, den),
                             '%s: indicator %s' % (what, code))
            if value is None:
                self.assertIsNone(i['value'], '%s: %s' % (what, code))
            else:
                # The exact ratio rounded to 2 decimals (a tie either way).
                self.assertLessEqual(
                    abs(fractions.Fraction(i['value']) - value),
                    fractions.Fraction(5, 1000) + fractions.Fraction(1, 10**9),
                    '%s: indicator %s = %r, exactly %s'
                    % (what, code, i['value'], float(value)))
            self.assertEqual(i['met'], met, '%s: indicator %s met'
                             % (what, code))
        self.assertEqual(got['reports'], len(reports), what)


class SeedForms(SeedFormsBase):

    def test_every_seed_form(self):
        rnd = random.Random(4004)
        hub = self.hub_with_pack()
        agents = {}
        for u in COMMUNES:
            a = self.new_agent(hub, [u], name='agent-%s' % u)
            a.start()
            agents[u] = a
        for a in agents.values():
            self.wait_forms_cached(a, len(PERIODS))

        styles = [(',', 'plain'), (';', 'vi'), (',', 'en'), (',', 'spaced')]
        expected = {}                # form -> {unit: values}
        texts_sent = {}              # form -> {unit: situation text}
        sealed = {}                  # form -> (before_ms, after_ms)
        n_sent = {u: 0 for u in COMMUNES}
        for k, form in enumerate(sorted(PERIODS)):
            model = FormModel(load_form(form))
            period = PERIODS[form]
            # Every other form: one commune does not report.
            units = COMMUNES if k % 2 == 0 else \
                [u for u in COMMUNES if u != COMMUNES[k % 3]]
            expected[form] = {}
            texts_sent[form] = {}
            before = int(time.time() * 1000)
            for j, u in enumerate(units):
                a = agents[u]
                tpl = os.path.join(self.tmp, '%s-%s-template.csv' % (form, u))
                gomtest.run_cli([gomtest.AGENT_BIN, 'template', '--config',
                                 a.cfg, '--form', form, '--period', period,
                                 '--out', tpl], what='gom-agent template')
                values = model.draw(rnd)
                texts = {}
                for code, required in model.texts:
                    if required or rnd.random() < 0.5:
                        texts[code] = ('Đơn vị %s, phần %s: "ổn định", '
                                       'tiếp tục;\ndòng hai.' % (u, code))
                delim, style = styles[(k + j) % len(styles)]
                filled = fill_template(
                    self, tpl, model, values, texts,
                    os.path.join(self.tmp, '%s-%s.csv' % (form, u)),
                    delimiter=delim, style=style)
                cp = a.submit(filled)
                self.assertEqual(cp.returncode, 0, '%s %s (%s %s): %s'
                                 % (form, u, delim, style, cp.stderr))
                self.assertIn('checked against form %s v1' % form, cp.stdout)
                expected[form][u] = values
                if 'situation' in texts:
                    texts_sent[form][u] = texts['situation']
                n_sent[u] += 1
            sealed[form] = (before, int(time.time() * 1000))

        for u, a in agents.items():
            self.wait_all_acked(a, n_sent[u])

        # What the hub stored is exactly what was typed.
        stored = {(r['form'], r['unit']): r for r in hub.reports()}
        self.assertEqual(len(stored), sum(len(v) for v in expected.values()))
        for form, reports in expected.items():
            for u, values in reports.items():
                r = stored[(form, u)]
                self.assertEqual(r['cells'], values, '%s %s' % (form, u))
                self.assertEqual((r['period'], r['revision'],
                                  r['form_version']),
                                 (PERIODS[form], 1, 1))

        for form, reports in expected.items():
            model = FormModel(load_form(form))
            period = PERIODS[form]
            for root in (None, '42', '436'):
                got = self.totals(hub, form, period, root)
                self.assert_totals(got, model, reports,
                                   '%s %s at %s' % (form, period, root))
                comp = got['completeness']
                deadline = model.deadline_ms(period)
                before, after = sealed[form]
                self.assertTrue(after <= deadline or before > deadline,
                                'the deadline fell during the test')
                on_time = before <= deadline
                n = len(reports)
                self.assertEqual(
                    (comp['expected'], comp['on_time'], comp['late'],
                     comp['missing']),
                    (3, n if on_time else 0, 0 if on_time else n, 3 - n),
                    '%s completeness: %s' % (form, comp))
                self.assertEqual(
                    sorted(m['code'] for m in comp['missing_units']),
                    sorted(set(COMMUNES) - set(reports)))
            # One commune's subtree is that commune alone.
            u = sorted(reports)[0]
            got = self.totals(hub, form, period, u)
            self.assert_totals(got, model, {u: reports[u]},
                               '%s %s at %s' % (form, period, u))
            self.assertEqual(got['completeness']['expected'], 1)

            if 'situation' in dict(model.texts):
                texts = hub_json(hub, 'texts', '--form', form, '--period',
                                 period, '--section', 'situation')
                self.assertEqual(
                    sorted((t['unit'], t['text']) for t in texts
                           if t.get('text')),
                    sorted(texts_sent[form].items()), form)


class ForgedReports(SeedFormsBase):

    def probe(self, agent, doc, name):
        path = os.path.join(self.tmp, 'forged-%s.json' % name)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(doc, f, ensure_ascii=False)
        cp = subprocess.run([PROBE, '--config', agent.cfg, '--mode', 'report',
                             '--report', path, '--wait-ms', '10000'],
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(cp.returncode, 0, '%s: no answer from the hub: %s %s'
                         % (name, cp.stdout, cp.stderr))
        return cp.stdout.strip()

    def test_forged_reports(self):
        if not os.access(PROBE, os.X_OK):
            self.fail('gom-probe missing at %s (set GOM_PROBE)' % PROBE)
        # A form with a required cell, made from a seed form.
        req = load_form('HT-VSTBPN-6T')
        req['form'] = 'HT-REQ-TEST'
        req['checks'] = req.get('checks', []) + [
            {'type': 'required', 'cells': ['TC3.so']}]
        hub = self.hub_with_pack(extra_forms=[req])
        a = self.new_agent(hub, ['18073', '18076'], name='a')
        a.start()
        self.wait_forms_cached(a, len(PERIODS) + 1)

        good = {'unit': '18073', 'form': 'HT-VSTBPN-6T', 'period': '2026-H1',
                'revision': 1,
                'cells': {'CB1.tong': 15, 'CB1.nu': 4, 'TC3.so': 7,
                          'TT3.nam': 30, 'TT3.nu': 40, 'TT4.nam': 10,
                          'TT4.nu': 20},
                'texts': {'situation': 'Tình hình ổn định.',
                          'directions': 'Tiếp tục.'}}
        a.submit_ok(self.report('18073', extra=good, name='good.json'))
        bdg = {'unit': '18073', 'form': 'DB-LDLD-BDG-2016-2020',
               'period': '2016-2020', 'revision': 1,
               'cells': {'I1.total': 100, 'I1.public': 60,
                         'I1.nonstate': 40}, 'texts': {}}
        a.submit_ok(self.report('18073', extra=bdg, name='bdg.json'))
        self.wait_all_acked(a, 2)
        before_reports = hub.reports()
        before = {f: self.totals(hub, f, PERIODS[f])
                  for f in ('HT-VSTBPN-6T', 'DB-LDLD-BDG-2016-2020')}
        nacks = hub.status()['nacks']

        def forged(form='HT-VSTBPN-6T', cells=None, texts=None, **kw):
            base = bdg if form == 'DB-LDLD-BDG-2016-2020' else good
            doc = copy.deepcopy(base)
            doc['form'] = form
            doc['revision'] = 2
            if cells:
                doc['cells'].update(cells)
            if texts is not None:
                doc['texts'] = texts
            doc.update(kw)
            return doc

        cases = [
            ('women-over-total', forged(cells={'CB1.nu': 16}),
             'cell CB1.nu = 16 is more than cell CB1.tong = 15'),
            ('negative', forged(cells={'TC1.so': -3}),
             'cell TC1.so = -3: must be a whole number from 0'),
            ('required-cell', forged(form='HT-REQ-TEST',
                                     cells={'TC3.so': None}),
             'cell TC3.so is required but empty'),
            ('required-text', forged(texts={'situation': 'x'}),
             'text directions is required but empty'),
            ('unknown-cell', forged(cells={'ZZ9.so': 1}),
             'cell ZZ9.so is not in form HT-VSTBPN-6T'),
            ('unknown-text', forged(texts={'situation': 'x', 'directions':
                                           'y', 'poem': 'z'}),
             'text poem is not in form HT-VSTBPN-6T'),
            ('bad-period', forged(period='2026-H3'),
             'period 2026-H3 is not valid for this form'),
            ('bad-period-range', forged(form='DB-LDLD-BDG-2016-2020',
                                        period='2016-2019'),
             'period 2016-2019 is not valid for this form'),
            ('sum-columns', forged(form='DB-LDLD-BDG-2016-2020',
                                   cells={'I1.total': 99}),
             'cell I1.total = 99 but its parts sum to 100'),
        ]
        for name, doc, rule in cases:
            out = self.probe(a, doc, name)
            self.assertTrue(out.startswith('reply: nack permanent invalid'),
                            '%s: got %r' % (name, out))
            self.assertIn(rule, out, name)
            hub.assert_alive()

        self.assertEqual(hub.reports(), before_reports,
                         'a forged report was stored')
        self.assertEqual(hub.status()['nacks'], nacks + len(cases))
        for f, want in before.items():
            got = self.totals(hub, f, PERIODS[f])
            self.assertEqual(got, want, '%s totals changed' % f)

        # A unit whose only report is forged: nothing counted, "rejected".
        out = self.probe(a, forged(unit='18076', revision=1,
                                   cells={'CB2.nu': 9, 'CB2.tong': 3}),
                         '18076')
        self.assertTrue(out.startswith('reply: nack permanent invalid'), out)
        self.assertIn('cell CB2.nu = 9 is more than cell CB2.tong = 3', out)
        got = self.totals(hub, 'HT-VSTBPN-6T', '2026-H1')
        self.assertEqual(got['cells'], before['HT-VSTBPN-6T']['cells'])
        self.assertEqual(got['reports'], 1)
        arr = hub_json(hub, 'arrivals', '--form', 'HT-VSTBPN-6T', '--period',
                       '2026-H1')
        states = {u['code']: u for u in arr['units']}
        self.assertEqual(states['18076']['state'], 'rejected')
        self.assertEqual(states['18076']['rejected_code'], 'invalid')
        self.assertIn(states['18073']['state'], ('on_time', 'late'))
        self.assertEqual(states['18079']['state'], 'missing')
        self.assertEqual(hub.reports(), before_reports)


# Province 01: province -> district -> commune; province 02: province ->
# commune (districts abolished, as since 2025).
TWO_PROVINCES = (
    'code,name,parent,level,active_from,inactive_from\n'
    '01,Tỉnh Ba Cấp,,province,,\n'
    '0101,Huyện Một,01,district,,\n'
    '010101,Xã Một Một,0101,commune,,\n'
    '010102,Xã Một Hai,0101,commune,,\n'
    '0102,Huyện Hai,01,district,,\n'
    '010201,Xã Hai Một,0102,commune,,\n'
    '010202,Xã Hai Hai,0102,commune,,\n'
    '02,Tỉnh Hai Cấp,,province,,\n'
    '020001,Xã A,02,commune,,\n'
    '020002,Xã B,02,commune,,\n'
    '020003,Xã C,02,commune,,\n')
PARENT = {'010101': '0101', '010102': '0101', '010201': '0102',
          '010202': '0102', '020001': '02', '020002': '02', '020003': '02'}
PROVINCE = {'0101': '01', '0102': '01', '02': None, '01': None}


class Provinces(SeedFormsBase):

    def test_two_and_three_level_provinces(self):
        rnd = random.Random(2025)
        form, period = 'TH-SLDTBXH-BDG-2020', '2020'
        model = FormModel(load_form(form))
        hub = self.hub_with_pack(tree=TWO_PROVINCES)
        reporting = ['010101', '010102', '010201', '020001', '020003']
        a = self.new_agent(hub, sorted(PARENT), name='agent')
        a.start()
        self.wait_forms_cached(a, len(PERIODS))
        reports = {}
        before = int(time.time() * 1000)
        for u in reporting:
            reports[u] = model.draw(rnd)
            cp = a.submit(self.report(u, form=form, period=period,
                                      cells=reports[u], texts={}))
            self.assertEqual(cp.returncode, 0, cp.stderr)
        after = int(time.time() * 1000)
        self.wait_all_acked(a, len(reporting))
        deadline = model.deadline_ms(period)
        self.assertTrue(after <= deadline or before > deadline)
        state_of_reporting = 'on_time' if before <= deadline else 'late'

        def subtree(root):
            if root is None:
                return set(PARENT)
            return {u for u, p in PARENT.items()
                    if p == root or PROVINCE.get(p) == root or u == root}

        for root, n_leaves in ((None, 7), ('01', 4), ('02', 3), ('0101', 2),
                               ('0102', 2), ('020002', 1)):
            leaves = subtree(root)
            self.assertEqual(len(leaves), n_leaves)
            mine = {u: v for u, v in reports.items() if u in leaves}
            got = self.totals(hub, form, period, root)
            self.assert_totals(got, model, mine, 'totals at %s' % root)
            comp = got['completeness']
            n = len(mine)
            self.assertEqual(
                (comp['expected'], comp['missing'],
                 comp['on_time'] + comp['late']),
                (n_leaves, n_leaves - n, n), 'completeness at %s' % root)
            self.assertAlmostEqual(comp['percent'],
                                   round(100.0 * n / n_leaves, 1))
            self.assertEqual(sorted(m['code'] for m in comp['missing_units']),
                             sorted(leaves - set(mine)))

            args = ['arrivals', '--form', form, '--period', period]
            if root:
                args += ['--unit', root]
            arr = hub_json(hub, *args)
            want = {u: (state_of_reporting if u in reports else 'missing')
                    for u in leaves}
            self.assertEqual({u['code']: u['state'] for u in arr['units']},
                             want, 'arrivals at %s' % root)
            self.assertEqual({u['code']: u['parent'] for u in arr['units']},
                             {u: PARENT[u] for u in leaves},
                             'arrivals grouped by parent at %s' % root)
            self.assertEqual((arr['expected'], arr['missing']),
                             (n_leaves, n_leaves - n))
            for u in arr['units']:
                self.assertEqual(u['revision'],
                                 1 if u['code'] in reports else None)


if __name__ == '__main__':
    gomtest.main()
