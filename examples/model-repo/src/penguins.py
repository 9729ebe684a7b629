"""The Palmer penguins data as the model sees it: the penguin's sex from its species, island
and body measurements (the question of Gorman et al. 2014, who sexed penguins from their
measurements)."""

import csv
import glob
import os

LABEL = "sex"
CLASSES = ["female", "male"]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
ISLANDS = ["Biscoe", "Dream", "Torgersen"]
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FEATURES = ([f"species={s}" for s in SPECIES] + [f"island={i}" for i in ISLANDS]
            + MEASUREMENTS)


def encode(record):
    """One penguin (a dict of the CSV columns but the label) as the model's feature vector."""
    try:
        species = [1.0 if record["species"] == s else 0.0 for s in SPECIES]
        islands = [1.0 if record["island"] == i else 0.0 for i in ISLANDS]
        measurements = [float(record[m]) for m in MEASUREMENTS]
    except KeyError as missing:
        raise ValueError(f"a penguin needs the column {missing}") from None
    except ValueError as bad:
        raise ValueError(f"a measurement is not a number: {bad}") from None
    if record["species"] not in SPECIES:
        raise ValueError(f"unknown species {record['species']!r}: expected one of {SPECIES}")
    if record["island"] not in ISLANDS:
        raise ValueError(f"unknown island {record['island']!r}: expected one of {ISLANDS}")
    return species + islands + measurements


def read_rows(path):
    """The labelled rows of one CSV file: (features, label index) lists."""
    rows, labels = [], []
    with open(path, newline="", encoding="utf-8") as file:
        for line, record in enumerate(csv.DictReader(file), start=2):
            if record.get(LABEL) not in CLASSES:
                raise ValueError(f"{path}:{line}: {LABEL} must be one of {CLASSES}")
            try:
                rows.append(encode(record))
            except ValueError as error:
                raise ValueError(f"{path}:{line}: {error}") from None
            labels.append(CLASSES.index(record[LABEL]))
    return rows, labels


def read_channel(directory):
    """Every CSV file of a channel's folder, as SageMaker downloaded it."""
    files = sorted(glob.glob(os.path.join(directory, "**", "*.csv"), recursive=True))
    if not files:
        raise ValueError(f"no CSV file in {directory}")
    rows, labels = [], []
    for path in files:
        more_rows, more_labels = read_rows(path)
        rows.extend(more_rows)
        labels.extend(more_labels)
    return rows, labels
