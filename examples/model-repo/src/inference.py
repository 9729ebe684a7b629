"""Inference entrypoint, in the model_fn / input_fn / predict_fn / output_fn style of the
SageMaker framework containers (the scikit-learn container serves it as is).

Requests are penguins as CSV rows (species,island,bill_length_mm,bill_depth_mm,
flipper_length_mm,body_mass_g; a header row is optional) or JSON (one object or a list of
objects with those keys); answers are the predicted sex and its probability.
"""

import csv
import io
import json
import os

from forest import RandomForest
import penguins

COLUMNS = ["species", "island"] + penguins.MEASUREMENTS


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as file:
        saved = json.load(file)
    if saved["features"] != penguins.FEATURES:
        raise ValueError("the model was trained on other features than this code encodes")
    return {"forest": RandomForest.from_dict(saved["forest"]), "classes": saved["classes"]}


def input_fn(request_body, content_type="text/csv"):
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    if content_type == "application/json":
        data = json.loads(request_body)
        records = data if isinstance(data, list) else [data]
    elif content_type == "text/csv":
        rows = [r for r in csv.reader(io.StringIO(request_body)) if r]
        if rows and rows[0] == COLUMNS:
            rows = rows[1:]
        for line, row in enumerate(rows, start=1):
            if len(row) != len(COLUMNS):
                raise ValueError(f"row {line} has {len(row)} values; expected {', '.join(COLUMNS)}")
        records = [dict(zip(COLUMNS, row)) for row in rows]
    else:
        raise ValueError(f"content type {content_type} is not supported: send text/csv or application/json")
    return [penguins.encode(record) for record in records]


def predict_fn(input_data, model):
    forest, classes = model["forest"], model["classes"]
    predictions = []
    for row in input_data:
        probabilities = forest.predict_proba(row)
        best = max(range(len(classes)), key=lambda k: probabilities[k])
        predictions.append({"sex": classes[best], "probability": round(probabilities[best], 4)})
    return predictions


def output_fn(prediction, accept="application/json"):
    if accept == "text/csv":
        return "".join(f"{p['sex']},{p['probability']}\n" for p in prediction)
    if accept in ("application/json", "*/*"):
        return json.dumps(prediction)
    raise ValueError(f"accept type {accept} is not supported: ask for application/json or text/csv")
