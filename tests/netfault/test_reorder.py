"""Reordered and duplicated packets; then a line slow one way only.

test_reorder_duplicate -- profile: the user-space relay (relay.py), both
directions: 20 ms +- 5 ms one-way delay; 20% of packets held 50 ms longer
(so the packets behind them overtake them); 10% of packets sent twice
(at 5%, a direction of about 115 packets had none once in some 370 runs,
and the check that the fault bit failed: CI, 2026-12-01).
Proves that 3 agents x 20 reports all reach the hub exactly once (receipts
match, nothing stored twice, no NACK, no rejection) when TCP has to
reassemble out-of-order segments and drop duplicate ones under CURVE; that
the fault bit (the relay reordered and duplicated packets each way, and
the hub's kernel queued out-of-order segments: nstat TcpExtTCPOFOQueue >
0). drain_s: agents started -> all acked.

test_asymmetric_delay -- profile: relay, 40 ms to the hub, 600 ms (+- 50
ms jitter) to the agents: answers are slow, requests fast. The agents use
a 500 ms resend floor, below the 640 ms round trip, so before their
round-trip estimate has samples they resend reports the hub already has.
Proves, in two waves (the second after the first is acked, when the
estimate has samples), that all 3 x 12 reports are stored exactly once;
the hub counts the resends as duplicates (printed); the round trip was
really >= 600 ms; and the second wave is sent once: no duplicate. (The
agent keeps a timeout's doubling for new reports until a report acked on
its first send gives a round trip, as TCP does (Karn); without that, each
ack answered a resent report, no estimate ever came, and 24 to 34 of the
36 reports went twice, the second wave too.) drain_s: agents started ->
all acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

AGENTS = 3
DEADLINE = 60
SETTINGS = dict(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000,
                reconnect_ivl_ms=300, reconnect_ivl_max_ms=3000)


class ReorderTest(netlab.NetFaultCase):
    lab_tag = 'reord'

    def _run(self, name, per_agent, waves, settings):
        lab = self.lab
        hub = self.new_hub(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(AGENTS):
            unit = '%s%02d' % (name[0].upper(), i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **settings))
            files.append(self.narrative_reports(unit, per_agent))
        total = AGENTS * per_agent
        per_wave = per_agent // waves
        wire0 = lab.wire_bytes()
        t0 = time.monotonic()
        for a in agents:
            a.start()
        self.wave_dups = []
        for w in range(waves):
            for a, fs in zip(agents, files):
                a.submit_ok(*fs[w * per_wave:(w + 1) * per_wave])
            self.wait_all_delivered(agents, AGENTS * per_wave * (w + 1),
                                    DEADLINE, 'wave %d acked' % w)
            self.wave_dups.append(hub.status()['duplicates'])
            self.say('wave %d acked; hub duplicates so far %d', w,
                     self.wave_dups[-1])
        drain = time.monotonic() - t0
        self.check_delivered(name, hub, agents, total, drain, wire0)
        return hub, agents

    def test_reorder_duplicate(self):
        self.lab.relay(delay_ms=20, jitter_ms=5, reorder=0.20, reorder_ms=50,
                       duplicate=0.10, direction='both')
        self._run('reorder_duplicate', 20, 1,
                  dict(SETTINGS, resend_min_ms=1000, resend_max_ms=10000))
        rs = self.relay_stats()
        for d in ('to_hub', 'to_agents'):
            self.assertGreater(rs[d]['reordered'], 0, rs[d])
            self.assertGreater(rs[d]['duplicated'], 0, rs[d])
            self.assertEqual(rs[d]['overflow'], 0, rs[d])
        k = self.nstat(self.lab.hub_ns, 'TcpExtTCPOFOQueue',
                       'TcpExtTCPDSACKOldSent', 'TcpExtTCPDSACKRecv')
        self.say('hub kernel: %s', k)
        self.assertGreater(k['TcpExtTCPOFOQueue'], 0,
                           'no segment reached the hub out of order')

    def test_asymmetric_delay(self):
        self.lab.relay(delay_ms=40, direction='to_hub')
        self.lab.relay(delay_ms=600, jitter_ms=50, direction='to_agents')
        rtt = self.tcp_rtt_ms(samples=1)
        self.say('TCP SYN round trip through the relay: %.0f ms', rtt)
        self.assertGreaterEqual(rtt, 40 + 550)
        self._run('asymmetric_delay', 12, 2,
                  dict(SETTINGS, resend_min_ms=500, resend_max_ms=10000))
        self.assertEqual(self.wave_dups[1], self.wave_dups[0],
                         'the second wave was resent though the agents had '
                         'round-trip samples by then')
        rs = self.relay_stats()
        for d in ('to_hub', 'to_agents'):
            self.assertEqual(rs[d]['overflow'], 0, rs[d])


if __name__ == '__main__':
    netlab.main()
