# The project's commands. `make demo` is the first one to run.
SCENARIO ?= normal
WEEKS ?= 1
# The shell command training jobs run; empty: the Rust reference trainer. The Prophet example:
# TRAINING_COMMAND='.venv-prophet/bin/python examples/prophet-trainer/train.py'
TRAINING_COMMAND ?=

.PHONY: demo setup test test-images images ci lambda bench bench-memory image

setup:
	tools/setup.sh

# The whole retraining job on this machine against the AWS emulator: SCENARIO=normal |
# regime-change | no-new-data | short-history | messy-files | broken-model | worse-challenger |
# serving-drift, WEEKS=n runs week after week on the same state. Endpoints serve with
# SERVING_COMMAND (default: the trainer's own server: the reference trainer's `serve`, or the
# serve.py beside a train.py). IMAGE=prophet: training jobs and endpoints run the Prophet
# example's image (built first, `make image`) as SageMaker runs it; IMAGE=<local image>: yours.
# The cost options, as the template's parameters set them: ENDPOINT_TYPE=Serverless
# (SERVERLESS_MEMORY_MB, SERVERLESS_MAX_CONCURRENCY), TRAINING_SPOT=false; EMULATOR_SPOT_CAPACITY=
# none|interrupted plays a spot market without capacity, or one that interrupts the job once.
IMAGE ?=
demo:
	tools/setup.sh $(if $(findstring .venv-prophet,$(TRAINING_COMMAND)),test,demo)
	$(if $(filter prophet,$(IMAGE)),$(MAKE) --no-print-directory image)
	cargo build --workspace --bins --quiet
	target/debug/local-run --scenario $(SCENARIO) --weeks $(WEEKS) \
	  $(if $(TRAINING_COMMAND),--training-command '$(TRAINING_COMMAND)') \
	  $(if $(IMAGE),--image $(IMAGE))

# Every test: unit, mocked AWS, every path of the state machine, the template, and the
# scenarios against the emulator.
test:
	tools/setup.sh test
	cargo test --workspace

# Every benchmark beside its baseline (release build): the workers' memory on large documents,
# every worker's cold start beside Python's (awslambdaric, boto3), the drift scan against
# Python's csv and pandas; target/bench/results.json.
bench: bench-memory
	target/release/coldstart-bench --runs 10
	target/release/bench

# Peak memory of StartTraining and EvaluateMape on 200 MB documents against the emulator, beside
# reading the same objects whole (release build; writes target/bench/memory.json).
bench-memory:
	tools/setup.sh
	cargo build --release --workspace --bins --quiet
	target/release/memory-bench --size-mb 200

# The Prophet example's training and serving image, built with podman from nothing but the
# package registries (tools/image.sh: the base is made once and cached); SAVE=file.tar also
# writes it as an OCI archive to push to ECR.
IMAGE_TAG ?= localhost/prophet-trainer:latest
image:
	tools/image.sh examples/prophet-trainer $(IMAGE_TAG) $(if $(SAVE),--save $(SAVE))

# The images the container tests run: the Prophet example's and the probe image's three modes.
images: image
	tools/image.sh local/emulator/probe-image localhost/retrain-probe:latest
	tools/image.sh local/emulator/probe-image localhost/retrain-probe:no-ping --build-arg MODE=no-ping
	tools/image.sh local/emulator/probe-image localhost/retrain-probe:fail --build-arg MODE=fail

# The container tests (podman): the emulator running images (probe image), and the pipeline
# with the Prophet image and the probe's failures (local/tests/containers.rs, #[ignore]d in
# `make test` because they need the images).
test-images: images
	tools/setup.sh test
	cd local/emulator && EMULATOR_CONTAINER_TESTS=1 ../../.venv-emulator/bin/pytest -q -p no:cacheprovider test_containers.py
	cargo test --workspace --test containers -- --ignored

lambda: setup
	tools/lambda-build.sh

ci:
	bash .ci/run
