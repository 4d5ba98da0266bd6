"""gom-hub backup and restore (issue 9, part 5; docs/operations.md).

- A backup taken while agents send is a sound copy (integrity_check, by
  Python's own sqlite3) holding what the hub had at that moment; after the
  hub is stopped and the backup restored, the agents resend what the copy
  lacks (the restore gives the hub a new database id: DESIGN.md rule 11)
  and the hub ends whole: every report every agent holds as acknowledged
  is at the hub exactly once, with the same content, and with the receipt
  the agent holds.
- A hub whose disk lost both files comes back from the backup's two files.
- Restore refuses while the hub runs, and refuses a broken or missing
  backup without touching anything.
- backup to a missing or unwritable place fails with one clear line and
  leaves nothing behind.
"""

import json
import os
import re
import sqlite3
import threading

import gomtest
from gomtest import GomTestCase, HUB_BIN, run_cli, many_cells, acked_count

SAME = ('report_id', 'unit', 'form', 'period', 'revision', 'cells', 'texts',
        'sealed_ms', 'agent_key')


def integrity(path):
    db = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        return db.execute('PRAGMA integrity_check').fetchall()
    finally:
        db.close()


def count(path, table):
    db = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    try:
        return db.execute('SELECT count(*) FROM %s' % table).fetchone()[0]
    finally:
        db.close()


class BackupTest(GomTestCase):

    def backup(self, hub, path, check=True):
        return run_cli([HUB_BIN, 'backup', '--config', hub.cfg, '--json',
                        path], check=check, what='gom-hub backup')

    def restore(self, hub, path, check=True):
        return run_cli([HUB_BIN, 'restore', '--config', hub.cfg, '--json',
                        path], check=check, what='gom-hub restore')

    def wait_refilled(self, hub, agents, total, new_db_id):
        self.wait_for(lambda: len(hub.reports()) >= total, 90,
                      'the agents to refill the hub to %d reports' % total)
        for a in agents:
            self.wait_for(lambda: a.status()['hub_db_id'] == new_db_id, 20,
                          '%s to see the new hub db id' % a.name)
            self.wait_all_acked(a, len(a.list()), timeout=30)

    def test_backup_mid_stream_then_restore(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        units = ['B01', 'B02', 'B03']
        agents = [self.new_agent(hub, u, name='agent%d' % i)
                  for i, u in enumerate(units)]
        wave1, wave2 = 30, 10
        for a, u in zip(agents, units):
            a.submit_ok(*[self.report(u, form='F%02d' % i,
                                      cells=many_cells(i))
                          for i in range(wave1)])
            a.start()
        self.wait_for(lambda: acked_count(agents) >= 10, 60,
                      'the first reports to be acknowledged')

        # Agents keep sending while the backup is taken: a second wave is
        # submitted, one file at a time, during it.
        errors = []

        def feed():
            try:
                for i in range(wave1, wave1 + wave2):
                    for a, u in zip(agents, units):
                        a.submit_ok(self.report(u, form='F%02d' % i,
                                                cells=many_cells(i)))
            except Exception as e:      # reported by the main thread
                errors.append(e)
        feeder = threading.Thread(target=feed)
        feeder.start()
        acked_before = acked_count(agents)
        path = os.path.join(self.tmp, 'backups', 'hub-backup.db')
        os.makedirs(os.path.dirname(path))
        out = json.loads(self.backup(hub, path).stdout)
        feeder.join(120)
        self.assertFalse(feeder.is_alive(), 'the feeder did not finish')
        self.assertEqual(errors, [])
        live_id = hub.status()['db_id']
        self.assertEqual(out['db_id'], live_id)
        self.assertEqual(out['keys_file'], path + '-keys')
        self.assertEqual(out['integrity'], 'ok')
        # The copy, checked by another sqlite than gom's.
        self.assertEqual(integrity(path), [('ok',)])
        self.assertEqual(integrity(path + '-keys'), [('ok',)])
        self.assertEqual(count(path, 'reports'), out['reports'])
        self.assertEqual(count(path + '-keys', 'agents'), 3)
        self.assertGreaterEqual(out['reports'], acked_before)
        for suffix in ('.tmp', '-wal', '-shm', '-journal', '-keys.tmp'):
            self.assertFalse(os.path.exists(path + suffix), suffix)

        total = len(units) * (wave1 + wave2)
        for a in agents:
            self.wait_all_acked(a, wave1 + wave2, timeout=90)
        before = self.assert_hub_whole(hub, agents, expect_total=total)
        # Mid-stream: the copy lacks some of what the hub holds now.
        self.assertGreater(out['reports'], 0)
        self.assertLess(out['reports'], total)

        hub.stop()
        res = json.loads(self.restore(hub, path).stdout)
        self.assertEqual(res['db_id'], live_id)
        self.assertNotEqual(res['new_db_id'], live_id)
        self.assertFalse(res['keys_restored'])   # keys.db was sound: kept
        self.assertTrue(os.path.exists(res['set_aside']), res['set_aside'])
        self.assertEqual(len(hub.reports()), out['reports'])
        self.assertEqual(hub.status()['db_id'], res['new_db_id'])

        hub.start()
        hub.wait_listening()
        self.wait_refilled(hub, agents, total, res['new_db_id'])
        after = self.assert_hub_whole(hub, agents, expect_total=total)
        old = {r['report_id']: r for r in before}
        for r in after:
            for field in SAME:
                self.assertEqual(r[field], old[r['report_id']][field],
                                 '%s differs for %s' % (field,
                                                        r['report_id']))
        for a in agents:
            a.stop()
        hub.stop()

    def test_restore_after_both_files_lost(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'L01')
        agent.submit_ok(*[self.report('L01', form='F%02d' % i)
                          for i in range(5)])
        agent.start()
        self.wait_all_acked(agent, 5, timeout=30)
        path = os.path.join(self.tmp, 'b.db')
        out = json.loads(self.backup(hub, path).stdout)
        self.assertEqual(out['reports'], 5)
        agent.submit_ok(*[self.report('L01', form='F%02d' % i)
                          for i in range(5, 10)])
        self.wait_all_acked(agent, 10, timeout=30)
        hub.stop()
        for name in ('hub.db', 'keys.db'):
            for suffix in ('', '-wal', '-shm'):
                p = os.path.join(hub.dir, name + suffix)
                if os.path.exists(p):
                    os.unlink(p)
        res = json.loads(self.restore(hub, path).stdout)
        self.assertTrue(res['keys_restored'])
        self.assertEqual(len(hub.reports()), 5)
        self.assertEqual([a['key'] for a in hub.agents()], [agent.key])
        hub.start()
        hub.wait_listening()
        self.wait_refilled(hub, [agent], 10, res['new_db_id'])
        self.assert_hub_whole(hub, [agent], expect_total=10)
        agent.stop()
        hub.stop()

    def test_restore_refusals(self):
        hub = self.new_hub()
        path = os.path.join(self.tmp, 'b.db')
        self.backup(hub, path)
        live_id = hub.status()['db_id']

        hub.start()
        hub.wait_listening()
        cp = self.restore(hub, path, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('in use: stop the hub first', cp.stderr)
        hub.stop()

        def listing():
            return sorted(n for n in os.listdir(hub.dir)
                          if not n.endswith(('-wal', '-shm')))
        files = listing()

        cp = self.restore(hub, os.path.join(self.tmp, 'missing.db'),
                          check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertRegex(cp.stderr, r'^gom-hub: restore: .*missing\.db: '
                                    r'No such file or directory\n$')

        garbage = os.path.join(self.tmp, 'garbage.db')
        with open(garbage, 'wb') as f:
            f.write(b'not a database at all' * 1000)
        cp = self.restore(hub, garbage, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn('garbage.db', cp.stderr)
        self.assertIn('not a database', cp.stderr)

        # A copy cut short (a backup interrupted by hand, a bad USB stick).
        with open(path, 'rb') as f:
            data = f.read()
        cut = os.path.join(self.tmp, 'cut.db')
        with open(cut, 'wb') as f:
            f.write(data[:len(data) // 2])
        cp = self.restore(hub, cut, check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn('cut.db', cp.stderr)
        self.assertEqual(len(cp.stderr.splitlines()), 1, cp.stderr)

        # Nothing was touched by the refusals.
        self.assertEqual(hub.status()['db_id'], live_id)
        self.assertEqual(listing(), files)

        # Restoring the same copy twice gives two new ids: agents resend
        # after each.
        ids = set()
        for _ in range(2):
            ids.add(json.loads(self.restore(hub, path).stdout)['new_db_id'])
        self.assertEqual(len(ids), 2)
        self.assertNotIn(live_id, ids)

    def test_backup_destination_errors(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        plain = os.path.join(self.tmp, 'plain-file')
        with open(plain, 'w') as f:
            f.write('x')
        cases = [(os.path.join(self.tmp, 'no', 'such', 'folder', 'b.db'),
                  'No such file or directory'),
                 (os.path.join(plain, 'b.db'), 'Not a directory')]
        if os.geteuid() == 0:
            # root writes anywhere mode bits allow nothing; /sys takes no
            # new file even from root.
            cases.append(('/sys/gom-backup-test.db',
                          '(Permission denied|Read-only file system)'))
        else:
            ro = os.path.join(self.tmp, 'read-only')
            os.mkdir(ro, 0o555)
            cases.append((os.path.join(ro, 'b.db'), 'Permission denied'))
        for dest, reason in cases:
            cp = self.backup(hub, dest, check=False)
            self.assertEqual(cp.returncode, 1, cp.stdout)
            self.assertEqual(cp.stdout, '')
            self.assertRegex(cp.stderr, r'^gom-hub: backup: cannot write %s: '
                             r'%s\n$' % (re.escape(dest), reason))
            self.assertFalse(os.path.exists(dest))
            self.assertFalse(os.path.exists(dest + '.tmp'))
        cp = run_cli([HUB_BIN, 'backup', '--config', hub.cfg], check=False)
        self.assertEqual(cp.returncode, 2)
        self.assertIn('usage: gom-hub backup', cp.stderr)
        hub.assert_alive()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()
