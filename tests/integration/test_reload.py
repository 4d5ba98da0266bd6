"""SIGHUP reloads the hub's form pack and unit tree (issue 9, item 4),
against a real hub with its dashboard and a connected agent:

- a broken units.csv: the hub logs which file, which line and what, keeps
  the tree in force (arrivals asked of the running hub still answer with
  it, where `--direct`, reading the broken file, fails) and keeps serving;
- a new commune and a new version of a form: after SIGHUP the hub's
  answers count the commune as expected, an agent enrolled for it gets its
  report stored (the hub's own checks take the new tree), and the agent
  that was connected all along is offered the new form version at its next
  hello, without its connection ever dropping;
- every report stored exactly once.

Checked to fail: with SIGHUP ignored (the arrivals keep 3 communes), with
only the dashboard's copy swapped (the new commune's report is refused).

And SIGHUP every 50 ms while two agents' 800 reports stream in (the
hub's writer thread checks each report against the unit tree while the
loop reads the new one; hub_server.c makes the swap wait for the batch the
writer holds): every reload taken, every report stored once, none
refused, the hub alive. It does not reliably catch the swap racing the
writer: with the wait removed it passed 5 runs of 5 under ASan (the
writer's batches are short); that ordering rests on review.
"""
import json
import os
import signal
import sys
import time

import gomtest

FORM = 'HT-VSTBPN-6T'
PERIOD = '2026-H1'
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')
NEW_UNIT = '18082'


class Reload(gomtest.GomTestCase):

    def arrivals(self, direct=False):
        argv = [gomtest.HUB_BIN, 'arrivals', '--config', self.hub.cfg,
                '--form', FORM, '--period', PERIOD, '--json']
        if direct:
            argv.append('--direct')
        return gomtest.run_cli(argv, check=False)

    def reload(self, expect):
        before = self.hub.log_text().count('reload: ')
        os.kill(self.hub.proc.pid, signal.SIGHUP)
        self.wait_for(lambda: self.hub.log_text().count('reload: ') > before,
                      20, 'the hub logging its reload')
        self.hub.wait_log(expect)
        self.hub.assert_alive()

    def test_reload(self):
        hub = self.hub = self.new_hub()
        hub.install_pack()
        hub.enable_http(gomtest.free_port())
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, ['18073'])
        agent.set('hello_ivl_ms', 500)
        agent.start()
        # submit checks against the forms the hub has sent: all of them
        # first (they come one by one after the welcome).
        self.wait_forms_cached(agent, len(gomtest.SEED_FORMS))
        agent.submit_ok(os.path.join(SAMPLES, '18073-%s.json' % PERIOD))
        self.wait_all_acked(agent, 1)
        first = json.loads(self.arrivals().stdout)
        self.assertEqual(first['expected'], 3)
        tree_path = os.path.join(hub.dir, 'units.csv')
        good_tree = gomtest.SAMPLE_TREE

        # A broken tree: said, and the old one stays.
        with open(tree_path, 'w', encoding='utf-8') as f:
            f.write(good_tree + '%s,Xã Mới,999,commune,,\n' % NEW_UNIT)
        self.reload('the form pack and unit tree in force stay')
        line = [l for l in hub.log_text().splitlines()
                if 'reload: ' in l][-1]
        self.assertIn('units.csv', line)
        self.assertIn('999', line)
        cp = self.arrivals()
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(json.loads(cp.stdout)['expected'], 3)
        self.assertNotEqual(self.arrivals(direct=True).returncode, 0,
                            '--direct read the broken file without a word')

        # A new commune and a new form version: both taken.
        with open(tree_path, 'w', encoding='utf-8') as f:
            f.write(good_tree + '%s,Xã Mới,436,commune,,\n' % NEW_UNIT)
        with open(os.path.join(gomtest.ROOT, 'deploy', 'forms',
                               FORM + '.json'), encoding='utf-8') as f:
            form = json.load(f)
        version = form['version'] + 1
        form['version'] = version
        with open(os.path.join(hub.dir, 'forms', '%s-v%d.json'
                               % (FORM, version)), 'w',
                  encoding='utf-8') as f:
            json.dump(form, f, ensure_ascii=False)
        forms_before = len(os.listdir(os.path.join(hub.dir, 'forms')))
        self.reload('units (were')
        self.assertIn('reload: %d forms (were %d), 6 units (were 5)'
                      % (forms_before, forms_before - 1), hub.log_text())
        self.assertEqual(json.loads(self.arrivals().stdout)['expected'], 4)

        # The hub's own checks know the new commune.
        newcomer = self.new_agent(hub, [NEW_UNIT], name='newcomer')
        with open(os.path.join(SAMPLES, '18073-%s.json' % PERIOD),
                  encoding='utf-8') as f:
            doc = json.load(f)
        doc['unit'] = NEW_UNIT
        path = os.path.join(self.tmp, 'new-unit.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(doc, f, ensure_ascii=False)
        # Queued before the agent starts: with no form cached yet, submit
        # leaves the checks to the hub (a cache half filled would refuse).
        newcomer.submit_ok(path)
        newcomer.start()
        self.wait_all_acked(newcomer, 1)
        arrivals = json.loads(self.arrivals().stdout)
        self.assertEqual(arrivals['expected'], 4)
        self.assertEqual(arrivals['missing'], 2)

        # The agent connected throughout gets the new version, and never
        # lost its connection.
        cache = os.path.join(agent.dir, agent.get('forms') or 'forms')

        def has_new_version():
            for name in os.listdir(cache):
                with open(os.path.join(cache, name), encoding='utf-8') as f:
                    try:
                        d = json.load(f)
                    except ValueError:
                        continue
                if d.get('form') == FORM and \
                        d.get('version') == version:
                    return True
            return False
        self.wait_for(has_new_version, 30,
                      'the agent caching %s version %d' % (FORM, version))
        self.assertNotIn('disconnected from', agent.log_text())
        self.assert_hub_whole(hub, [agent, newcomer], expect_total=2)

    def test_reload_while_storing(self):
        hub = self.hub = self.new_hub()
        hub.install_pack(forms=[])  # the tree only: units are checked
        hub.start()
        hub.wait_listening()
        per_agent = 400
        agents = []
        for unit in ('18073', '18076'):
            agent = self.new_agent(hub, [unit], name='agent-%s' % unit)
            agent.set('window', 2)  # a drain of some seconds
            files = [self.report(unit, form='K%04d' % i,
                                 cells=gomtest.many_cells(i, 60),
                                 dir=os.path.join(self.tmp, 'files', unit))
                     for i in range(per_agent)]
            agent.submit_ok(*files)
            agents.append(agent)
        for agent in agents:
            agent.start()
        # SIGHUP while reports are pending, one at a time (bounded in count
        # and time): the first once the hub has acknowledged one report,
        # each next once the last one's reload is in the log. A reload
        # counts as "during" when, after its line was read, the agents
        # still held reports not acknowledged: read the log first, then the
        # agents, so a fast drain cannot make one count by mistake.
        total = 2 * per_agent
        self.wait_for(lambda: gomtest.acked_count(agents) >= 1, 60,
                      'the hub acknowledges a first report')
        sent, during = 0, 0
        deadline = time.monotonic() + 90
        while sent < 1000 and time.monotonic() < deadline:
            before = hub.log_text().count('reload: ')
            os.kill(hub.proc.pid, signal.SIGHUP)
            sent += 1
            self.wait_for(lambda: hub.log_text().count('reload: ') > before,
                          30, 'the hub reloads after SIGHUP %d' % sent)
            seen = hub.log_text().count('reload: ')
            if gomtest.acked_count(agents) >= total:
                break
            during = seen
        for agent in agents:
            self.wait_all_acked(agent, per_agent)
        hub.assert_alive()
        log = hub.log_text()
        reloads = log.count('reload: ')
        self.assertLessEqual(reloads, sent)
        self.assertEqual(log.count('units (were'), reloads,
                         'a reload failed')
        self.assertNotIn('nack ', log)
        self.assertGreater(during, 0, 'no reload while reports arrived')
        self.assert_hub_whole(hub, agents, expect_total=2 * per_agent)
        sys.stderr.write('[%d SIGHUP, %d reloads, %d of them while reports '
                         'arrived] ' % (sent, reloads, during))


if __name__ == '__main__':
    gomtest.main()
