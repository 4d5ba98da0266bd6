"""The real hub and agent under valgrind (memcheck), in the build without
sanitizers (valgrind and AddressSanitizer do not mix; tests/run-all.sh runs
the suite on both builds and this test only runs on the plain one).

A hub with the seed form pack and an agent, both started under valgrind,
deliver reports from JSON, a CSV template and an Excel workbook (the
agent's CLI is run under valgrind too: template, submit, list, and the
Excel helper they start, gom-agent-xlsx), then the
hub's CLI answers totals and arrivals under valgrind; both daemons stop on
SIGTERM. Any invalid read or write, use of uninitialised memory or
definitely lost block makes valgrind exit 99 instead of 0, and the test
fails with valgrind's report.
"""
import os
import random
import shutil
import stat
import subprocess
import unittest

import gomtest
from test_seed_forms import PERIODS, FormModel, SeedFormsBase, load_form
from test_xlsx import fill_xlsx

VALGRIND = shutil.which('valgrind')


def sanitized(binary):
    try:
        out = subprocess.run(['ldd', binary], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return 'libasan' in out or 'libubsan' in out


def wrapper(dir, binary, name):
    """A script that runs binary under valgrind, for gomtest's daemons."""
    path = os.path.join(dir, 'vg-' + name + '.sh')
    log = os.path.join(dir, 'vg-' + name + '.valgrind.%p.log')
    with open(path, 'w') as f:
        # --trace-children: the helpers it starts (gom-agent-xlsx) too.
        f.write('#!/bin/sh\nexec %s --error-exitcode=99 --leak-check=full '
                '--trace-children=yes '
                '--errors-for-leak-kinds=definite --show-leak-kinds=definite '
                '--log-file=%s %s "$@"\n' % (VALGRIND, log, binary))
    os.chmod(path, stat.S_IRWXU)
    return path


@unittest.skipUnless(VALGRIND, 'valgrind not installed')
class Valgrind(SeedFormsBase):

    def setUp(self):
        super().setUp()
        if sanitized(gomtest.HUB_BIN) or sanitized(gomtest.AGENT_BIN):
            self.skipTest('sanitizer build: valgrind runs on the plain one')

    def vg_logs(self):
        out = []
        for n in sorted(os.listdir(self.tmp)):
            if '.valgrind.' in n:
                with open(os.path.join(self.tmp, n), errors='replace') as f:
                    text = f.read()
                if 'ERROR SUMMARY: 0 errors' not in text:
                    out.append('%s:\n%s' % (n, text[-4000:]))
        return out

    def run_vg(self, argv, what):
        cp = subprocess.run([wrapper(self.tmp, argv[0], 'cli-' +
                                     os.path.basename(argv[0]))] + argv[1:],
                            capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
        self.assertEqual(cp.returncode, 0, '%s under valgrind: %s%s\n%s'
                         % (what, cp.stdout, cp.stderr,
                            '\n'.join(self.vg_logs())))
        return cp

    def test_hub_and_agent_under_valgrind(self):
        hub = self.new_hub()
        hub.install_pack([os.path.join(gomtest.ROOT, 'deploy', 'forms',
                                       code + '.json') for code in PERIODS])
        hub.binary = wrapper(self.tmp, gomtest.HUB_BIN, 'hub')
        hub.start()
        hub.wait_listening(timeout=120)
        agent = self.new_agent(hub, ['18073'])
        agent.binary = wrapper(self.tmp, gomtest.AGENT_BIN, 'agent')
        agent.start()
        self.wait_forms_cached(agent, len(PERIODS), timeout=120)
        form = 'HT-VSTBPN-6T'
        model = FormModel(load_form(form))
        values = model.draw(random.Random(9), empty=0)
        texts = {code: 'Ổn định.' for code, _ in model.texts}
        tpl = os.path.join(self.tmp, 'tpl.xlsx')
        self.run_vg([gomtest.AGENT_BIN, 'template', '--config', agent.cfg,
                     '--form', form, '--period', PERIODS[form], '--xlsx',
                     tpl], 'gom-agent template --xlsx')
        filled = os.path.join(self.tmp, 'filled.xlsx')
        fill_xlsx(self, tpl, model, values, texts, filled)
        csv_tpl = os.path.join(self.tmp, 'tpl.csv')
        self.run_vg([gomtest.AGENT_BIN, 'template', '--config', agent.cfg,
                     '--form', 'HT-VSTBPN-NAM', '--period', '2026', '--out',
                     csv_tpl], 'gom-agent template')
        bad = os.path.join(self.tmp, 'bad.xlsx')
        with open(bad, 'wb') as f:
            f.write(b'PK\x03\x04 not really a workbook')
        cp = subprocess.run(
            [wrapper(self.tmp, gomtest.AGENT_BIN, 'cli-bad'), 'submit',
             '--config', agent.cfg, bad], capture_output=True, text=True,
            timeout=300, stdin=subprocess.DEVNULL)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.run_vg([gomtest.AGENT_BIN, 'submit', '--config', agent.cfg,
                     filled], 'gom-agent submit FILE.xlsx')
        self.run_vg([gomtest.AGENT_BIN, 'list', '--config', agent.cfg,
                     '--json'], 'gom-agent list')
        self.wait_all_acked(agent, 1, timeout=120)
        for what in ('totals', 'arrivals'):
            self.run_vg([gomtest.HUB_BIN, what, '--config', hub.cfg,
                         '--form', form, '--period', PERIODS[form],
                         '--json'], 'gom-hub %s' % what)
        agent.stop(timeout=120)
        hub.stop(timeout=120)
        self.assertEqual(self.vg_logs(), [])
        # Each of the 9 processes above wrote its summary: valgrind ran.
        clean = 0
        for n in os.listdir(self.tmp):
            if '.valgrind.' in n:
                with open(os.path.join(self.tmp, n), errors='replace') as f:
                    clean += 'ERROR SUMMARY: 0 errors' in f.read()
        self.assertGreaterEqual(clean, 9, 'valgrind did not run them all')


if __name__ == '__main__':
    gomtest.main()
