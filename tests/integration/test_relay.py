"""A district hub that relays (issue 9, item 7; docs/relay.md), with real
processes: commune agent -> district hub -> relay agent (relay_from = the
district's hub.db) -> provincial hub.

- The relay agent's key is enrolled at the province for the district (436)
  and reports for its communes (enrollment covers the subtree).
- Acknowledgements hop by hop: the commune's agent holds the district
  hub's receipt, the relay agent the province's; each hub stores every
  report exactly once, under the same report_id at both.
- A new revision goes the whole way; the relay agent killed with SIGKILL
  while reports flow and started again takes nothing twice and loses
  nothing (where it stopped is kept in its outbox with the reports).
- The province's totals for the district equal the district's own.

Checked to fail: with the authorization looking at the unit alone (the
province refuses 18073 from a key enrolled for 436), with the relay cursor
not kept (reports relayed twice would still be stored once, so the test
counts the relay agent's outbox rows against the district's reports).
"""
import json
import os

import gomtest

FORM = 'HT-VSTBPN-6T'
PERIOD = '2026-H1'
SAMPLES = os.path.join(gomtest.ROOT, 'deploy', 'samples')
UNITS = ('18073', '18076', '18079')


class Relay(gomtest.GomTestCase):

    def sample(self, unit, revision=1, bump=0):
        with open(os.path.join(SAMPLES, '%s-%s.json' % (unit, PERIOD)),
                  encoding='utf-8') as f:
            doc = json.load(f)
        doc['revision'] = revision
        if bump:
            key = sorted(doc['cells'])[0]
            doc['cells'][key] = (doc['cells'][key] or 0) + bump
        path = os.path.join(self.tmp, '%s-r%d.json' % (unit, revision))
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(doc, f, ensure_ascii=False)
        return path

    def same_reports(self, at_province, at_district):
        ids = lambda rows: sorted(r['report_id'] for r in rows)
        self.assertEqual(ids(at_province), ids(at_district))

    def totals(self, hub):
        return json.loads(gomtest.run_cli([
            gomtest.HUB_BIN, 'totals', '--config', hub.cfg, '--form', FORM,
            '--period', PERIOD, '--unit', '436', '--json',
            '--direct']).stdout)

    def test_relay(self):
        province = self.new_hub(name='province')
        province.install_pack()
        province.start()
        province.wait_listening()
        district = self.new_hub(name='district')
        district.install_pack()
        district.start()
        district.wait_listening()
        relay = self.new_agent(province, ['436'], name='relay')
        relay.set('relay_from', district.db_path())
        relay.set('spool_scan_ms', 200)
        relay.start()
        communes = []
        for unit in UNITS:
            a = self.new_agent(district, [unit], name='a' + unit)
            # Queued before the agent starts: with no form cached yet,
            # submit leaves the checks to the hub (a cache half filled by
            # the hub's offer would refuse the report's form).
            a.submit_ok(self.sample(unit))
            a.start()
            communes.append(a)
        for a in communes:
            self.wait_all_acked(a, 1)
        self.wait_all_acked(relay, 3)

        # Hop by hop: each side's receipts are its own hub's (and every
        # report at the province is the relay agent's).
        self.same_reports(
            self.assert_hub_whole(province, [relay], expect_total=3),
            self.assert_hub_whole(district, communes, expect_total=3))

        # A revision, and the relay agent killed while they flow.
        for a, unit in zip(communes, UNITS):
            a.submit_ok(self.sample(unit, revision=2, bump=7))
        relay.kill9()
        relay.start()
        for a in communes:
            self.wait_all_acked(a, 2)
        # Exactly 6 rows at the relay agent: it took nothing twice.
        self.wait_all_acked(relay, 6)
        self.same_reports(
            self.assert_hub_whole(province, [relay], expect_total=6),
            self.assert_hub_whole(district, communes, expect_total=6))

        # The province's figures for the district are the district's.
        p, d = self.totals(province), self.totals(district)
        self.assertEqual([c['sum'] for c in p['cells']],
                         [c['sum'] for c in d['cells']])
        self.assertEqual(p['reports'], 3)


if __name__ == '__main__':
    gomtest.main()
