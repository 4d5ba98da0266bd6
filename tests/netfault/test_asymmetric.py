"""Asymmetric loss: 30% of packets from the hub to the agents are dropped,
none the other way, for the whole test.

Profile: iptables statistic DROP p=0.30 on FORWARD -i wh -o wa in the WAN
namespace (hub -> agents only).

The hub's answers (ACKs, welcome, heartbeat PONGs, TCP ACKs) are the
packets lost, so answers come late (TCP retransmits them with backoff)
or connections time out; the agents resend (adaptive timeout, or the whole
window after a reconnect). Proves that:
- the hub recognises the resends: `gom-hub status --json` duplicates > 0;
- some reports took more than one attempt (agent list `attempts` > 1);
- still every report is stored exactly once (3 agents x 40 reports, in
  4 waves, each wave acked before the next), with the receipt its agent
  holds, and nothing is rejected.
drain_s: agents started -> last wave acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402  (puts ../integration on sys.path)

AGENTS = 3
PER_AGENT = 40
WAVES = 4
LOSS = 0.30
DEADLINE = 120
# resend_min_ms is low on purpose: this LAN's round trip is under a
# millisecond, so the adaptive timeout sits at its floor; a lost TCP
# segment costs at least the kernel's 200 ms minimum RTO, so with a 50 ms
# floor every answer delayed by a lost packet triggers a resend (as a
# 300 ms rural round trip with a 2 s floor would when a retransmission
# takes seconds).
AGENT_SETTINGS = dict(resend_min_ms=50, resend_max_ms=8000,
                      reconnect_ivl_ms=200, reconnect_ivl_max_ms=2000,
                      heartbeat_ivl_ms=1000, heartbeat_timeout_ms=5000)


class AsymmetricTest(netlab.NetFaultCase):
    lab_tag = 'asym'

    def test_acks_lost(self):
        lab = self.lab
        hub = self.new_hub(heartbeat_ivl_ms=1000, heartbeat_timeout_ms=5000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(AGENTS):
            unit = 'A%02d' % (i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **AGENT_SETTINGS))
            files.append(self.narrative_reports(unit, PER_AGENT))
        lab.loss(LOSS, 'to_agents')
        wire0 = lab.wire_bytes()
        t0 = time.monotonic()
        for a in agents:
            a.start()
        total = AGENTS * PER_AGENT
        per_wave = PER_AGENT // WAVES
        for w in range(WAVES):
            for a, fs in zip(agents, files):
                a.submit_ok(*fs[w * per_wave:(w + 1) * per_wave])
            self.wait_all_delivered(agents, AGENTS * per_wave * (w + 1),
                                    DEADLINE, 'wave %d acked' % w)
        drain = time.monotonic() - t0
        drops = lab.drops()
        self.say('all %d acked %.1f s after start; hub->agents packets '
                 'dropped: %d', total, time.monotonic() - t0,
                 drops['GOMNF_LOSS'])
        self.assertGreater(drops['GOMNF_LOSS'], 0, drops)
        st = hub.status()
        attempts = [r['attempts'] for a in agents for r in a.list()]
        self.say('hub status: reports %s, duplicates %s, nacks %s; reports '
                 'sent more than once: %d (max attempts %d); '
                 'disconnections per agent %s',
                 st['reports'], st['duplicates'], st['nacks'],
                 sum(1 for n in attempts if n and n > 1),
                 max(n or 0 for n in attempts),
                 [a.log_text().count('disconnected from') for a in agents])
        self.assertGreater(st['duplicates'], 0,
                           'no resend reached the hub as a duplicate')
        self.assertTrue(any(n and n > 1 for n in attempts),
                        'no report was sent more than once')
        self.assertEqual(st['nacks'], 0, st)
        self.assert_daemons_alive(hub, *agents)
        self.assert_hub_whole(hub, agents, total)
        self.assertEqual(st['reports'], total)
        self.scenario('asymmetric_loss', hub, total, drain, wire0)


if __name__ == '__main__':
    netlab.main()
