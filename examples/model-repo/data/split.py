#!/usr/bin/env python3
"""Split penguins.csv into the train, validation and test channels (60/20/20).

    python3 data/split.py        rewrite data/{train,validation,test}/*.csv

Rows without a sex are dropped (11 of 344). The split is stratified by species and sex and
seeded, so the same input always gives the same files. The label (`sex`) comes first.
"""

import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "penguins.csv")
COLUMNS = ["sex", "species", "island", "bill_length_mm", "bill_depth_mm",
           "flipper_length_mm", "body_mass_g"]
SHARES = (("train", 0.6), ("validation", 0.2), ("test", 0.2))
SEED = 20141105  # the date Gorman et al. (2014) was received by PLOS ONE


def main():
    with open(SOURCE, newline="", encoding="utf-8") as file:
        rows = [r for r in csv.DictReader(file) if all(r[c] != "NA" for c in COLUMNS)]
    groups = {}
    for row in rows:
        groups.setdefault((row["species"], row["sex"]), []).append(row)
    rng = random.Random(SEED)
    channels = {name: [] for name, _ in SHARES}
    for key in sorted(groups):
        group = groups[key]
        rng.shuffle(group)
        start = 0
        for index, (name, share) in enumerate(SHARES):
            end = len(group) if index == len(SHARES) - 1 else start + round(share * len(group))
            channels[name].extend(group[start:end])
            start = end
    for name, chosen in channels.items():
        rng.shuffle(chosen)
        folder = os.path.join(HERE, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{name}.csv"), "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows([row[c] for c in COLUMNS] for row in chosen)
        print(f"{name}: {len(chosen)} rows")


if __name__ == "__main__":
    main()
