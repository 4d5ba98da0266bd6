"""The command line asking the running hub (docs/cli.md, docs/dashboard.md:
the ask channel DIR/hub.ask) against a real gom-hub with its dashboard and
real agents: `gom-hub totals|arrivals|texts` print byte for byte what they
print with --direct (reading hub.db themselves), for every format and for
every error; the hub really answered (its /metrics count the answers); a
report acknowledged to an agent is in the very next answer; with the hub
stopped, killed (its socket file left behind), or frozen (SIGSTOP: it
accepts and never answers), the command still answers, from hub.db, in
bounded time; a data folder too deep for a socket's path leaves the hub
serving without one.

Checked to fail: with the hub's answers cached without regard to new
reports (the freshness checks), with the recent answers taken as
made again after a report was stored though they were not (the same
checks), with the arrivals JSON written with
lower-case \\u escapes or without the shared missing_units objects (the
byte comparisons), with the probe of the socket file removed (a killed
hub's file then costs the 1 s deadline at every command).
"""
import json
import os
import signal
import socket
import stat
import statistics
import subprocess
import time
import urllib.request

import gomtest

FORM = 'HT-VSTBPN-6T'
PERIOD = '2026-H1'
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')
DEADLINE_S = 1.0        # the command's wait for the hub's answer


class CliAsk(gomtest.GomTestCase):

    def setUp(self):
        super().setUp()
        hub = self.hub = self.new_hub()
        # Two more communes, never reporting, whose names need escaping
        # in JSON: quotes, a backslash, a tab, a control character.
        hub.install_pack(tree=gomtest.SAMPLE_TREE.rstrip('\n') + '\n' +
                         '18082,"Xã ""Thử"" \\ A\tB",436,commune,,\n'
                         '18085,"Xã Một\x1fHai",436,commune,,\n')
        self.port = gomtest.free_port()
        hub.enable_http(self.port)
        hub.set('metrics_public', '1')
        self.sock = os.path.join(hub.dir, 'hub.ask')
        self.start_hub()

    def start_hub(self):
        self.hub.start()
        self.hub.wait_listening()
        self.hub.wait_log('dashboard on http://127.0.0.1:%d/' % self.port)
        self.wait_for(lambda: self.asks() is not None, 20,
                      'the hub answering /metrics')
        self.wait_for(self.listening, 20, 'the ask socket %s' % self.sock)

    def listening(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def asks(self, metric='gom_ask_answers_total'):
        """A counter from the hub's /metrics (None: no hub)."""
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics'
                                        % self.port, timeout=10) as r:
                text = r.read().decode('utf-8')
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(metric + ' '):
                return int(line.split()[1])
        raise AssertionError('no %s in /metrics:\n%s' % (metric, text))

    def refreshes(self):
        return self.asks('gom_ask_refreshes_total')

    def cli(self, *args, direct=False):
        """(status, stdout bytes, stderr bytes, seconds) of one command."""
        argv = [gomtest.HUB_BIN] + list(args) + ['--config', self.hub.cfg]
        if direct:
            argv.append('--direct')
        t0 = time.monotonic()
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=gomtest.CLI_TIMEOUT)
        return cp.returncode, cp.stdout, cp.stderr, time.monotonic() - t0

    def same(self, *args, exact=True):
        """Runs the command asking the hub and with --direct; asserts the
        same status, standard output and error, byte for byte, and that
        the hub answered the first. Returns (status, stdout)."""
        before = self.asks()
        asked = self.cli(*args)
        after = self.asks()
        direct = self.cli(*args, direct=True)
        what = ' '.join(args)
        if exact:
            self.assertEqual(after, before + 1,
                             '%s: the hub did not answer it' % what)
        else:
            self.assertGreater(after, before,
                               '%s: the hub did not answer it' % what)
        self.assertEqual(asked[0], direct[0], '%s: exit status' % what)
        self.assertEqual(asked[2], direct[2], '%s: standard error' % what)
        if asked[1] != direct[1]:
            a, d = asked[1], direct[1]
            at = next((i for i in range(min(len(a), len(d))) if a[i] != d[i]),
                      min(len(a), len(d)))
            self.fail('%s: outputs differ at byte %d (hub %d bytes, direct '
                      '%d):\nhub:    %r\ndirect: %r' % (
                          what, at, len(a), len(d), a[max(0, at - 80):at + 80],
                          d[max(0, at - 80):at + 80]))
        return asked[0], asked[1]

    def test_answers_equal_direct_and_fresh(self):
        hub = self.hub
        q = ['--form', FORM, '--period', PERIOD]
        # Nothing stored yet: every unit missing.
        status, out = self.same('arrivals', *q)
        self.assertEqual(status, 0)
        self.assertIn(b'5 missing', out)

        a73 = self.new_agent(hub, ['18073'], name='a18073')
        a73.submit_ok(os.path.join(SAMPLES, '18073-%s.json' % PERIOD))
        a76 = self.new_agent(hub, ['18076'], name='a18076')
        a76.submit_ok(os.path.join(SAMPLES, '18076-%s.json' % PERIOD))
        # A refusal, with its reason in the arrivals: enrolled for 18076,
        # sends 18079.
        rogue = self.new_agent(hub, ['18079'], name='rogue',
                               enroll_units=['18076'])
        rogue.submit_ok(os.path.join(SAMPLES, '18079-%s.json' % PERIOD))
        for a in (a73, a76, rogue):
            a.start()
        self.wait_all_acked(a73, 1)
        self.wait_all_acked(a76, 1)
        self.wait_for(lambda: rogue.list()[0]['state'] == 'rejected', 60,
                      'the rogue report refused')

        section = 'situation'
        views = [
            ['totals'] + q + ['--json'],
            ['totals'] + q,
            ['totals'] + q + ['--csv'],
            ['totals'] + q + ['--json', '--csv'],
            ['totals'] + q + ['--unit', '436'],
            ['totals'] + q + ['--unit', '18073', '--json'],
            ['arrivals'] + q + ['--json'],
            ['arrivals'] + q,
            ['arrivals'] + q + ['--csv'],
            ['arrivals'] + q + ['--unit', '18079', '--json'],
            ['texts'] + q + ['--section', section],
            ['texts'] + q + ['--section', section, '--json'],
            ['texts'] + q + ['--section', section, '--unit', '18076'],
        ]
        for v in views:
            status, out = self.same(*v)
            self.assertEqual(status, 0, v)
        # What the views hold (the byte comparisons above say the rest).
        status, out = self.same('arrivals', *q, '--json')
        self.assertIn(b'"rejected": 1', out)
        self.assertIn(b'"missing_units": [\n    {', out)
        self.assertIn(b'"name": "X\xc3\xa3 M\xe1\xbb\x99t\\u001FHai"', out)
        status, out = self.same('texts', *q, '--section', section)
        self.assertIn('Tình hình chung'.encode('utf-8'), out)

        # Errors: the same words and status either way.
        errors = [
            ['totals', '--form', 'NO-SUCH', '--period', PERIOD],
            ['arrivals', '--form', 'NO-SUCH', '--period', PERIOD, '--json'],
            ['texts', '--form', 'NO-SUCH', '--period', PERIOD,
             '--section', section],
            ['totals', '--form', FORM, '--period', '2026-Q3'],
            ['arrivals', '--form', FORM, '--period', 'soon', '--json'],
            ['totals', '--form', FORM, '--period', 'soon', '--unit', 'X9'],
            ['totals'] + q + ['--unit', 'X9'],
            ['arrivals'] + q + ['--unit', 'X9'],
            ['texts'] + q + ['--section', 'no_such_section'],
        ]
        for e in errors:
            status, out = self.same(*e)
            self.assertEqual(status, 1, e)
            self.assertEqual(out, b'', e)
        # An empty value is not "none": the command checks it itself.
        for e in (['totals'] + q + ['--unit', ''],
                  ['texts'] + q + ['--section', '']):
            asked = self.cli(*e)
            self.assertEqual(asked[:3], self.cli(*e, direct=True)[:3])
            self.assertEqual(asked[0], 1, asked)
        # texts checks only its section: another period is an empty list,
        # and so is an unknown unit, either way.
        for e in (['texts', '--form', FORM, '--period', '2099-H1',
                   '--section', section, '--json'],
                  ['texts'] + q + ['--section', section, '--unit', 'X9',
                                   '--json']):
            self.assertEqual(self.same(*e), (0, b'[]\n'))

        # Fresh: a report acknowledged is in the very next answer, though
        # the hub had these answers cached.
        fixer = self.new_agent(hub, ['18079'], name='fixer')
        fixer.submit_ok(os.path.join(SAMPLES, '18079-%s.json' % PERIOD))
        fixer.start()
        self.wait_all_acked(fixer, 1)
        status, out = self.same('arrivals', *q, '--unit', '18079', '--json')
        self.assertIn(b'"state": "late"', out)
        self.same('totals', *q, '--json')
        with open(os.path.join(SAMPLES, '18079-%s.json' % PERIOD),
                  encoding='utf-8') as f:
            sample = json.load(f)
        for revision in (2, 3):
            value = 1000 + revision
            path = self.report('18079', form=FORM, period=PERIOD,
                               revision=revision,
                               cells=dict(sample['cells'],
                                          **{'TC3.so': value}),
                               texts=dict(sample['texts'],
                                          **{section: 'r%d' % revision}),
                               name='18079-r%d.json' % revision)
            before = self.asks()
            made = self.refreshes()
            cp = gomtest.run_cli([gomtest.AGENT_BIN, 'submit', '--config',
                                  fixer.cfg, '--revise', path])
            self.assertIn('r%d' % revision, cp.stdout)
            self.wait_all_acked(fixer, revision)
            # The answers asked lately are made again once it is stored,
            # before anyone asks (the hot ones, s_ask_refresh); what the
            # hub made then is what is compared below.
            self.wait_for(lambda: self.refreshes() > made, 20,
                          'the hub making its recent answers again')
            status, out = self.same('totals', *q, '--unit', '18079',
                                    '--json')
            self.assertIn(b'"sum": %d,' % value, out)
            status, out = self.same('texts', *q, '--section', section,
                                    '--unit', '18079')
            self.assertIn(b'(r%d)\nr%d\n' % (revision, revision), out)
            self.assertEqual(self.asks(), before + 2)

        # Socket file: the owner's alone.
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

        expected = {tuple(v): self.cli(*v, direct=True)[:3] for v in views}

        def fallback_ok(label):
            """Every view answered from hub.db as --direct answers it, and
            with no wait for a hub."""
            for v in views:
                got = self.cli(*v)
                self.assertEqual(got[:3], expected[tuple(v)],
                                 '%s: %s' % (label, ' '.join(v)))
            v = ['arrivals'] + q + ['--json']
            plain = statistics.median(self.cli(*v)[3] for _ in range(3))
            direct = statistics.median(self.cli(*v, direct=True)[3]
                                       for _ in range(3))
            self.assertLess(plain, direct + DEADLINE_S * 0.8,
                            '%s: the command waited for a hub (%.2f s, '
                            '%.2f s with --direct)' % (label, plain, direct))

        # The hub stopped: no socket file left; the command reads hub.db.
        hub.stop()
        self.assertFalse(os.path.exists(self.sock),
                         'hub.ask left behind by a hub stopped cleanly')
        fallback_ok('hub stopped')

        # Killed: its socket file stays, and nobody listens on it.
        self.start_hub()
        self.same('totals', *q)
        hub.kill9()
        self.assertTrue(os.path.exists(self.sock))
        fallback_ok('hub killed')
        # A new hub takes the file over.
        self.start_hub()
        self.same('arrivals', *q, '--json')

        # Frozen: the kernel still accepts the connection, no answer comes;
        # after the deadline the command reads hub.db itself.
        v = ['totals'] + q + ['--json']
        os.kill(hub.proc.pid, signal.SIGSTOP)
        try:
            got = self.cli(*v)
        finally:
            os.kill(hub.proc.pid, signal.SIGCONT)
        self.assertEqual(got[:3], expected[tuple(v)])
        self.assertGreaterEqual(got[3], DEADLINE_S * 0.9)
        self.assertLess(got[3], DEADLINE_S + 20)
        hub.assert_alive()
        self.wait_for(lambda: self.asks() is not None, 20,
                      'the hub answering again')
        # (exact=False: the frozen command's request may come in late.)
        self.same(*v, exact=False)
        hub.stop()


class CliAskLongPath(gomtest.GomTestCase):

    def test_socket_path_too_long(self):
        """A data folder whose hub.ask would not fit a Unix socket's 107
        bytes: the hub says so once and serves; the command reads hub.db."""
        deep = os.path.join(self.tmp, 'd' * max(1, 110 - len(self.tmp)))
        hub = self._track(gomtest.Hub())
        hub.init(deep, gomtest.free_port())
        self.assertGreater(len(os.path.join(deep, 'hub.ask')), 107)
        hub.install_pack()
        hub.enable_http(gomtest.free_port())
        hub.start()
        hub.wait_listening()
        hub.wait_log('ask: no socket for the command line')
        hub.wait_log('dashboard on')
        argv = [gomtest.HUB_BIN, 'arrivals', '--config', hub.cfg, '--form',
                FORM, '--period', PERIOD]
        plain = subprocess.run(argv, capture_output=True, timeout=60)
        direct = subprocess.run(argv + ['--direct'], capture_output=True,
                                timeout=60)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual((plain.stdout, plain.stderr),
                         (direct.stdout, direct.stderr))
        self.assertFalse(os.path.exists(os.path.join(deep, 'hub.ask')))
        hub.stop()


if __name__ == '__main__':
    gomtest.main()
