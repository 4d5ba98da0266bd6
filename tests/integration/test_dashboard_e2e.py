"""The operator dashboard in a real browser (tests/e2e/dashboard.mjs).

A real gom-hub with the seed form pack, the Hà Tĩnh sample unit tree and
its HTTP server on a free port; two accounts (an admin and a read-only
user); real agents for three communes, two of which have reported. The
browser script then: is refused with a wrong password; logs in and sees the
third commune missing; has that commune's (running) agent submit and sees
the row change without a reload; checks one cell of the consolidated table
against the sum computed here from `gom-hub totals --json`; downloads the
XLSX; and, logged in as the read-only user, finds no enroll form and gets
403 for an enroll POST.

Needs Debian's chromium and tests/e2e/node_modules (playwright-core): run
tests/e2e/setup.sh once. Without them this test fails (it does not skip).
Screenshots go to <build>/e2e-screenshots when the binaries are in a CMake
build tree, else to a temporary folder; the path is printed.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import gomtest

E2E = os.path.join(gomtest.ROOT, 'tests', 'e2e')
SCRIPT = os.path.join(E2E, 'dashboard.mjs')
CHROMIUM = '/usr/bin/chromium'
FORM = 'HT-VSTBPN-6T'
CELL = 'TC3.so'
NODE_TIMEOUT = 240           # seconds the whole browser script may take


def screenshots_dir():
    build = os.path.dirname(os.path.dirname(os.path.abspath(gomtest.HUB_BIN)))
    if os.path.exists(os.path.join(build, 'CMakeCache.txt')):
        d = os.path.join(build, 'e2e-screenshots')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d
    return tempfile.mkdtemp(prefix='gom-e2e-screenshots-')


def sample(unit, period):
    with open(os.path.join(gomtest.ROOT, 'deploy', 'samples',
                           '%s-2026-H1.json' % unit), encoding='utf-8') as f:
        doc = json.load(f)
    doc['period'] = period
    return doc


class DashboardE2E(gomtest.GomTestCase):

    def setUp(self):
        super().setUp()
        missing = []
        if not os.access(CHROMIUM, os.X_OK):
            missing.append(CHROMIUM)
        if not os.path.isdir(os.path.join(E2E, 'node_modules',
                                          'playwright-core')):
            missing.append(os.path.join(E2E, 'node_modules'))
        node = shutil.which('node')
        if not node:
            missing.append('node')
        if missing:
            self.fail('%s missing: run tests/e2e/setup.sh (installs chromium '
                      'and the node packages of tests/e2e)'
                      % ', '.join(missing))
        self.node = node

    def test_dashboard_in_browser(self):
        # This half-year: its reports are listed in the period selector,
        # and whether a report sealed now is on time follows its deadline.
        today = datetime.datetime.now(datetime.timezone.utc)
        period = '%d-H%d' % (today.year, 1 if today.month <= 6 else 2)

        hub = self.new_hub()
        hub.install_pack()
        http_port = gomtest.free_port()
        hub.set('http_port', http_port)
        hub.set('http_address', '127.0.0.1')
        hub.add_user('admin', 'admin', 'quản-trị pass 1')
        hub.add_user('reader', 'read', 'reader-pass-2')
        hub.start()
        hub.wait_listening()
        url = 'http://127.0.0.1:%d' % http_port
        self.wait_for(lambda: self._http_up(url), 20,
                      'the dashboard answering on %s' % url)

        # Two communes report first; the third's agent runs with nothing.
        agents = {}
        for unit in ('18073', '18076', '18079'):
            agents[unit] = self.new_agent(hub, [unit], name='agent-' + unit)
        for unit in ('18073', '18076'):
            path = self.report(unit, form=FORM, period=period,
                               cells=sample(unit, period)['cells'],
                               texts=sample(unit, period)['texts'])
            agents[unit].submit_ok(path)
        for a in agents.values():
            a.start()
        for unit in ('18073', '18076'):
            self.wait_all_acked(agents[unit], 1)

        arr = gomtest.run_json(
            [gomtest.HUB_BIN, 'arrivals', '--config', hub.cfg, '--form', FORM,
             '--period', period, '--json'], what='arrivals')
        states = {u['code']: u['state'] for u in arr['units']}
        self.assertEqual(states.get('18079'), 'missing', states)
        deadline = datetime.datetime.strptime(
            arr['deadline_at'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(
                tzinfo=datetime.timezone.utc)
        expected_state = ('on_time' if datetime.datetime.now(
            datetime.timezone.utc) < deadline else 'late')

        # The report the browser script has the third agent submit, and the
        # cell total the page must show once it is stored.
        doc = sample('18079', period)
        report = self.report('18079', form=FORM, period=period,
                             cells=doc['cells'], texts=doc['texts'])
        totals = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form', FORM,
             '--period', period, '--json'], what='totals')
        before = [c for c in totals['cells'] if c['code'] == CELL]
        self.assertEqual(len(before), 1, 'no cell %s in totals' % CELL)
        expected_total = (before[0]['sum'] or 0) + doc['cells'][CELL]

        shots = screenshots_dir()
        sys.stderr.write('\n[dashboard e2e] screenshots in %s\n' % shots)
        desc = {
            'url': url,
            'admin': {'user': 'admin', 'password': 'quản-trị pass 1'},
            'reader': {'user': 'reader', 'password': 'reader-pass-2'},
            'agent_bin': gomtest.AGENT_BIN,
            'agent_config': agents['18079'].cfg,
            'report': report,
            'unit': '18079',
            'form': FORM,
            'period': period,
            'expected_state': expected_state,
            'cell': CELL,
            'expected_total': expected_total,
            'screenshots': shots,
            'chromium': CHROMIUM,
        }
        desc_path = os.path.join(self.tmp, 'desc.json')
        with open(desc_path, 'w', encoding='utf-8') as f:
            json.dump(desc, f, ensure_ascii=False, indent=1)
        try:
            cp = subprocess.run([self.node, SCRIPT, desc_path],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, encoding='utf-8',
                                errors='replace', timeout=NODE_TIMEOUT,
                                cwd=E2E)
        except subprocess.TimeoutExpired as e:
            self.fail('dashboard.mjs did not finish within %d s:\n%s\n'
                      '---- hub log ----\n%s'
                      % (NODE_TIMEOUT, e.stdout, gomtest.tail(hub.log_path)))
        sys.stderr.write(cp.stdout)
        self.assertEqual(
            cp.returncode, 0,
            'dashboard.mjs failed (status %d; screenshots in %s):\n%s\n'
            '---- hub log ----\n%s'
            % (cp.returncode, shots, cp.stdout, gomtest.tail(hub.log_path)))

        # What the page showed is what the hub has.
        self.wait_all_acked(agents['18079'], 1)
        totals = gomtest.run_json(
            [gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form', FORM,
             '--period', period, '--json'], what='totals')
        self.assertEqual([c['sum'] for c in totals['cells']
                          if c['code'] == CELL], [expected_total])
        hub.assert_alive()

    @staticmethod
    def _http_up(url):
        import urllib.request
        import urllib.error
        try:
            urllib.request.urlopen(url + '/api/me', timeout=2)
        except urllib.error.HTTPError as e:
            return e.code == 401
        except OSError:
            return False
        return True


if __name__ == '__main__':
    gomtest.main()
