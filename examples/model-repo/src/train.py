"""Training entrypoint (SageMaker script mode: the `sagemaker_program`).

SageMaker runs `python train.py --max_depth 5 --n_estimators 100 ...` with the channels in
SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION and SM_CHANNEL_TEST and the model folder in
SM_MODEL_DIR. It prints the metrics that configuration/trainingjob.json's MetricDefinitions
read, and on an error writes the reason to output/failure (SageMaker's FailureReason) and
exits non-zero.
"""

import argparse
import json
import os
import sys
import time
import traceback

from forest import RandomForest
import penguins


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Hyperparameters: the defaults are what trainingjob.json sets.
    parser.add_argument("--max_depth", type=int, default=5)
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--min_samples_leaf", type=int, default=1)
    parser.add_argument("--max_features", default="all")
    parser.add_argument("--seed", type=int, default=0)
    # The SageMaker training contract.
    env = os.environ.get
    parser.add_argument("--train", default=env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--validation",
                        default=env("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"))
    parser.add_argument("--test", default=env("SM_CHANNEL_TEST", "/opt/ml/input/data/test"))
    parser.add_argument("--model_dir", default=env("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--output_dir", default=env("SM_OUTPUT_DIR", "/opt/ml/output"))
    return parser.parse_args(argv)


def train(args):
    started = time.monotonic()
    train_rows, train_labels = penguins.read_channel(args.train)
    validation_rows, validation_labels = penguins.read_channel(args.validation)
    test_rows, test_labels = penguins.read_channel(args.test)
    print(f"rows: train {len(train_rows)}, validation {len(validation_rows)}, "
          f"test {len(test_rows)}")

    model = RandomForest(n_estimators=args.n_estimators, max_depth=args.max_depth,
                         min_samples_leaf=args.min_samples_leaf,
                         max_features=args.max_features, seed=args.seed)
    model.fit(train_rows, train_labels)
    metrics = {
        "train": model.accuracy(train_rows, train_labels),
        "validation": model.accuracy(validation_rows, validation_labels),
        "test": model.accuracy(test_rows, test_labels),
    }
    # These lines are what the MetricDefinitions' regexes match.
    for name, value in metrics.items():
        print(f"{name} accuracy: {value:.4f}")

    os.makedirs(args.model_dir, exist_ok=True)
    model_file = os.path.join(args.model_dir, "model.json")
    with open(model_file, "w", encoding="utf-8") as file:
        json.dump({"features": penguins.FEATURES, "classes": penguins.CLASSES,
                   "forest": model.to_dict()}, file)
    print(f"model written to {model_file} in {time.monotonic() - started:.1f}s")
    return metrics


def main(argv=None):
    args = parse_args(argv)
    try:
        train(args)
    except Exception as error:  # every failure becomes the job's FailureReason
        traceback.print_exc()
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, "failure"), "w", encoding="utf-8") as file:
            file.write(f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
