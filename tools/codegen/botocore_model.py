"""The pinned SageMaker service model, read from botocore.

botocore 1.44.5 is pinned because its SageMaker model has exactly the members of
aws-sdk-sagemaker 1.248 for every shape the generator emits (1.43.11 lacks four nested members
the SDK has, e.g. ResourceConfig.InstancePreferences). Bump the pin together with the SDK.

Where the model comes from, first match wins:
1. an importable botocore of exactly the pinned version;
2. the pinned wheel in <target>/codegen/ (checked against its sha256);
3. that wheel fetched there with `python3 -m pip download`.
The wheel is only read as a zip archive: nothing is installed.
"""

import gzip
import hashlib
import json
import os
import subprocess
import sys
import zipfile

BOTOCORE_VERSION = "1.44.5"
BOTOCORE_WHEEL = f"botocore-{BOTOCORE_VERSION}-py3-none-any.whl"
BOTOCORE_WHEEL_SHA256 = "8f16a56d1dff125dd65322ae021efa7ba5195a6db5102b96862566055b748921"
SERVICE = "sagemaker"
API_VERSION = "2017-07-24"
MODEL_PATH = f"botocore/data/{SERVICE}/{API_VERSION}/service-2.json.gz"


class ModelUnavailable(Exception):
    pass


def _from_installed_botocore():
    try:
        import botocore  # noqa: PLC0415 (optional)
    except ImportError:
        return None
    if botocore.__version__ != BOTOCORE_VERSION:
        return None
    path = os.path.join(os.path.dirname(os.path.dirname(botocore.__file__)), MODEL_PATH)
    with open(path, "rb") as compressed:
        return compressed.read()


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as wheel:
        for block in iter(lambda: wheel.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_wheel(cache_dir):
    wheel = os.path.join(cache_dir, BOTOCORE_WHEEL)
    if not os.path.exists(wheel):
        os.makedirs(cache_dir, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--dest", cache_dir, f"botocore=={BOTOCORE_VERSION}",
        ]
        print(f"codegen: fetching {BOTOCORE_WHEEL} into {cache_dir}", file=sys.stderr)
        if subprocess.run(command, check=False).returncode != 0 or not os.path.exists(wheel):
            raise ModelUnavailable(
                f"could not fetch {BOTOCORE_WHEEL}; install botocore=={BOTOCORE_VERSION} or put "
                f"the wheel into {cache_dir}"
            )
    actual = _sha256(wheel)
    if actual != BOTOCORE_WHEEL_SHA256:
        raise ModelUnavailable(
            f"{wheel} has sha256 {actual}, expected {BOTOCORE_WHEEL_SHA256}: delete it and retry"
        )
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(MODEL_PATH)


def load(cache_dir):
    """The service model as a dict, from the pinned botocore version only."""
    compressed = _from_installed_botocore() or _from_wheel(cache_dir)
    return json.loads(gzip.decompress(compressed))
