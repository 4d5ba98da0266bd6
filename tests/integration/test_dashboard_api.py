"""The dashboard's JSON API (docs/dashboard.md) against a real gom-hub with
real agents: login and roles, the answers compared with the command line's
(`gom-hub totals --json`, `texts --json`, `totals --csv`), live events on
arrival, rejected reports on the agents' page, enrollment and revocation
from the API (and the enrolled agent then delivering), /metrics, and bad
requests of every kind answered with a clear error.

Checked to fail: with the SSE stream sending nothing (no arrival events),
with /api/totals reading another period, with the role check removed from
enroll (the read-only user enrolls).
"""
import http.client
import json
import os
import queue
import subprocess
import threading
import time

import gomtest

FORM = 'HT-VSTBPN-6T'
PERIOD = '2026-H1'
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')


class Client(object):
    """A browser-like session: one cookie, JSON in and out."""

    def __init__(self, port):
        self.port = port
        self.cookie = None

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=20)
        hdrs = dict(headers or {})
        if self.cookie:
            hdrs['Cookie'] = self.cookie
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            hdrs.setdefault('Content-Type', 'application/json')
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        for k, v in resp.getheaders():
            if k.lower() == 'set-cookie' and v.startswith('gom_session='):
                token = v.split(';')[0]
                self.cookie = None if token == 'gom_session=' else token
        conn.close()
        if raw:
            return resp.status, payload, dict(resp.getheaders())
        try:
            doc = json.loads(payload.decode('utf-8'))
        except ValueError:
            raise AssertionError('%s %s: not JSON (%d): %r'
                                 % (method, path, resp.status, payload[:300]))
        return resp.status, doc

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body, **kw):
        return self.request('POST', path, body=body, **kw)

    def login(self, user, password):
        status, doc = self.post('/api/login',
                                {'user': user, 'password': password})
        assert status == 200, 'login %s: %d %s' % (user, status, doc)
        return doc


class EventReader(threading.Thread):
    """Reads /api/events into a queue of (type, data)."""

    def __init__(self, port, cookie):
        super().__init__(daemon=True)
        self.port, self.cookie = port, cookie
        self.events = queue.Queue()
        self.status = None
        self.ready = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        conn.request('GET', '/api/events', headers={'Cookie': self.cookie})
        resp = conn.getresponse()
        self.status = resp.status
        self.ready.set()
        etype, data = None, None
        while True:
            try:
                line = resp.fp.readline()
            except Exception:
                return
            if not line:
                return
            line = line.decode('utf-8').rstrip('\r\n')
            if line.startswith('event: '):
                etype = line[7:]
            elif line.startswith('data: '):
                data = json.loads(line[6:])
            elif line == '' and etype:
                self.events.put((etype, data))
                etype, data = None, None


class DashboardApi(gomtest.GomTestCase):

    def setUp(self):
        super().setUp()
        hub = self.hub = self.new_hub()
        hub.install_pack()
        self.port = gomtest.free_port()
        hub.enable_http(self.port)
        hub.add_user('admin', 'admin', 'admin-password-1')
        hub.add_user('viewer', 'read', 'viewer-password-1')
        hub.start()
        hub.wait_listening()
        hub.wait_log('dashboard on http://127.0.0.1:%d/' % self.port)

    def arrivals(self, c):
        status, doc = c.get('/api/arrivals?form=%s&period=%s'
                            % (FORM, PERIOD))
        self.assertEqual(status, 200, doc)
        return {u['code']: u['state'] for u in doc['units']}

    def cli(self, *args):
        return gomtest.run_cli([gomtest.HUB_BIN] + list(args) +
                               ['--config', self.hub.cfg]).stdout

    def test_api_end_to_end(self):
        hub, port = self.hub, self.port
        anon = Client(port)
        # The page itself answers without login, with a strict policy.
        status, body, headers = anon.get('/', raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b'<html', body.lower())
        self.assertIn("default-src 'self'",
                      headers.get('Content-Security-Policy', ''))
        # Nothing else does.
        for path in ('/api/me', '/api/forms', '/api/agents', '/metrics',
                     '/api/arrivals?form=%s&period=%s' % (FORM, PERIOD),
                     '/api/export.xlsx?form=%s&period=%s' % (FORM, PERIOD)):
            status, doc = anon.get(path)
            self.assertEqual(status, 401, '%s answered %d without login'
                             % (path, status))
        # A wrong password and an unknown user get the same answer.
        s1, d1 = anon.post('/api/login', {'user': 'admin',
                                          'password': 'wrong-password'})
        s2, d2 = anon.post('/api/login', {'user': 'nobody',
                                          'password': 'wrong-password'})
        self.assertEqual((s1, s2), (401, 401))
        self.assertEqual(d1, d2)
        self.assertIsNone(anon.cookie)
        # POST is JSON only (a cross-site form cannot send that).
        status, doc = anon.post('/api/login', b'user=admin',
                                headers={'Content-Type':
                                         'application/x-www-form-urlencoded'})
        self.assertEqual(status, 415, doc)

        admin = Client(port)
        self.assertEqual(admin.login('admin', 'admin-password-1'),
                         {'user': 'admin', 'role': 'admin'})
        self.assertEqual(admin.get('/api/me')[1]['role'], 'admin')
        status, forms = admin.get('/api/forms')
        codes = {f['code']: f for f in forms['forms']}
        self.assertIn(FORM, codes)
        self.assertIn(PERIOD, codes[FORM]['periods'])
        status, layout = admin.get('/api/layout?form=%s' % FORM)
        self.assertEqual(status, 200, layout)
        row_cells = [c for line in layout['lines'] if line['kind'] == 'row'
                     for c in line['cells'] if c]
        self.assertIn('TC1.so', row_cells)
        status, units = admin.get('/api/units')
        self.assertEqual([u['code'] for u in units['units']],
                         ['42', '436', '18073', '18076', '18079'])
        self.assertEqual(self.arrivals(admin),
                         {'18073': 'missing', '18076': 'missing',
                          '18079': 'missing'})

        # Live events from here on.
        events = EventReader(port, admin.cookie)
        events.start()
        self.assertTrue(events.ready.wait(10))
        self.assertEqual(events.status, 200)

        agents = {}
        for unit in ('18073', '18076'):
            a = agents[unit] = self.new_agent(hub, [unit], name='a' + unit)
            a.submit_ok(os.path.join(SAMPLES, '%s-%s.json' % (unit, PERIOD)))
            a.start()
        # The deadline (2026-06-14) has passed: both arrive late.
        self.wait_for(lambda: self.arrivals(admin) == {
            '18073': 'late', '18076': 'late', '18079': 'missing'}, 60,
            'two units late on the dashboard')
        got = set()
        deadline = time.monotonic() + 30
        while got != {'18073', '18076'} and time.monotonic() < deadline:
            try:
                etype, data = events.events.get(timeout=1)
            except queue.Empty:
                continue
            if etype == 'arrival' and data['form'] == FORM:
                self.assertEqual(data['period'], PERIOD)
                self.assertTrue(data['received_at'].endswith('Z'))
                got.add(data['unit'])
        self.assertEqual(got, {'18073', '18076'},
                         'arrival events seen on /api/events')

        # The same figures as the command line.
        q = 'form=%s&period=%s' % (FORM, PERIOD)
        status, totals = admin.get('/api/totals?' + q)
        self.assertEqual(status, 200, totals)
        self.assertEqual(totals, json.loads(self.cli(
            'totals', '--form', FORM, '--period', PERIOD, '--json')))
        by_code = {c['code']: c for c in totals['cells']}
        with open(os.path.join(SAMPLES, '18073-%s.json' % PERIOD),
                  encoding='utf-8') as f:
            s1 = json.load(f)
        with open(os.path.join(SAMPLES, '18076-%s.json' % PERIOD),
                  encoding='utf-8') as f:
            s2 = json.load(f)
        want = (s1['cells'].get('TC1.so') or 0) + \
            (s2['cells'].get('TC1.so') or 0)
        self.assertEqual(by_code['TC1.so']['sum'], want)
        status, sub = admin.get('/api/totals?' + q + '&root=436')
        self.assertEqual(sub['cells'], totals['cells'])
        status, csv_body, headers = admin.get('/api/export.csv?' + q,
                                              raw=True)
        self.assertEqual(status, 200)
        self.assertIn('attachment', headers.get('Content-Disposition', ''))
        # (run_cli reads text: its newlines are \n where the CSV has \r\n.)
        self.assertIn(b'\r\n', csv_body)
        self.assertEqual(csv_body.decode('utf-8').replace('\r\n', '\n'),
                         self.cli(
            'totals', '--form', FORM, '--period', PERIOD, '--csv'))
        status, xlsx, headers = admin.get('/api/export.xlsx?' + q, raw=True)
        self.assertEqual(status, 200)
        self.assertTrue(xlsx.startswith(b'PK') and len(xlsx) > 2000,
                        'not an xlsx: %r' % xlsx[:40])
        section = layout['texts'][0]['code']
        status, texts = admin.get('/api/texts?%s&section=%s' % (q, section))
        self.assertEqual(status, 200, texts)
        self.assertEqual(texts['texts'], json.loads(self.cli(
            'texts', '--form', FORM, '--period', PERIOD, '--section',
            section, '--json')))
        status, reps = admin.get('/api/reports?unit=18073')
        self.assertEqual(len(reps['reports']), 1)
        r = reps['reports'][0]
        self.assertEqual(r['cells'], {k: v for k, v in s1['cells'].items()
                                      if v is not None})
        self.assertEqual(r['sender'], [a for a in admin.get('/api/agents')[1]
                                       ['agents'] if a['units'] ==
                                       ['18073']][0]['fingerprint'])

        # A report the hub refuses: an agent enrolled for another unit.
        rogue = self.new_agent(hub, ['18079'], name='rogue',
                               enroll_units=['18076'])
        rogue.submit_ok(os.path.join(SAMPLES, '18079-%s.json' % PERIOD))
        rogue.start()
        self.wait_for(lambda: self.arrivals(admin)['18079'] == 'rejected',
                      60, '18079 shown as rejected')
        # Late, missing, rejected: the page's list is the command line's.
        status, api = admin.get('/api/arrivals?' + q)
        cli = json.loads(self.cli('arrivals', '--form', FORM, '--period',
                                  PERIOD, '--json'))
        self.assertEqual(api['units'], cli['units'])
        for k in ('expected', 'on_time', 'late', 'rejected', 'missing',
                  'percent', 'deadline_at', 'form', 'period', 'unit'):
            self.assertEqual(api[k], cli[k], k)
        self.assertEqual(cli['rejected'], 1)
        status, sub = admin.get('/api/arrivals?' + q + '&root=18076')
        self.assertEqual([u['code'] for u in sub['units']], ['18076'])
        status, ag = admin.get('/api/agents')
        mine = [a for a in ag['agents'] if a['key'] == rogue.key][0]
        self.assertEqual(mine['last_error']['code'], 'unauthorized')
        self.assertEqual(mine['rejected'], 1)
        self.assertIsNotNone(mine['last_message_at'])

        # A read-only user sees, and cannot enroll.
        viewer = Client(port)
        self.assertEqual(viewer.login('viewer', 'viewer-password-1')['role'],
                         'read')
        self.assertEqual(viewer.get('/api/agents')[0], 200)
        fixer = self.new_agent(hub, ['18079'], name='fixer', enroll=False)
        status, doc = viewer.post('/api/agents/enroll',
                                  {'key': fixer.key, 'units': ['18079']})
        self.assertEqual(status, 403, doc)
        # The admin can; the agent then delivers, and 18079 is late.
        status, doc = admin.post('/api/agents/enroll',
                                 {'key': fixer.key, 'units': ['18079']})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc['units'], ['18079'])
        fixer.submit_ok(os.path.join(SAMPLES, '18079-%s.json' % PERIOD))
        fixer.start()
        self.wait_all_acked(fixer, 1)
        self.assertEqual(self.arrivals(admin)['18079'], 'late')
        status, doc = admin.post('/api/agents/revoke', {'key': fixer.key})
        self.assertEqual(status, 200, doc)
        revoked = [a for a in json.loads(self.cli('agents', '--json'))
                   if a['key'] == fixer.key][0]
        self.assertIsNotNone(revoked['revoked_at'])
        status, doc = admin.post('/api/agents/enroll',
                                 {'key': 'not-a-key', 'units': ['18079']})
        self.assertEqual(status, 400)
        self.assertIn('key', doc['error'])
        status, doc = admin.post('/api/agents/enroll',
                                 {'key': fixer.key, 'units': ['99999']})
        self.assertEqual(status, 400)
        self.assertIn('99999', doc['error'])

        # Metrics (login needed here: metrics_public is off).
        status, text, _ = admin.get('/metrics', raw=True)
        self.assertEqual(status, 200)
        metrics = {}
        for line in text.decode().splitlines():
            if line and not line.startswith('#'):
                k, v = line.rsplit(' ', 1)
                metrics[k] = float(v)
        self.assertEqual(metrics['gom_reports_received_total'], 3)
        self.assertGreaterEqual(metrics['gom_nacks_total{code="unauthorized"}'],
                                1)
        self.assertGreaterEqual(metrics['gom_commit_seconds_count'], 3)
        self.assertGreaterEqual(metrics['gom_agents_connected'], 3)

        # Bad requests say what is wrong.
        for path, code, word in (
                ('/api/totals?form=%s' % FORM, 400, 'period'),
                ('/api/totals?form=NOPE&period=2026-H1', 404, 'NOPE'),
                ('/api/totals?form=%s&period=2026-Q3' % FORM, 400,
                 '2026-Q3'),
                ('/api/arrivals?form=%s&period=%s&root=777' % (FORM, PERIOD),
                 404, '777'),
                ('/api/texts?' + q, 400, 'section'),
                ('/api/reports', 400, 'unit'),
                ('/api/nothing', 404, '/api/nothing')):
            status, doc = admin.get(path)
            self.assertEqual(status, code, '%s: %s' % (path, doc))
            self.assertIn(word, doc['error'], path)
        status, doc = admin.post('/api/agents/enroll', b'{"key": ',)
        self.assertEqual(status, 400, doc)
        status, doc = admin.post('/api/agents/enroll',
                                 b'{"k": "' + b'x' * 200000 + b'"}')
        self.assertEqual(status, 413, doc)
        hub.assert_alive()

        # Logout ends the session.
        self.assertEqual(admin.post('/api/logout', {})[0], 200)
        self.assertEqual(admin.get('/api/me')[0], 401)
        cookie_was = viewer.cookie
        self.assertEqual(viewer.get('/api/me')[0], 200)
        # A restarted hub forgets sessions; a stopped one ends the stream.
        hub.stop()
        events.join(10)
        self.assertFalse(events.is_alive(), 'event stream still open')
        hub.start()
        hub.wait_log('dashboard on')
        viewer.cookie = cookie_was
        self.assertEqual(viewer.get('/api/me')[0], 401)


class UserCommands(gomtest.GomTestCase):

    def test_user_add_passwd_del(self):
        hub = self.new_hub()
        hub.add_user('op', 'read', 'first-password')
        run = lambda *a, **kw: subprocess.run(  # noqa: E731
            [gomtest.HUB_BIN, 'user'] + list(a) + ['--config', hub.cfg],
            capture_output=True, text=True, timeout=30, **kw)
        cp = run('add', '--name', 'op', '--role', 'read',
                 input='another-password\n')
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn('exists', cp.stderr)
        cp = run('add', '--name', 'short', '--role', 'read', input='abc\n')
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn('8 to 1024', cp.stderr)
        cp = run('add', '--name', 'x', '--role', 'boss',
                 input='long-enough-1\n')
        self.assertIn('admin or read', cp.stderr)
        cp = run('passwd', '--name', 'op', input='second-password\n')
        self.assertEqual(cp.returncode, 0, cp.stderr)
        cp = run('list', '--json')
        users = json.loads(cp.stdout)
        self.assertEqual([(u['name'], u['role']) for u in users],
                         [('op', 'read')])
        # The password is in keys.db only as an Argon2id hash.
        with open(os.path.join(hub.dir, 'keys.db'), 'rb') as f:
            raw = f.read()
        for name in ('keys.db-wal',):
            p = os.path.join(hub.dir, name)
            if os.path.exists(p):
                with open(p, 'rb') as f:
                    raw += f.read()
        self.assertNotIn(b'second-password', raw)
        self.assertIn(b'$argon2id$', raw)
        # Login with the new password works, the old one does not.
        port = gomtest.free_port()
        hub.enable_http(port)
        hub.start()
        hub.wait_log('dashboard on')
        c = Client(port)
        self.assertEqual(c.post('/api/login', {'user': 'op', 'password':
                                               'first-password'})[0], 401)
        self.assertEqual(c.login('op', 'second-password')['role'], 'read')
        cp = run('del', '--name', 'op')
        self.assertEqual(cp.returncode, 0, cp.stderr)
        c2 = Client(port)
        self.assertEqual(c2.post('/api/login', {'user': 'op', 'password':
                                                'second-password'})[0], 401)
        self.assertIn('no user', run('del', '--name', 'op').stderr)


if __name__ == '__main__':
    gomtest.main()
