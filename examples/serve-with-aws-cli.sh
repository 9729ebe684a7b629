#!/usr/bin/env bash
# Serves the sample model on the local SageMaker with the AWS CLI alone: train it here, upload
# model.tar.gz (the model and, under code/, its inference code), create the model, a serverless
# endpoint config and the endpoint, wait for it, and ask it about one penguin.
#
# Run it where the `export` lines of `sagemaker-cicd services` are set, with the AWS CLI on PATH
# (`.venv/bin` has it). The local run's tests run this script as it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

aws s3 mb s3://serving-example
python3 examples/model-repo/src/train.py --n_estimators 10 --model_dir "$work/model" \
    --train examples/model-repo/data/train --validation examples/model-repo/data/validation \
    --test examples/model-repo/data/test >/dev/null
cp -R examples/model-repo/src "$work/model/code"
tar -czf "$work/model.tar.gz" -C "$work/model" --exclude=__pycache__ .
aws s3 cp "$work/model.tar.gz" s3://serving-example/penguins/model.tar.gz

aws sagemaker create-model --model-name penguins --primary-container \
    'Image=sklearn,ModelDataUrl=s3://serving-example/penguins/model.tar.gz,Environment={SAGEMAKER_PROGRAM=inference.py}'
aws sagemaker create-endpoint-config --endpoint-config-name penguins --production-variants \
    'VariantName=AllTraffic,ModelName=penguins,ServerlessConfig={MemorySizeInMB=2048,MaxConcurrency=1}'
aws sagemaker create-endpoint --endpoint-name penguins --endpoint-config-name penguins
aws sagemaker wait endpoint-in-service --endpoint-name penguins

# AWS CLI v2 also needs --cli-binary-format raw-in-base64-out for a text --body.
binary_format=()
if aws --version 2>&1 | grep -q '^aws-cli/2'; then binary_format=(--cli-binary-format raw-in-base64-out); fi
aws sagemaker-runtime invoke-endpoint --endpoint-name penguins --content-type text/csv \
    --accept text/csv --body 'Gentoo,Biscoe,45,15.4,220,5050' "${binary_format[@]}" \
    "$work/answer.csv" >/dev/null
cat "$work/answer.csv"
