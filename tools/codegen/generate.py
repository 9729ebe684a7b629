#!/usr/bin/env python3
"""Generate the serde mirror of SageMaker requests from the pinned botocore model.

    python3 tools/codegen/generate.py          write the outputs
    python3 tools/codegen/generate.py --check  exit 1 when the committed outputs differ

Outputs (deterministic):
    functions/sagemaker-requests/src/generated.rs   structs, checks, SDK conversions (rustfmt'ed)
    functions/sagemaker-requests/model/shapes.json  the shapes used, for the tests
"""

import argparse
import difflib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import botocore_model  # noqa: E402
from rust_emitter import Emitter, Unsupported  # noqa: E402

# Operations whose requests users write; every shape reachable from them is emitted once.
OPERATIONS = ["CreateTrainingJob", "CreateHyperParameterTuningJob", "CreateModel", "CreateEndpointConfig",
              "CreateEndpoint", "UpdateEndpoint"]

# Members the model requires that the pipeline may supply itself.
OPTIONAL_OVERRIDES = {
    # The pipeline names the job (unique per execution); a given name is only its prefix.
    ("CreateTrainingJobRequest", "TrainingJobName"),
    ("CreateHyperParameterTuningJobRequest", "HyperParameterTuningJobName"),
}

# Members of the pinned botocore model that aws-sdk-sagemaker does not have yet. They are left
# out of the mirror, so a file that uses one is refused as an unknown member (never dropped).
SDK_LACKS = {
    ("CreateEndpointConfigInput", "CrossRegionTrafficConfig"),
}

ROOT = os.path.dirname(os.path.dirname(HERE))
CRATE = os.path.join(ROOT, "functions", "sagemaker-requests")
GENERATED_RS = os.path.join(CRATE, "src", "generated.rs")
SHAPES_JSON = os.path.join(CRATE, "model", "shapes.json")


def rustfmt(source):
    # Run from the crate so rustfmt reads the same configuration as `cargo fmt`.
    result = subprocess.run(
        ["rustfmt", "--edition", "2024", "--emit", "stdout"],
        input=source, capture_output=True, text=True, cwd=os.path.dirname(GENERATED_RS),
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"codegen: rustfmt failed on the generated source:\n{result.stderr}")
    return result.stdout


def outputs():
    cache = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                         "codegen")
    try:
        model = botocore_model.load(cache)
        for shape, member in SDK_LACKS:
            if model["shapes"][shape]["members"].pop(member, None) is None:
                sys.exit(f"codegen: SDK_LACKS names {shape}.{member}, which the model does not have")
        emitter = Emitter(model, OPERATIONS, OPTIONAL_OVERRIDES, botocore_model.BOTOCORE_VERSION)
        source = emitter.emit()
    except (botocore_model.ModelUnavailable, Unsupported) as error:
        sys.exit(f"codegen: {error}")
    shapes = json.dumps(emitter.snapshot(), indent=1, sort_keys=True) + "\n"
    return {GENERATED_RS: rustfmt(source), SHAPES_JSON: shapes}


def read(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed outputs instead of writing them")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        relative = os.path.relpath(path, ROOT)
        current = read(path)
        if current == text:
            continue
        if args.check:
            stale.append(relative)
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(),
                                        f"{relative} (committed)", f"{relative} (generated)",
                                        lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            print(f"codegen: wrote {relative}", file=sys.stderr)
    if stale:
        sys.exit(f"codegen: out of date: {', '.join(stale)}; run python3 tools/codegen/generate.py")


if __name__ == "__main__":
    main()
