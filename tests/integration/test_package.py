"""The Debian packages (issue 9, part 2; deploy/packaging.cmake).

Runs CPack on the build tree the tested binaries come from (into a
temporary folder, so the build tree's own package outputs are untouched)
and checks, with dpkg-deb, that:
- gom-hub and gom-agent .deb are made, named and versioned as the program
  says (`gom-hub version`);
- each holds its program in /usr/bin, its unit in /lib/systemd/system (the
  same bytes as deploy/systemd), its samples (and the hub its forms) in
  /usr/share/gom, its doc; neither holds the other's program, and no path
  is in both (dpkg would refuse to install them side by side);
- Depends names adduser (the maintainer scripts use it) and the shared
  libraries dpkg-shlibdeps found (libzmq, czmq, sqlite, libsystemd, ...);
- postinst, prerm and postrm are there, executable, and parse (sh -n).
lintian, if installed, is run and its findings printed, never failed on.
"""

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import unittest

import gomtest
from gomtest import HUB_BIN, AGENT_BIN, ROOT

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(HUB_BIN)))

EXPECT = {
    'gom-hub': ['./usr/bin/gom-hub', './lib/systemd/system/gom-hub.service',
                './usr/share/gom/hub.cfg.sample',
                './usr/share/gom/forms/HT-VSTBPN-6T.json',
                './usr/share/doc/gom-hub/operations.md'],
    'gom-agent': ['./usr/bin/gom-agent', './usr/bin/gom-agent-xlsx',
                  './usr/bin/gom-agent-quiet',
                  './lib/systemd/system/gom-agent.service',
                  './usr/share/gom/agent.cfg.sample',
                  './usr/share/gom/samples/18073-2026-H1.json',
                  './usr/share/doc/gom-agent/operations.md'],
}
DEPENDS = {
    'gom-hub': ['adduser', 'libzmq5', 'libczmq4', 'libsqlite3-0',
                'libsystemd0', 'libsodium23', 'libmicrohttpd12',
                'libxlsxwriter4', 'libc6'],
    # The Excel libraries: gom-agent-xlsx's (agent/agent_xlsx.h).
    'gom-agent': ['adduser', 'libzmq5', 'libczmq4', 'libsqlite3-0',
                  'libsystemd0', 'libxlsxwriter4', 'libzip4', 'libxml2',
                  'libc6'],
}


def run(argv, timeout=60):
    cp = subprocess.run(argv, capture_output=True, text=True,
                        timeout=timeout)
    if cp.returncode != 0:
        raise AssertionError('%s failed (%d)\nstdout: %s\nstderr: %s'
                             % (' '.join(argv), cp.returncode,
                                cp.stdout[-3000:], cp.stderr[-3000:]))
    return cp.stdout


class PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ('cpack', 'dpkg-deb', 'dpkg-shlibdeps'):
            if not shutil.which(tool):
                raise AssertionError('%s missing (deploy/install-deps.sh '
                                     'installs it)' % tool)
        config = os.path.join(BUILD, 'CPackConfig.cmake')
        if not os.path.exists(config):
            raise AssertionError('%s missing: not a configured build tree'
                                 % config)
        cls.tmp = tempfile.mkdtemp(prefix='gom-package-')
        run(['cpack', '-G', 'DEB', '-B', cls.tmp, '--config', config],
            timeout=100)
        version = run([HUB_BIN, 'version']).split()[-1]
        arch = run(['dpkg', '--print-architecture']).strip()
        cls.debs = {}
        for name in EXPECT:
            path = os.path.join(cls.tmp, '%s_%s_%s.deb'
                                % (name, version, arch))
            assert os.path.exists(path), '%s not made: %s' % (
                path, os.listdir(cls.tmp))
            cls.debs[name] = path
        cls.version = version

    @classmethod
    def tearDownClass(cls):
        if not gomtest.KEEP:
            shutil.rmtree(cls.tmp, True)

    def files(self, name):
        out = run(['dpkg-deb', '-c', self.debs[name]])
        return {line.split()[-1] for line in out.splitlines()
                if not line.startswith('d')}

    def test_file_lists(self):
        lists = {name: self.files(name) for name in EXPECT}
        for name, want in EXPECT.items():
            for path in want:
                self.assertIn(path, lists[name], name)
        self.assertNotIn('./usr/bin/gom-agent', lists['gom-hub'])
        self.assertNotIn('./usr/bin/gom-hub', lists['gom-agent'])
        self.assertEqual(lists['gom-hub'] & lists['gom-agent'], set())
        forms = {p for p in lists['gom-hub']
                 if p.startswith('./usr/share/gom/forms/')}
        shipped = {f for f in os.listdir(os.path.join(ROOT, 'deploy', 'forms'))
                   if f.endswith('.json')}
        self.assertEqual({os.path.basename(p) for p in forms}, shipped)

    def test_units_are_the_repository_s(self):
        for name in EXPECT:
            out = os.path.join(self.tmp, 'x-' + name)
            run(['dpkg-deb', '-x', self.debs[name], out])
            unit = '%s.service' % name
            with open(os.path.join(out, 'lib', 'systemd', 'system', unit),
                      'rb') as f:
                packed = f.read()
            with open(os.path.join(ROOT, 'deploy', 'systemd', unit),
                      'rb') as f:
                self.assertEqual(packed, f.read(), unit)
            mode = os.stat(os.path.join(out, 'usr', 'bin', name)).st_mode
            self.assertTrue(mode & 0o111, '%s not executable' % name)

    def test_control_fields(self):
        for name, libs in DEPENDS.items():
            info = run(['dpkg-deb', '-I', self.debs[name]])
            fields = dict(re.findall(r'^ ([A-Za-z-]+): (.*)$', info, re.M))
            self.assertEqual(fields.get('Package'), name)
            self.assertEqual(fields.get('Version'), self.version)
            self.assertTrue(fields.get('Description'), name)
            self.assertTrue(fields.get('Maintainer'), name)
            deps = [d.strip().split()[0]
                    for d in fields.get('Depends', '').split(',') if d]
            for lib in libs:
                self.assertIn(lib, deps, '%s Depends: %s' % (name, deps))

    def test_maintainer_scripts(self):
        for name in EXPECT:
            ctrl = os.path.join(self.tmp, 'ctrl-' + name)
            run(['dpkg-deb', '-e', self.debs[name], ctrl])
            for script in ('postinst', 'prerm', 'postrm'):
                path = os.path.join(ctrl, script)
                self.assertTrue(os.path.exists(path), '%s %s' % (name,
                                                                  script))
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o755,
                                 '%s %s mode' % (name, script))
                run(['sh', '-n', path])
            with open(os.path.join(ctrl, 'postrm')) as f:
                postrm = f.read()
            # Data goes only on purge.
            purge = postrm.index('"$1" = purge')
            self.assertGreater(postrm.index('rm -rf /var/lib/'), purge)
            with open(os.path.join(ctrl, 'postinst')) as f:
                self.assertIn('adduser --system', f.read())

    def test_lintian(self):
        tool = shutil.which('lintian')
        if not tool:
            self.skipTest('lintian not installed: packages not linted')
        for name, path in self.debs.items():
            cp = subprocess.run([tool, '--no-tag-display-limit', path],
                                capture_output=True, text=True, timeout=100)
            print('\nlintian %s (exit %d, not a failure):\n%s%s'
                  % (name, cp.returncode, cp.stdout, cp.stderr))


if __name__ == '__main__':
    unittest.main(verbosity=2)
