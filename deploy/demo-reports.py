#!/usr/bin/env python3
"""Writes the quickstart's demo reports: for every commune of a unit tree,
a Hà Tĩnh 6-month report (form HT-VSTBPN-6T) made from the sample in
deploy/samples/ with figures varied per unit, for the given period.

    demo-reports.py UNITS.csv PERIOD OUTDIR [SKIP_CODE ...]

Prints the files it wrote, one per line."""
import csv
import json
import os
import random
import sys

here = os.path.dirname(os.path.abspath(__file__))
units_csv, period, out = sys.argv[1], sys.argv[2], sys.argv[3]
skip = set(sys.argv[4:])
with open(os.path.join(here, 'samples', '18073-2026-H1.json'),
          encoding='utf-8') as f:
    sample = json.load(f)
os.makedirs(out, exist_ok=True)
with open(units_csv, encoding='utf-8', newline='') as f:
    rows = [r for r in csv.DictReader(f) if r['level'] == 'commune']
for r in rows:
    if r['code'] in skip:
        continue
    rnd = random.Random(r['code'] + period)
    doc = json.loads(json.dumps(sample))
    doc['unit'], doc['period'] = r['code'], period
    cells = doc['cells']
    for k in list(cells):
        if cells[k] is not None:
            cells[k] = max(0, cells[k] + rnd.randint(-3, 6))
    # Keep the form's rules: women within the whole, men + women parts.
    for whole, part in (('CB1.tong', 'CB1.nu'), ('CB6.tong', 'CB6.nu')):
        if cells.get(whole) is not None and cells.get(part) is not None:
            cells[part] = min(cells[part], cells[whole])
    for total, part in (('TT3.nam', 'TT4.nam'), ('TT3.nu', 'TT4.nu'),
                        ('TC3.so', 'TC1.so'), ('TC3.so', 'TC2.so')):
        if cells.get(total) is not None and cells.get(part) is not None:
            cells[part] = min(cells[part], cells[total])
    doc['texts']['situation'] = '%s: %s' % (r['name'],
                                            doc['texts']['situation'])
    path = os.path.join(out, '%s-%s.json' % (r['code'], period))
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print(path)
