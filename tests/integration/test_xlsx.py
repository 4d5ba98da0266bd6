"""The Excel round trip of a commune officer, through real processes.

test_template_is_locked_and_checks_itself: `gom-agent template --xlsx`
writes a workbook whose sheet is protected without a password, whose only
unlocked cells are the form's input cells, each with Excel's own data
validation (a whole number from the cell's floor; a bounded text for the
narrative), the unit, form, version and period in a hidden row of hidden,
locked cells, printable on A4 landscape. Read from the file's own XML.

test_every_seed_form_round_trip: for each seed form, one commune fills the
template as a hand edit of the workbook's XML (numbers as numbers, some
numbers stored as text the way a pasted column arrives, some as formulas
with their cached value, Vietnamese narrative as inline strings), another
commune's filled file is opened and saved again by LibreOffice Calc
(headless, Debian's libreoffice-calc-nogui), which rewrites it its own way
(shared strings, its own styles). Both are submitted, delivered, and the
hub's totals equal the test's own computation; the stored cells and texts
are exactly what was typed.

test_intake_errors: a word typed into a figure's box (as a file edited
outside Excel, where the validation does not run), a rule of the form
broken, a workbook for another unit, one made on a form version this agent
does not have, an Excel 97-2003 .xls (an OLE compound file, as an
encrypted workbook is too) named .xlsx, a truncated file, a text file named
.xlsx: each is refused with a message naming what is wrong (the sheet and
cell address where there is one), nothing is queued, the file is kept; the
same files dropped in the spool folder go to rejected/ with a reason file.

test_reader_is_a_helper_process: the agent's daemon reads a workbook from
its spool folder through its helper gom-agent-xlsx, and maps none of the
Excel libraries (libxml2, libzip, libxlsxwriter, libcrypto) itself; a
helper that is missing, crashes, fails or answers garbage gets the file
refused with what happened (nothing queued, the file kept); a daemon whose
helper crashes moves the workbook to rejected/ with the reason, stays up,
and delivers the next report; an agent stopped while its helper reads
exits at once, stops the helper, and leaves the workbook in the spool
folder for its next start, as does one that cannot start its helper
(`gom-agent status` counts it in the spool folder); a
helper that hangs is given up after 20 s and killed.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from contextlib import contextmanager
import xml.etree.ElementTree as ET
import zipfile

import gomtest
from test_seed_forms import (COMMUNES, FORMS_DIR, PERIODS, FormModel,
                             SeedFormsBase, load_form)

MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
M = '{%s}' % MAIN
XML_SPACE = '{http://www.w3.org/XML/1998/namespace}space'
ET.register_namespace('', MAIN)
ET.register_namespace(
    'r', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships')
SOFFICE = shutil.which('soffice') or shutil.which('libreoffice')
SHEET = 'xl/worksheets/sheet1.xml'
FIXTURES = os.path.join(gomtest.ROOT, 'tests', 'fixtures', 'xlsx')


def col_index(ref):
    n = 0
    for ch in re.match(r'[A-Z]+', ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


class Workbook(object):
    """The test's own reading of a workbook's first sheet (zipfile and
    ElementTree; nothing of gom)."""

    def __init__(self, path):
        with zipfile.ZipFile(path) as z:
            self.parts = {n: z.read(n) for n in z.namelist()}
        self.shared = []
        if 'xl/sharedStrings.xml' in self.parts:
            for si in ET.fromstring(
                    self.parts['xl/sharedStrings.xml']).findall(M + 'si'):
                self.shared.append(''.join(t.text or '' for t in si.iter(
                    M + 't')))
        self.sheet = ET.fromstring(self.parts[SHEET])

    def value(self, c):
        if c is None:
            return None
        t = c.get('t')
        v = c.find(M + 'v')
        if t == 's':
            return self.shared[int(v.text)]
        if t == 'inlineStr':
            return ''.join(x.text or '' for x in c.iter(M + 't'))
        return v.text if v is not None else None

    def rows(self):
        """[(row number, {column index: cell element})]"""
        out = []
        for row in self.sheet.iter(M + 'row'):
            out.append((int(row.get('r')),
                        {col_index(c.get('r')): c
                         for c in row.findall(M + 'c')}, row))
        return out

    def save(self, path):
        self.parts[SHEET] = ET.tostring(self.sheet, xml_declaration=True,
                                        encoding='UTF-8')
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            for name, data in self.parts.items():
                z.writestr(name, data)
        return path


def set_number(c, n, how):
    for x in list(c):
        c.remove(x)
    c.attrib.pop('t', None)
    if how == 'text':      # a number stored as text, Vietnamese grouping
        c.set('t', 'inlineStr')
        t = ET.SubElement(ET.SubElement(c, M + 'is'), M + 't')
        t.text = '{:,}'.format(n).replace(',', '.')
    elif how == 'formula':
        ET.SubElement(c, M + 'f').text = '%d+0' % n
        ET.SubElement(c, M + 'v').text = str(n)
    else:
        ET.SubElement(c, M + 'v').text = str(n)


def set_text(c, text):
    for x in list(c):
        c.remove(x)
    c.set('t', 'inlineStr')
    t = ET.SubElement(ET.SubElement(c, M + 'is'), M + 't')
    t.set(XML_SPACE, 'preserve')
    t.text = text


def _running(cmdline):
    """The pids of the processes of this exact command line."""
    pids = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if f.read().replace(b'\0', b' ').strip() == cmdline.encode():
                    pids.append(int(pid))
        except (OSError, ValueError):
            pass
    return pids


@contextmanager
def _helper_env(helper):
    """The agent's CLI, run inside, uses helper as its Excel helper."""
    os.environ['GOM_AGENT_XLSX'] = helper
    try:
        yield
    finally:
        del os.environ['GOM_AGENT_XLSX']


def _kill_all(cmdline):
    for pid in _running(cmdline):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def fill_xlsx(tc, template, model, values, texts, out, hows=('number',)):
    """Types values {cell: n} into the template's boxes and texts into its
    narrative cells, checking first that the boxes are exactly the form's
    cells. Returns {cell: address}."""
    wb = Workbook(template)
    columns = {}
    boxes = {}
    for number, cells, _ in wb.rows():
        a = wb.value(cells.get(0))
        if a == '#columns':
            columns = {i: wb.value(c) for i, c in cells.items() if i >= 3}
        elif a == '#text':
            code = wb.value(cells[1])
            if code in texts:
                set_text(cells[3], texts[code])
        elif a and not a.startswith('#'):
            for i, col in columns.items():
                code = '%s.%s' % (a, col)
                if code not in model.cells:
                    continue
                c = cells[i]
                boxes[code] = c.get('r')
                if code in values:
                    set_number(c, values[code], hows[len(boxes) % len(hows)])
    tc.assertEqual(sorted(boxes), sorted(model.cells),
                   '%s: the workbook\'s boxes are not the form\'s cells'
                   % model.code)
    wb.save(out)
    return boxes


def soffice_convert(tc, files, fmt, outdir):
    """Opens and saves files with LibreOffice Calc, headless, as fmt."""
    os.makedirs(outdir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix='gom-lo-profile-')
    try:
        cp = subprocess.run(
            [SOFFICE, '-env:UserInstallation=file://' + profile, '--headless',
             '--norestore', '--convert-to', fmt, '--outdir', outdir] + files,
            capture_output=True, text=True, timeout=240,
            stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    ext = fmt.split(':')[0]
    got = [os.path.join(outdir, os.path.splitext(os.path.basename(f))[0] +
                        '.' + ext) for f in files]
    for g in got:
        tc.assertTrue(os.path.exists(g), 'LibreOffice did not write %s: %s %s'
                      % (g, cp.stdout, cp.stderr))
    return got


def template(agent, form, period, path, unit=None):
    argv = [gomtest.AGENT_BIN, 'template', '--config', agent.cfg, '--form',
            form, '--period', period, '--xlsx', path]
    if unit:
        argv += ['--unit', unit]
    gomtest.run_cli(argv, what='gom-agent template --xlsx')
    return path


class Xlsx(SeedFormsBase):

    def start(self, units=COMMUNES):
        hub = self.hub_with_pack()
        agents = {}
        for u in units:
            a = self.new_agent(hub, [u], name='agent-%s' % u)
            a.start()
            agents[u] = a
        for a in agents.values():
            self.wait_forms_cached(a, len(PERIODS))
        return hub, agents

    def test_template_is_locked_and_checks_itself(self):
        hub, agents = self.start(units=COMMUNES[:1])
        a = agents[COMMUNES[0]]
        form = 'HT-VSTBPN-6T'
        model = FormModel(load_form(form))
        path = template(a, form, PERIODS[form],
                        os.path.join(self.tmp, 't.xlsx'))
        wb = Workbook(path)
        sheet = wb.sheet
        prot = sheet.find(M + 'sheetProtection')
        self.assertIsNotNone(prot, 'the sheet is not protected')
        self.assertTrue(prot.get('sheet') in ('1', 'true'))
        self.assertIsNone(prot.get('password'), 'a password was set')
        # Styles: which cell formats are unlocked.
        styles = ET.fromstring(wb.parts['xl/styles.xml'])
        xfs = styles.find(M + 'cellXfs').findall(M + 'xf')
        unlocked = set()
        for i, xf in enumerate(xfs):
            p = xf.find(M + 'protection')
            if p is not None and p.get('locked') in ('0', 'false'):
                unlocked.add(i)
        # Merged cells count as their first cell.
        covered = set()
        merges = sheet.find(M + 'mergeCells')
        for m in (merges.findall(M + 'mergeCell') if merges is not None
                  else []):
            first, last = m.get('ref').split(':')
            r0, r1 = int(re.sub('[A-Z]', '', first)), int(re.sub('[A-Z]', '',
                                                                 last))
            for r in range(r0, r1 + 1):
                for c in range(col_index(first), col_index(last) + 1):
                    if (r, c) != (r0, col_index(first)):
                        covered.add((r, c))
        open_cells = set()
        for number, cells, row in wb.rows():
            for i, c in cells.items():
                if int(c.get('s', '0')) in unlocked and \
                        (number, i) not in covered:
                    open_cells.add(c.get('r'))
        boxes = fill_xlsx(self, path, model, {}, {},
                          os.path.join(self.tmp, 'copy.xlsx'))
        text_cells = set()
        for number, cells, row in wb.rows():
            if wb.value(cells.get(0)) == '#text':
                text_cells.add(cells[3].get('r'))
        self.assertEqual(len(text_cells), len(model.texts))
        self.assertEqual(open_cells, set(boxes.values()) | text_cells,
                         'the open cells are not the input cells')
        # Excel's own checks: one validation per input cell.
        dvs = sheet.find(M + 'dataValidations').findall(M + 'dataValidation')
        by_ref = {dv.get('sqref'): dv for dv in dvs}
        for code, ref in boxes.items():
            dv = by_ref.get(ref)
            self.assertIsNotNone(dv, 'no validation on %s (%s)' % (ref, code))
            self.assertEqual((dv.get('type'), dv.get('operator'),
                              dv.find(M + 'formula1').text),
                             ('whole', 'greaterThanOrEqual', '0'), code)
            self.assertIn(code, dv.get('error'))
            self.assertIn('số nguyên', dv.get('error'))
        for ref in text_cells:
            self.assertEqual(by_ref[ref].get('type'), 'textLength')
        # The hidden row of facts, the hidden column of codes.
        rows = wb.rows()
        self.assertEqual(rows[0][0], 1)
        self.assertEqual(rows[0][2].get('hidden'), '1', 'row 1 not hidden')
        facts = [wb.value(rows[0][1][i]) for i in sorted(rows[0][1])]
        self.assertEqual(facts, ['#gom', 'form', form, 'version', '1',
                                 'period', PERIODS[form], 'unit',
                                 COMMUNES[0], 'revision', '1'])
        cols = sheet.find(M + 'cols').findall(M + 'col')
        self.assertTrue(any(c.get('min') == '1' and c.get('hidden') == '1'
                            for c in cols), 'column A not hidden')
        setup = sheet.find(M + 'pageSetup')
        self.assertEqual((setup.get('orientation'), setup.get('paperSize')),
                         ('landscape', '9'), 'not A4 landscape')

    @unittest.skipUnless(SOFFICE, 'LibreOffice (soffice) not installed')
    def test_every_seed_form_round_trip(self):
        rnd = random.Random(1258)
        hub, agents = self.start(units=COMMUNES[:2])
        expected = {}
        texts_sent = {}
        filled = {}
        for form in sorted(PERIODS):
            model = FormModel(load_form(form))
            expected[form] = {}
            texts_sent[form] = {}
            for j, u in enumerate(COMMUNES[:2]):
                tpl = template(agents[u], form, PERIODS[form],
                               os.path.join(self.tmp, 'tpl-%s-%s.xlsx'
                                            % (form, u)))
                values = model.draw(rnd)
                texts = {code: 'Xã %s, phần %s: "ổn định";\ndòng hai  ' %
                         (u, code) for code, required in model.texts}
                out = os.path.join(self.tmp, '%s-%s.xlsx' % (form, u))
                fill_xlsx(self, tpl, model, values, texts, out,
                          hows=('number', 'text', 'number', 'formula'))
                filled[(form, u)] = out
                expected[form][u] = values
                texts_sent[form][u] = texts
        # The second commune's files, opened and saved by LibreOffice.
        second = [filled[(f, COMMUNES[1])] for f in sorted(PERIODS)]
        saved = soffice_convert(self, second, 'xlsx:Calc MS Excel 2007 XML',
                                os.path.join(self.tmp, 'libreoffice'))
        for f, path in zip(sorted(PERIODS), saved):
            wb = Workbook(path)
            self.assertNotIn(b'inlineStr', wb.parts[SHEET],
                             'LibreOffice kept the inline strings?')
            filled[(f, COMMUNES[1])] = path
        keep = os.environ.get('GOM_XLSX_FIXTURES')
        if keep:   # tests/fixtures/xlsx/README.md: how the fixtures are made
            manifest = {}
            for (f, u), path in sorted(filled.items()):
                name = '%s-%s-%s.xlsx' % (
                    f, u, 'libreoffice' if u == COMMUNES[1] else 'hand')
                shutil.copy(path, os.path.join(keep, name))
                manifest[name] = {'unit': u, 'form': f,
                                  'period': PERIODS[f],
                                  'cells': expected[f][u],
                                  'texts': texts_sent[f][u]}
            with open(os.path.join(keep, 'expected.json'), 'w',
                      encoding='utf-8') as fh:
                json.dump(manifest, fh, ensure_ascii=False, indent=1,
                          sort_keys=True)
        for u in COMMUNES[:2]:
            files = [filled[(f, u)] for f in sorted(PERIODS)]
            cp = agents[u].submit(*files)
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
            for f in sorted(PERIODS):
                self.assertIn('checked against form %s v1' % f, cp.stdout)
        for u in COMMUNES[:2]:
            self.wait_all_acked(agents[u], len(PERIODS))
        stored = {(r['form'], r['unit']): r for r in hub.reports()}
        for form, reports in expected.items():
            for u, values in reports.items():
                self.assertEqual(stored[(form, u)]['cells'], values,
                                 '%s %s' % (form, u))
            got = self.totals(hub, form, PERIODS[form])
            self.assert_totals(got, FormModel(load_form(form)), reports,
                               '%s from workbooks' % form)
            for code, _ in FormModel(load_form(form)).texts:
                out = gomtest.run_json(
                    [gomtest.HUB_BIN, 'texts', '--config', hub.cfg, '--form',
                     form, '--period', PERIODS[form], '--section', code,
                     '--json'], what='gom-hub texts')
                got_texts = {t['unit']: t['text'] for t in out}
                for u in COMMUNES[:2]:
                    self.assertEqual(got_texts.get(u),
                                     texts_sent[form][u][code],
                                     '%s %s text %s' % (form, u, code))

    def test_committed_fixtures(self):
        """Workbooks kept in the repository (tests/fixtures/xlsx), made by
        an earlier build and saved by LibreOffice or edited by hand: they
        must stay readable as the template changes."""
        with open(os.path.join(FIXTURES, 'expected.json'),
                  encoding='utf-8') as f:
            manifest = json.load(f)
        # The offline check alone, against the form files.
        for name, want in sorted(manifest.items()):
            cp = subprocess.run(
                [gomtest.AGENT_BIN, 'check', '--form',
                 os.path.join(FORMS_DIR, want['form'] + '.json'),
                 os.path.join(FIXTURES, name)], capture_output=True,
                text=True, timeout=60)
            self.assertEqual((cp.returncode, cp.stdout.strip()),
                             (0, 'ok: ' + os.path.join(FIXTURES, name)),
                             cp.stderr)
        hub, agents = self.start(units=COMMUNES[:2])
        n = {u: 0 for u in agents}
        for name, want in sorted(manifest.items()):
            cp = agents[want['unit']].submit(os.path.join(FIXTURES, name))
            self.assertEqual(cp.returncode, 0, name + cp.stdout + cp.stderr)
            n[want['unit']] += 1
        for u, a in agents.items():
            self.wait_all_acked(a, n[u])
        stored = {(r['form'], r['unit']): r for r in hub.reports()}
        for name, want in manifest.items():
            self.assertEqual(stored[(want['form'], want['unit'])]['cells'],
                             want['cells'], name)
            for code, text in want['texts'].items():
                out = gomtest.run_json(
                    [gomtest.HUB_BIN, 'texts', '--config', hub.cfg, '--form',
                     want['form'], '--period', want['period'], '--section',
                     code, '--unit', want['unit'], '--json'],
                    what='gom-hub texts')
                self.assertEqual([t['text'] for t in out], [text], name)

    def assert_refused(self, agent, path, *needles):
        before = agent.list()
        cp = agent.submit(path)
        self.assertNotEqual(cp.returncode, 0, 'accepted: %s' % cp.stdout)
        for n in needles:
            self.assertIn(n, cp.stderr + cp.stdout, path)
        self.assertEqual(agent.list(), before, 'something was queued')
        self.assertTrue(os.path.exists(path), 'the file was not kept')
        return cp.stderr + cp.stdout

    @unittest.skipUnless(SOFFICE, 'LibreOffice (soffice) not installed')
    def test_intake_errors(self):
        hub, agents = self.start(units=COMMUNES[:1])
        u = COMMUNES[0]
        a = agents[u]
        form = 'HT-VSTBPN-6T'
        period = PERIODS[form]
        model = FormModel(load_form(form))
        values = model.draw(random.Random(7), empty=0)
        tpl = template(a, form, period, os.path.join(self.tmp, 'tpl.xlsx'))
        bad = os.path.join(self.tmp, 'bad')
        os.makedirs(bad)

        # A word in a figure's box.
        boxes = fill_xlsx(self, tpl, model, values, {},
                          os.path.join(bad, 'word.xlsx'))
        wb = Workbook(os.path.join(bad, 'word.xlsx'))
        code = model.cells[3]
        for number, cells, row in wb.rows():
            for c in cells.values():
                if c.get('r') == boxes[code]:
                    set_text(c, 'mười hai')
        wb.save(os.path.join(bad, 'word.xlsx'))
        self.assert_refused(a, os.path.join(bad, 'word.xlsx'),
                            'Báo cáo!%s' % boxes[code], code,
                            '"mười hai" is not a whole number')

        # A rule of the form broken: a part more than its whole.
        part, whole = model.les[0]
        broken = dict(values)
        broken[part] = broken[whole] + 1
        fill_xlsx(self, tpl, model, broken, {},
                  os.path.join(bad, 'rule.xlsx'))
        self.assert_refused(a, os.path.join(bad, 'rule.xlsx'),
                            'Báo cáo!%s: ô %s' % (boxes[part], part),
                            'is more than cell %s' % whole)

        # For another unit.
        other = template(a, form, period, os.path.join(self.tmp, 'o.xlsx'),
                         unit='99999')
        fill_xlsx(self, other, model, values, {},
                  os.path.join(bad, 'other-unit.xlsx'))
        self.assert_refused(a, os.path.join(bad, 'other-unit.xlsx'),
                            'unit 99999 is not one of this agent\'s units')

        # Made on a form version this agent does not have.
        fill_xlsx(self, tpl, model, values, {},
                  os.path.join(bad, 'version.xlsx'))
        wb = Workbook(os.path.join(bad, 'version.xlsx'))
        row1 = wb.rows()[0][1]
        set_text(row1[4], '7')
        wb.save(os.path.join(bad, 'version.xlsx'))
        self.assert_refused(a, os.path.join(bad, 'version.xlsx'),
                            'form %s version 7' % form,
                            'gom-agent template --xlsx')

        # An Excel 97-2003 file (an OLE compound file, the container an
        # encrypted workbook is in too), named .xlsx.
        texts = {code: 'Ổn định.' for code, _ in model.texts}
        fill_xlsx(self, tpl, model, values, texts,
                  os.path.join(self.tmp, 'good.xlsx'))
        xls = soffice_convert(self, [os.path.join(self.tmp, 'good.xlsx')],
                              'xls:MS Excel 97', os.path.join(self.tmp, 'lo'))
        shutil.copy(xls[0], os.path.join(bad, 'old.xlsx'))
        self.assert_refused(a, os.path.join(bad, 'old.xlsx'),
                            'Excel 97-2003', 'password')

        # Truncated, and not a workbook at all.
        with open(os.path.join(self.tmp, 'good.xlsx'), 'rb') as f:
            data = f.read()
        with open(os.path.join(bad, 'truncated.xlsx'), 'wb') as f:
            f.write(data[:len(data) // 2])
        self.assert_refused(a, os.path.join(bad, 'truncated.xlsx'),
                            'not an Excel workbook')
        with open(os.path.join(bad, 'notes.xlsx'), 'w') as f:
            f.write('Báo cáo 6 tháng: xem bản giấy\n')
        self.assert_refused(a, os.path.join(bad, 'notes.xlsx'),
                            'not an Excel workbook')

        # The same files through the spool folder: rejected/ with reasons;
        # a good one queued.
        spool = a.spool
        names = sorted(os.listdir(bad))
        for n in names:
            shutil.copy(os.path.join(bad, n), os.path.join(spool, n))
        shutil.copy(os.path.join(self.tmp, 'good.xlsx'),
                    os.path.join(spool, 'good.xlsx'))
        rejected = os.path.join(spool, 'rejected')
        self.wait_for(lambda: all(os.path.exists(os.path.join(
            rejected, n + '.reason.txt')) for n in names), 30,
            'the spool folder rejects the %d bad workbooks' % len(names))
        with open(os.path.join(rejected, 'word.xlsx.reason.txt'),
                  encoding='utf-8') as f:
            self.assertIn('Báo cáo!%s' % boxes[code], f.read())
        with open(os.path.join(rejected, 'old.xlsx.reason.txt'),
                  encoding='utf-8') as f:
            self.assertIn('Excel 97-2003', f.read())
        self.wait_all_acked(a, 1)
        self.assertTrue(os.path.exists(os.path.join(spool, 'done',
                                                    'good.xlsx')))

    def _helper(self, name, body):
        """A stand-in for gom-agent-xlsx: a shell script."""
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n' + body + '\n')
        os.chmod(path, 0o755)
        return path

    def test_reader_is_a_helper_process(self):
        hub, agents = self.start(units=COMMUNES[:1])
        a = agents[COMMUNES[0]]
        form = 'HT-VSTBPN-6T'
        model = FormModel(load_form(form))
        values = model.draw(random.Random(11), empty=0)
        tpl = template(a, form, PERIODS[form],
                       os.path.join(self.tmp, 'tpl.xlsx'))
        texts = {c: 'Ổn định.' for c, _ in model.texts}
        good = os.path.join(self.tmp, 'good.xlsx')
        fill_xlsx(self, tpl, model, values, texts, good)

        # Through the spool folder: the daemon takes the workbook, and
        # neither the Excel reader's libraries nor the template writer's
        # are in its memory (they are the helper's).
        shutil.copy(good, os.path.join(a.spool, 'good.xlsx'))
        self.wait_all_acked(a, 1)
        with open('/proc/%d/maps' % a.proc.pid) as f:
            maps = f.read()
        self.assertIn('libzmq', maps)
        self.assertEqual([lib for lib in ('libxml2', 'libzip', 'libxlsxwriter',
                                          'libcrypto') if lib in maps], [],
                         'Excel libraries in the daemon\'s memory')

        # A helper that is missing, crashes, or answers garbage: the file
        # is refused with what happened, nothing is queued, the file kept.
        broken = {
            'missing': (os.path.join(self.tmp, 'no-such-helper'),
                        ['cannot run the Excel helper', 'no-such-helper']),
            'crash': (self._helper('crash', 'kill -SEGV $$'),
                      ['stopped with signal 11', 'save it again']),
            'garbage': (self._helper('garbage', 'printf "\\377\\377\\377"'),
                        ['an answer gom-agent cannot read']),
            'fails': (self._helper('fails', 'echo "out of memory" >&2; exit 3'),
                      ['failed (exit 3): out of memory']),
        }
        for name, (helper, needles) in sorted(broken.items()):
            path = os.path.join(self.tmp, name + '.xlsx')
            shutil.copy(good, path)
            with _helper_env(helper):
                self.assert_refused(a, path, *needles)

        # The daemon with a helper that crashes on every workbook: the
        # file goes to rejected/ with the reason, the daemon goes on, and
        # a JSON report dropped after it is delivered.
        a.stop()
        gomtest.start_with_fault(a, broken['crash'][0], var='GOM_AGENT_XLSX')
        shutil.copy(good, os.path.join(a.spool, 'again.xlsx'))
        reason = os.path.join(a.spool, 'rejected', 'again.xlsx.reason.txt')
        self.wait_for(lambda: os.path.exists(reason), 30,
                      'the crash of the helper rejects the workbook')
        with open(reason, encoding='utf-8') as f:
            self.assertIn('stopped with signal 11', f.read())
        a.assert_alive()
        report = self.report(COMMUNES[0], form=form, period=PERIODS[form],
                             revision=2, cells=values, texts=texts)
        with open(report, 'rb') as f:
            gomtest.write_file_atomic(os.path.join(a.spool, 'r2.json'),
                                      f.read())
        self.wait_all_acked(a, 2)

        # The agent stopped (SIGTERM, as systemd does) while the helper
        # reads a workbook: the helper is stopped with it, the agent exits
        # at once, and the workbook stays in the spool folder (not its
        # fault); the next start takes it.
        a.stop()
        # Command lines of this run's own (a test that fails leaves none).
        slow_cmd = 'sleep 600.%d' % os.getpid()
        hang_cmd = 'sleep 601.%d' % os.getpid()
        for cmd in (slow_cmd, hang_cmd):
            self.addCleanup(_kill_all, cmd)
        slow = self._helper('slow', 'exec ' + slow_cmd)
        gomtest.start_with_fault(a, slow, var='GOM_AGENT_XLSX')
        shutil.copy(good, os.path.join(a.spool, 'slow.xlsx'))
        self.wait_for(lambda: _running(slow_cmd), 30,
                      'the helper reads slow.xlsx')
        rc, took = a.signal_and_wait(signal.SIGTERM)
        self.assertEqual(rc, 0)
        self.assertLess(took, 10, 'the agent waited for its helper')
        self.assertFalse(_running(slow_cmd), 'the helper outlived it')
        self.assertTrue(os.path.exists(os.path.join(a.spool, 'slow.xlsx')))
        self.assertFalse(os.path.exists(os.path.join(
            a.spool, 'rejected', 'slow.xlsx')))
        a.start()
        self.wait_for(lambda: os.path.exists(os.path.join(
            a.spool, 'done', 'slow.xlsx')), 30, 'the next start takes it')

        # No helper to be had (not installed): the workbook stays in the
        # spool folder, and the log says why.
        a.stop()
        gomtest.start_with_fault(a, os.path.join(self.tmp, 'no-such-helper'),
                                 var='GOM_AGENT_XLSX')
        shutil.copy(good, os.path.join(a.spool, 'nohelper.xlsx'))
        a.wait_log('nohelper.xlsx left for later: cannot run the Excel '
                   'helper', timeout=30)
        self.assertTrue(os.path.exists(os.path.join(a.spool,
                                                    'nohelper.xlsx')))
        self.assertFalse(os.path.exists(os.path.join(
            a.spool, 'rejected', 'nohelper.xlsx')))
        a.assert_alive()
        # gom-agent status says so (the outbox does not hold it).
        st = a.status()
        self.assertEqual(st['spool_waiting'], 1, st)
        self.assertEqual(st['spool_oldest']['name'], 'nohelper.xlsx', st)
        cp = gomtest.run_cli([gomtest.AGENT_BIN, 'status', '--config',
                              a.cfg], what='gom-agent status')
        self.assertIn('spool folder: 1 file not taken yet; the oldest, '
                      'nohelper.xlsx', cp.stdout)

        # A helper that closes its output and hangs: given up after 20 s
        # (AGENT_XLSX_TIMEOUT_MS) and killed.
        hang = self._helper('hang', 'exec >&- 2>&-; exec ' + hang_cmd)
        with _helper_env(hang):
            t0 = time.monotonic()
            cp = gomtest.run_cli([gomtest.AGENT_BIN, 'check', '--form',
                                  os.path.join(FORMS_DIR, form + '.json'),
                                  good], check=False, timeout=60)
            took = time.monotonic() - t0
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn('took more than 20 s and was stopped', cp.stderr)
        self.assertLess(took, 40)
        self.assertFalse(_running(hang_cmd), 'the hung helper lives on')


if __name__ == '__main__':
    gomtest.main()
