"""CSV files that are not UTF-8, and unit codes Excel stripped of their
leading zeros (tests/fixtures/csv/, made by make_fixtures.py).

- excel-cp1258-vi.csv, a filled template as Excel's "CSV (Comma
  delimited)" writes it on a Vietnamese Windows (Windows-1258, letters
  with tone marks as base letter + combining mark, ";", CRLF, no BOM), is
  taken by `gom-agent submit` with a warning in English and Vietnamese
  beside its "queued" line, and what a first hub stores is the very report
  its "CSV UTF-8" twin gives at a second hub: same cells, same texts byte
  for byte (NFC, every Vietnamese letter in both cases), as typed. The
  twin submitted to the first agent is "already queued" as the same report.
- bad-utf16-unicode-text.csv (Excel's "Unicode Text"), bad-viscii.csv
  (another Vietnamese 8-bit encoding) and bad-stray-byte.csv (CSV UTF-8
  with one Latin-1 byte) are refused with what is wrong (the line and byte
  offset of the first byte that is not UTF-8, found here with Python's own
  decoder) and the way out (save as CSV UTF-8, in Excel and LibreOffice),
  in English and Vietnamese; nothing is queued, the file stays.
- excel-unit-zeros.csv says unit 412 where the template said 00412: the
  agent of unit 00412 takes it as 00412, with a warning, and the hub
  stores it under 00412; an agent with both 00412 and 0412 refuses it.
- The same files through the spool folder: the good ones reach done/ with
  the warnings in the agent's log; the bad ones go to rejected/ with a
  reason file saying what the command line said.
"""
import csv
import io
import json
import os
import shutil
import unicodedata

import gomtest

FIXTURES = os.path.join(gomtest.ROOT, 'tests', 'fixtures', 'csv')
TREE = ('code,name,parent,level,active_from,inactive_from\n'
        '42,Tỉnh Hà Tĩnh,,province,,\n'
        '436,Thành phố Hà Tĩnh,42,district,,\n'
        '18073,Phường Bắc Hà,436,commune,,\n'
        '00412,Xã Thạch Hạ,436,commune,,\n')
SAVE_AS = ['CSV UTF-8', 'File > Save As > CSV UTF-8 (Comma delimited) (*.csv)',
           'file type Text CSV', 'Edit filter settings',
           'Character set Unicode (UTF-8)']
SAVE_AS_VI = ['Tệp (File) > Lưu như (Save As) > CSV UTF-8',
              'Character set chọn Unicode (UTF-8)']
CP1258 = 'excel-cp1258-vi.csv'
TWIN = 'excel-cp1258-utf8-twin.csv'
ZEROS = 'excel-unit-zeros.csv'
WARN_CP1258 = ('the file is not UTF-8: read as Windows-1258 (Excel\'s "CSV '
               '(Comma delimited)" on Vietnamese Windows)')
WARN_CP1258_VI = 'tệp không phải UTF-8: đã đọc theo bảng mã Windows-1258'
WARN_ZEROS = "unit 412 read as 00412, this agent's unit"
WARN_ZEROS_VI = 'mã đơn vị 412 được hiểu là 00412'


def first_bad_byte(name):
    """(line, byte offset, byte) of the first byte of the fixture that is
    not UTF-8; the line is the spreadsheet row (a quoted field with a
    newline in it is one row), as gom counts them."""
    with open(os.path.join(FIXTURES, name), 'rb') as f:
        raw = f.read()
    try:
        raw.decode('utf-8')
    except UnicodeDecodeError as e:
        at = e.start
    else:
        raise AssertionError('%s is UTF-8' % name)
    rows = list(csv.reader(io.StringIO(raw[:at].decode('utf-8-sig'),
                                       newline='')))
    return len(rows), at, raw[at]


class CsvLegacy(gomtest.GomTestCase):

    def hub_and_agent(self, name, units):
        hub = self.new_hub('hub-' + name)
        hub.install_pack(tree=TREE)
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, units, name=name)
        agent.start()
        cached = os.path.join(agent.dir, 'forms', 'HT-VSTBPN-6T.v1.json')
        self.wait_for(lambda: os.path.exists(cached), 30,
                      '%s caches the forms' % name)
        return hub, agent

    def assert_refused(self, agent, path, parts, queued):
        cp = agent.submit(path)
        name = os.path.basename(path)
        self.assertEqual(cp.returncode, 1, '%s was taken: %s'
                         % (name, cp.stdout))
        self.assertEqual(cp.stdout, '', name)
        for part in parts:
            self.assertIn(part, cp.stderr, name)
        self.assertNotIn('\ufffd', cp.stderr, name)
        self.assertEqual(len(agent.list()), queued,
                         '%s: something was queued' % name)
        self.assertTrue(os.path.exists(path), '%s was not kept' % name)
        return cp.stderr

    def test_legacy_encodings(self):
        with open(os.path.join(FIXTURES, 'expected-legacy.json'),
                  encoding='utf-8') as f:
            expected = json.load(f)
        hub, a = self.hub_and_agent('a', ['18073', '00412'])
        hub_b, b = self.hub_and_agent('b', ['18073'])
        files = os.path.join(self.tmp, 'files')
        os.makedirs(files)

        def copy(name):
            path = os.path.join(files, name)
            shutil.copy(os.path.join(FIXTURES, name), path)
            return path

        # Windows-1258: queued, with the warning under its line.
        path = copy(CP1258)
        cp = a.submit(path)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        got = gomtest.parse_submit(cp.stdout)[path]
        self.assertEqual(got[0], 'queued')
        self.assertEqual(got[2:6], ('18073', 'HT-VSTBPN-6T', '2026-H1', 1))
        self.assertIn('checked against form HT-VSTBPN-6T v1', cp.stdout)
        self.assertIn('warning: %s: %s' % (path, WARN_CP1258), cp.stdout)
        self.assertIn('warning: %s: %s' % (path, WARN_CP1258_VI), cp.stdout)
        for part in SAVE_AS + SAVE_AS_VI:
            self.assertIn(part, cp.stdout)
        report_id = got[1]

        # Its UTF-8 twin: no warning; at this agent, the same report.
        twin = copy(TWIN)
        cp = b.submit(twin)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(gomtest.parse_submit(cp.stdout)[twin][0], 'queued')
        self.assertNotIn('warning', cp.stdout)
        cp = a.submit(twin)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(gomtest.parse_submit(cp.stdout)[twin][:2],
                         ('already queued', report_id), cp.stdout)

        # Unit 412 for 00412: taken as 00412, said so.
        zeros = copy(ZEROS)
        cp = a.submit(zeros)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(gomtest.parse_submit(cp.stdout)[zeros][2], '00412')
        self.assertIn('warning: %s: %s' % (zeros, WARN_ZEROS), cp.stdout)
        self.assertIn('warning: %s: %s' % (zeros, WARN_ZEROS_VI), cp.stdout)
        queued = len(a.list())
        self.assertEqual(queued, 2)
        # An agent with two units that are 412 with leading zeros cannot
        # tell which: refused.
        c = self.new_agent(hub, ['00412', '0412'], name='c', enroll=False)
        self.assert_refused(c, zeros, [
            "unit 412 is not one of this agent's units (00412,0412)"], 0)

        # Refused: what is wrong, where, and the way out.
        line, at, byte = first_bad_byte('bad-viscii.csv')
        stray_line, stray_at, stray_byte = first_bad_byte('bad-stray-byte.csv')
        self.assertEqual(stray_byte, 0xE9)
        bad = {
            'bad-utf16-unicode-text.csv': [
                'line 1: the file is UTF-16 text (Excel\'s "Unicode Text")',
                'dòng 1: tệp là văn bản UTF-16'],
            'bad-viscii.csv': [
                'line %d: the file is neither UTF-8 (byte 0x%02X at byte '
                'offset %d) nor Vietnamese text in Windows-1258 ('
                % (line, byte, at),
                'dòng %d: tệp không phải UTF-8 (byte 0x%02X ở vị trí %d), '
                'cũng không phải văn bản tiếng Việt mã Windows-1258'
                % (line, byte, at)],
            'bad-stray-byte.csv': [
                'line %d: byte 0xE9 at byte offset %d is not UTF-8 (the rest '
                'of the file is UTF-8: 1 bad byte' % (stray_line, stray_at),
                'dòng %d: byte 0xE9 ở vị trí %d không phải UTF-8'
                % (stray_line, stray_at)],
        }
        for name, parts in sorted(bad.items()):
            msg = self.assert_refused(a, copy(name), parts + SAVE_AS
                                      + SAVE_AS_VI, queued)
            self.assertTrue(msg.startswith('gom-agent: %s: line '
                                           % os.path.join(files, name)), msg)

        # At the hubs: the same report, byte for byte, as typed.
        self.wait_all_acked(a, 2)
        self.wait_all_acked(b, 1)
        stored = {r['unit']: r for r in hub.reports()}
        self.assertEqual(sorted(stored), ['00412', '18073'])
        from_cp1258 = stored['18073']
        from_twin = hub_b.reports()[0]
        for r, name in ((from_cp1258, CP1258), (from_twin, TWIN),
                        (stored['00412'], ZEROS)):
            want = expected[name]
            self.assertEqual(
                (r['unit'], r['form'], r['period'], r['revision']),
                (want['unit'], want['form'], want['period'], 1), name)
            self.assertEqual(r['cells'], want['cells'], name)
            self.assertEqual(r['texts'], want['texts'], name)
        self.assertEqual(from_cp1258['cells'], from_twin['cells'])
        self.assertEqual(
            {k: v.encode('utf-8') for k, v in from_cp1258['texts'].items()},
            {k: v.encode('utf-8') for k, v in from_twin['texts'].items()})
        situation = from_cp1258['texts']['situation']
        self.assertTrue(unicodedata.is_normalized('NFC', situation))
        for letter in 'ấệờỹĐƯẶỴ“”–₫…':
            self.assertIn(letter, situation)

        # The spool folder: the good ones to done/ (already queued), with
        # the warnings logged; the bad ones to rejected/ with the reason.
        spool = a.spool
        names = [CP1258, ZEROS] + sorted(bad)
        for name in names:
            with open(os.path.join(FIXTURES, name), 'rb') as f:
                gomtest.write_file_atomic(os.path.join(spool, name),
                                          f.read())
        done = os.path.join(spool, 'done')
        rejected = os.path.join(spool, 'rejected')
        self.wait_for(
            lambda: all(os.path.exists(os.path.join(done, n))
                        for n in (CP1258, ZEROS)) and
            all(os.path.exists(os.path.join(rejected, n + '.reason.txt'))
                for n in bad), 30, 'the spool folder to take every file')
        for name in bad:
            self.assertTrue(os.path.exists(os.path.join(rejected, name)))
            with open(os.path.join(rejected, name + '.reason.txt'),
                      encoding='utf-8') as f:
                reason = f.read()
            for part in bad[name] + SAVE_AS + SAVE_AS_VI:
                self.assertIn(part, reason, name)
        for name in names:
            self.assertFalse(os.path.exists(os.path.join(spool, name)))
        log = a.log_text()
        for text in ('spool: %s: warning: %s' % (CP1258, WARN_CP1258),
                     'spool: %s: warning: %s' % (CP1258, WARN_CP1258_VI),
                     'spool: %s: warning: %s' % (ZEROS, WARN_ZEROS),
                     'spool: %s already queued' % CP1258):
            self.assertIn(text, log)
        self.assertEqual(len(a.list()), queued)


if __name__ == '__main__':
    gomtest.main()
