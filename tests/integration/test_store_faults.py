"""The store fault loop, after SQLite's own method (its "ioerr" tests).

The hub runs with GOM_FAULT_IO=write:N (then sync:N): once it serves, the
Nth write (fsync) sqlite makes fails with an I/O error, once
(common/gom_fault_io.c, a VFS shim over the default one). For N = 1, 2,
3 ... while an agent delivers three new reports each round: the agent gets
every report acknowledged in the end (what a failed batch held is not
acknowledged and is resent), the hub goes on serving, and after each round
the database passes PRAGMA integrity_check and holds every report the
agent holds an acknowledgement for, each exactly once. The loop ends at
the first N the round does not reach (the fault never fired), which proves
every write (fsync) of a round was made to fail once.
"""
import sqlite3
import time

import gomtest

ROUNDS_MAX = 120          # bound on N, whatever happens
LOOP_SECONDS = 240        # bound on the whole loop, per kind


class StoreFaults(gomtest.GomTestCase):

    def check_db(self, hub, agent, what):
        db = sqlite3.connect('file:%s?mode=ro' % hub.db_path(), uri=True)
        try:
            ok = db.execute('PRAGMA integrity_check').fetchall()
            self.assertEqual(ok, [('ok',)], '%s: integrity_check' % what)
        finally:
            db.close()
        rows = hub.reports()
        ids = [r['report_id'] for r in rows]
        self.assertEqual(len(ids), len(set(ids)),
                         '%s: a report stored twice' % what)
        acked = {r['report_id'] for r in agent.list()
                 if r['state'] == 'acked'}
        self.assertFalse(acked - set(ids),
                         '%s: acknowledged but not stored: %s'
                         % (what, sorted(acked - set(ids))[:3]))

    def loop(self, kind):
        hub = self.new_hub()
        hub.set('max_reports_per_minute', '0')
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, ['U1'])
        agent.start()
        agent.submit_ok(self.report('U1', period='2026-H1'))
        self.wait_all_acked(agent, 1)
        hub.stop()
        sent = 1
        deadline = time.monotonic() + LOOP_SECONDS
        fired = 0
        for n in range(1, ROUNDS_MAX + 1):
            self.assertLess(time.monotonic(), deadline,
                            '%s loop still firing at N=%d after %d s'
                            % (kind, n, LOOP_SECONDS))
            files = [self.report('U1', period='%d-H%d' % (2000 + n // 2,
                                                           1 + n % 2),
                                 form='F%d' % k) for k in range(3)]
            agent.submit_ok(*files)
            sent += 3
            gomtest.start_with_fault(hub, '%s:%d' % (kind, n),
                                     var='GOM_FAULT_IO')
            hub.wait_listening()
            self.wait_all_acked(agent, sent, timeout=60)
            hit = hub.log_count('GOM_FAULT_IO: %s #%d fails' % (kind, n))
            hub.stop()
            self.check_db(hub, agent, '%s:%d' % (kind, n))
            if not hit:
                break
            fired += 1
        else:
            self.fail('%s:N still fired at N=%d' % (kind, ROUNDS_MAX))
        self.assertGreater(fired, 0, 'the %s fault never fired' % kind)
        self.assertEqual(len(hub.reports()), sent)
        return fired

    def test_write_faults(self):
        fired = self.loop('write')
        print('write faults fired and survived: %d' % fired)

    def test_sync_faults(self):
        fired = self.loop('sync')
        print('sync faults fired and survived: %d' % fired)


if __name__ == '__main__':
    gomtest.main()
