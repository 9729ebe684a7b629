"""start-training in Python with boto3: the baseline of `make bench` (tools/bench).

What the AWS samples and the original project would run as the Train action, written the way
such a Lambda function usually is (clients created at import, one module), doing the same calls
as our start-training on the sample model repository:

1. read the CodePipeline job event and its UserParameters;
2. download the source artifact from S3 with the job's artifactCredentials;
3. read configuration/trainingjob.json from the zip and fill its ${...} placeholders (a string
   that is exactly a numeric placeholder becomes a number);
4. name the job <prefix>-<name>-<commit>-<hash> and add the lineage tags, as our function does;
5. CreateTrainingJob;
6. PutJobSuccessResult with the output variables (PutJobFailureResult on any error).

It validates less than our function (no JSON paths, no API-model checks) and does not adopt a
job a previous delivery started: it is the cost of the plain approach, not a replacement.
"""

import hashlib
import io
import json
import os
import re
import zipfile

import boto3
from botocore.config import Config

_LOCAL_S3 = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
_S3_CONFIG = Config(s3={"addressing_style": "path"}) if _LOCAL_S3 else None

codepipeline = boto3.client("codepipeline")
sagemaker = boto3.client("sagemaker")

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 1024 * 1024
CONFIG_PATH = "configuration/trainingjob.json"
LINEAGE = ("pipeline:repository", "pipeline:branch", "pipeline:commit",
           "pipeline:execution-id", "pipeline:job-id")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def handler(event, context):
    job = event["CodePipeline.job"]
    job_id = job["id"]
    try:
        variables, summary = start_training(job)
    except Exception as error:  # every error becomes a failure result
        codepipeline.put_job_failure_result(
            jobId=job_id,
            failureDetails={"type": "JobFailed", "message": str(error)[:5000] or "error"},
        )
        return {"result": "failed"}
    codepipeline.put_job_success_result(
        jobId=job_id,
        outputVariables=variables,
        executionDetails={"summary": summary[:2048]},
    )
    return {"result": "succeeded"}


def start_training(job):
    data = job["data"]
    params = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])
    text = read_config(data["inputArtifacts"][0]["location"]["s3Location"],
                       data["artifactCredentials"])
    request = json.loads(text)
    name = job_name(params["JobPrefix"], request.get("TrainingJobName"), params["CommitId"],
                    params["ExecutionId"], job["id"])
    request = fill(request, placeholders(params, name))
    request["TrainingJobName"] = name
    tags = [t for t in request.get("Tags", []) if t["Key"] not in LINEAGE]
    tags += lineage(params, job["id"])
    request["Tags"] = tags
    created = sagemaker.create_training_job(**request)
    commit = params["CommitId"]
    instance = request.get("ResourceConfig", {}).get("InstanceType", "")
    variables = {
        "TrainingJobName": name,
        "TrainingJobArn": created["TrainingJobArn"],
        "CommitId": commit,
    }
    return variables, f"Started training job {name} ({instance}) for commit {commit[:7]}"


def read_config(location, credentials):
    s3 = boto3.client(
        "s3",
        aws_access_key_id=credentials["accessKeyId"],
        aws_secret_access_key=credentials["secretAccessKey"],
        aws_session_token=credentials.get("sessionToken"),
        config=_S3_CONFIG,
    )
    obj = s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])
    if obj["ContentLength"] > MAX_ARTIFACT_BYTES:
        raise ValueError(f"the source artifact is larger than {MAX_ARTIFACT_BYTES} bytes")
    with zipfile.ZipFile(io.BytesIO(obj["Body"].read())) as archive:
        try:
            info = archive.getinfo(CONFIG_PATH)
        except KeyError:
            raise ValueError(f"the source has no {CONFIG_PATH}") from None
        if info.file_size > MAX_FILE_BYTES:
            raise ValueError(f"{CONFIG_PATH} is larger than {MAX_FILE_BYTES} bytes")
        return archive.read(info).decode("utf-8")


def placeholders(params, name):
    values = {
        "CommitId": params["CommitId"],
        "ExecutionId": params["ExecutionId"],
        "RoleArn": params["RoleArn"],
        "ArtifactBucket": params["ArtifactBucket"],
        "InstanceType": params.get("InstanceType", "ml.m4.xlarge"),
        "TrainingJobName": name,
        "Repository": params.get("Repository", ""),
        "Branch": params.get("Branch", ""),
        "InstanceCount": params.get("InstanceCount", 1),
        "VolumeSizeInGB": params.get("VolumeSizeInGB", 60),
        "MaxRuntimeInSeconds": params.get("MaxRuntimeInSeconds", 86400),
    }
    build = params.get("BuildVariables", {})
    if "SOURCE_DIR_URI" in build:
        values["SourceDir"] = build["SOURCE_DIR_URI"]
    values.update(build)
    return values


def fill(value, values):
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, str) and "${" in value:
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    return value


def sanitize(raw):
    out = ""
    for c in raw:
        if c.isascii() and c.isalnum():
            out += c.lower()
        elif out and not out.endswith("-"):
            out += "-"
    return out.rstrip("-")


def job_name(prefix, name, commit, execution_id, job_id, limit=63):
    digest = hashlib.sha256(f"{execution_id}\n{job_id}".encode()).hexdigest()[:8]
    commit = sanitize(commit)[:7]
    head = sanitize(prefix) or "training"
    name = sanitize(name or "")
    if name and name != head:
        head = f"{head}-{name}"
    tail = f"{commit}-{digest}"
    if not commit or len(head) + 1 + len(tail) > limit:
        tail = digest
    head = head[: limit - len(tail) - 1].rstrip("-")
    return f"{head}-{tail}"


def lineage(params, job_id):
    pairs = [
        ("pipeline:repository", params.get("Repository")),
        ("pipeline:branch", params.get("Branch")),
        ("pipeline:commit", params["CommitId"]),
        ("pipeline:execution-id", params["ExecutionId"]),
        ("pipeline:job-id", job_id),
    ]
    clean = lambda v: "".join(c if c.isalnum() or c.isspace() or c in "_.:/=+-@" else "_" for c in v)[:256]
    return [{"Key": k, "Value": clean(v)} for k, v in pairs if v]
