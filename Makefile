# Every check of the project, in the order CI runs them. `make test` is the one command: on a
# fresh clone it installs the pinned tools (scripts/setup), then lints, builds and tests.
# `make demo` runs the whole pipeline locally on examples/model-repo (no AWS account).
#
#   make demo            the pipeline of template.yaml on examples/model-repo, on this machine
#   make setup           pinned dev tools: .venv*/ (tools/requirements/*.txt), rust targets
#   make test            everything below, ending with `cargo test` and its summary
#   make fuzz            each fuzz target for FUZZ_SECONDS (default 180) on its seeds; fails on a crash
#   make fuzz-smoke      build the fuzz targets and run each for a few seconds (part of make test)
#   make check-template  template test, cfn-lint, checkov, sam validate --lint, sam build
#   make serving-test    the local SageMaker's model server (Python unit tests)
#   make bench           benchmarks vs a Python/boto3 baseline (target/bench/report.md)
#   make lint            codegen tests and check, cargo fmt --check, cargo clippy
#   make help            this list
#
# Builds: clippy (check mode), cargo test (debug) and sam build (release, arm64) share the one
# workspace target/ directory; each profile is built once.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

VENV := .venv
VENV_SAM := .venv-sam
VENV_CHECKOV := .venv-checkov
TEMPLATE := template.yaml
# Region for the offline template checks only (nothing here talks to AWS).
CHECK_REGION := us-east-1
# The functions of template.yaml; sam build writes .aws-sam/build/<name>/bootstrap for each.
FUNCTIONS := StartTrainingFunction TrainAndTuneFunction EvaluateFunction DeployFunction NotifyFunction

# SAM CLI: no telemetry, no prompt about it.
export SAM_CLI_TELEMETRY := 0

# $(call step,what is happening): no commas in the text (they separate make arguments)
step = @printf '\n==> %s\n' '$(1)'

.PHONY: help demo setup test lint codegen-check fmt-check clippy serving-test cargo-test check-template \
	template-test cfn-lint checkov sam-validate sam-build bench clean-venvs fuzz fuzz-smoke

# The local run: pinned moto and AWS CLI (.venv), the functions and the CLI built for this
# machine (release, as deployed), then `sagemaker-cicd run`. REPO=path runs another repository.
REPO ?= examples/model-repo
DEMO_PACKAGES := sagemaker-cicd start-training train-and-tune evaluate deploy notify

demo:
	$(call step,demo: pinned local services (scripts/setup --local-run))
	scripts/setup --local-run
	$(call step,demo: release build of the functions and the CLI (the first one takes minutes))
	cargo build --release $(foreach p,$(DEMO_PACKAGES),-p $(p))
	$(call step,demo: the pipeline of $(TEMPLATE) on $(REPO))
	target/release/sagemaker-cicd run $(REPO)

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

setup:
	$(call step,setup: pinned dev tools and rust targets (scripts/setup))
	scripts/setup

test: setup lint check-template serving-test fuzz-smoke cargo-test

# The local SageMaker's script-mode model server (Python standard library only).
serving-test: setup
	$(call step,serving: the local model server tests in local/sagemaker/serving)
	$(VENV)/bin/python -m unittest discover -s local/sagemaker/serving -p 'test_*.py'


# Coverage-guided fuzzing (cargo fuzz, pinned in .tools/ by scripts/setup --fuzz) of what reads
# untrusted input: the configuration files, continuation tokens, the artifact zip, the job event.
# fuzz/ is its own workspace with its own target dir (fuzz/target); scripts/fuzz says more.
# FUZZ_TARGETS=name... picks targets (scripts/fuzz --list).
FUZZ_SECONDS ?= 180
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_TARGETS ?=

fuzz:
	$(call step,fuzz: each target for $(FUZZ_SECONDS) s on its corpus (scripts/fuzz))
	scripts/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# So that the targets keep building and the seeds keep passing.
fuzz-smoke:
	$(call step,fuzz smoke: build the fuzz targets and run each for $(FUZZ_SMOKE_SECONDS) s (scripts/fuzz --smoke))
	scripts/fuzz --smoke --seconds $(FUZZ_SMOKE_SECONDS)

lint: setup codegen-check fmt-check clippy

# The generator reads the SageMaker model from the pinned botocore: the venv's botocore must be
# the generator's, or the check would compare against another API model.
codegen-check: setup
	@if [[ -f tools/codegen/generate.py ]]; then \
		printf '\n==> %s\n' 'codegen: its unit tests and the generated code against the pinned botocore model'; \
		echo '$(VENV)/bin/python scripts/check-botocore-pin'; \
		$(VENV)/bin/python scripts/check-botocore-pin; \
		echo '$(VENV)/bin/python -m unittest discover -s tools/codegen'; \
		$(VENV)/bin/python -m unittest discover -s tools/codegen; \
		echo '$(VENV)/bin/python tools/codegen/generate.py --check'; \
		$(VENV)/bin/python tools/codegen/generate.py --check; \
	else \
		printf '\n==> %s\n' 'codegen: skipped (no tools/codegen/generate.py)'; \
	fi

fmt-check:
	$(call step,rustfmt: cargo fmt --check)
	cargo fmt --all --check

clippy:
	$(call step,clippy: every crate and target; warnings are errors)
	cargo clippy --workspace --all-targets -- -D warnings

# The Rust tests start moto themselves (functions/test-support, from .venv). Last step of
# `make test`, so that its summary closes the output; the totals line adds up every binary.
cargo-test: setup
	$(call step,cargo test: unit + integration (moto over HTTP) + doc tests)
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; status=0; \
	echo 'cargo test --workspace --no-fail-fast'; \
	cargo test --workspace --no-fail-fast 2>&1 | tee "$$log" || status=$$?; \
	if grep -q '^test result: ' "$$log"; then \
		awk '/^test result: /{ for (i = 4; i < NF; i++) { \
				if ($$(i+1) ~ /^passed;?$$/) p += $$i; \
				if ($$(i+1) ~ /^failed;?$$/) f += $$i; \
				if ($$(i+1) ~ /^ignored;?$$/) s += $$i } } \
			END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, s }' "$$log"; \
	fi; \
	exit $$status

check-template: setup template-test cfn-lint checkov sam-validate sam-build

# The pipeline of template.yaml against the functions' Rust sources (settings, output
# variables, binaries), the sample buildspec and the IAM rules: tests/template.
template-test: setup
	$(call step,template test: pipeline vs functions and IAM rules (tests/template))
	$(VENV)/bin/python -m unittest discover -s tests/template

cfn-lint: setup
	$(call step,cfn-lint: $(TEMPLATE) after the SAM transform)
	$(VENV)/bin/cfn-lint --regions $(CHECK_REGION) -- $(TEMPLATE)

checkov: setup
	$(call step,checkov: $(TEMPLATE) (offline; skips are justified in the template))
	$(VENV_CHECKOV)/bin/checkov --file $(TEMPLATE) --framework cloudformation --skip-download \
		--compact --quiet

sam-validate: setup
	$(call step,sam validate --lint: $(TEMPLATE))
	$(VENV_SAM)/bin/sam validate --lint --region $(CHECK_REGION) --template-file $(TEMPLATE) </dev/null

# The one release build: arm64, through cargo-lambda and its zig, into the shared target/.
# One cargo-lambda build per function (LTO links each binary on its own); the wall time is
# printed, for the CI budget.
sam-build: setup
	$(call step,sam build: release arm64 bootstrap per function (cargo lambda build --release --arm64))
	@start=$$SECONDS; \
	echo 'sam build --template-file $(TEMPLATE)'; \
	PATH="$(CURDIR)/$(VENV_SAM)/bin:$$PATH" sam build --template-file $(TEMPLATE) </dev/null; \
	echo "sam build: $$((SECONDS - start)) s"
	@python3 -c 'import os, sys; \
		arm64 = lambda b: b[:4] == b"\x7fELF" and b[18:20] == b"\xb7\x00"; \
		res = [(p, os.path.exists(p) and arm64(open(p, "rb").read(20))) for p in sys.argv[1:]]; \
		[print(f"{p}: " + (f"{os.path.getsize(p)} bytes, arm64 ELF" if ok else "missing or NOT an arm64 ELF")) for p, ok in res]; \
		sys.exit(0 if all(ok for _, ok in res) else 1)' $(foreach f,$(FUNCTIONS),.aws-sam/build/$(f)/bootstrap)

# Benchmarks (issue #9): cold start, warm latency, peak RSS and zip size of the functions,
# against a Python/boto3 start-training under awslambdaric (.venv-bench, tools/bench/venv).
# The functions run as native release binaries behind a local Lambda Runtime API; the zips
# are of cargo-lambda's arm64 and x86_64 builds (cargo rebuilds only what changed; the first
# x86_64 build compiles the SDKs, minutes). Then the local hosting (issue 14: endpoint start to
# InService, InvokeEndpoint through the local runtime against the model server called directly)
# and the demo pipeline's overhead. Prints the table and writes $(BENCH_OUT)/report.md and
# report.json. BENCH_ARGS=--help lists the options (counts, --function, --only, --logs).
BENCH_FUNCTIONS := start-training train-and-tune evaluate notify deploy
BENCH_OUT := target/bench
BENCH_ARGS ?=

bench: setup
	$(call step,bench: the Python baseline venv (.venv-bench from tools/requirements/bench.txt))
	tools/bench/venv
	$(call step,bench: native release binaries of the functions and the CLI (cargo build --release))
	cargo build --release $(foreach f,$(BENCH_FUNCTIONS) sagemaker-cicd,-p $(f))
	$(call step,bench: arm64 and x86_64 release builds for the zip sizes (cargo lambda build))
	@for arch in arm64 x86-64; do for f in $(BENCH_FUNCTIONS); do \
		dir=$(BENCH_OUT)/lambda/$${arch/-/_}; \
		echo "cargo lambda build --release --$$arch --bin $$f --lambda-dir $$dir"; \
		PATH="$(CURDIR)/$(VENV_SAM)/bin:$$PATH" cargo lambda build --release --$$arch --bin $$f \
			--lambda-dir "$$dir" </dev/null; \
	done; done
	$(call step,bench: measure (cargo run --release -p bench: the local services it hosts are measured optimised))
	@start=$$SECONDS; \
	echo 'cargo run --release -p bench -- --out $(BENCH_OUT) --lambda-dir $(BENCH_OUT)/lambda $(BENCH_ARGS)'; \
	cargo run -q --release -p bench -- --out $(BENCH_OUT) --lambda-dir $(BENCH_OUT)/lambda $(BENCH_ARGS); \
	echo "bench: measured in $$((SECONDS - start)) s"

clean-venvs:
	rm -rf $(VENV) $(VENV_SAM) $(VENV_CHECKOV) .venv-bench
