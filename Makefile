# The two set-up commands of the README. Both install what is missing (nothing, the second time) first.
PYTHON ?= python3
DEMO_CONFIG ?= configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py

.PHONY: install install-tests demo demo-sr test test-all lint

install:
	bash tools/install.sh

install-tests:
	bash tools/install.sh --tests

# main job: train the demo detector with FBA on the generated demo set, print val mAP and the memory saving
demo: install
	$(PYTHON) tools/demo.py $(DEMO_CONFIG)

# the SR demo: EDSR x2 with FBA K=4 on scikit-image's photographs, prints val PSNR/SSIM and the memory saving
demo-sr: install
	$(PYTHON) tools/demo.py configs/sr/demo/edsr_x2c32b8_fba-k4_demo.py

# the test suite CI runs (slow end-to-end runs are marked `slow` and run by `make test-all`)
test: install-tests
	$(PYTHON) -m pytest tests -m "not slow"

test-all: install-tests
	$(PYTHON) -m pytest tests

# flake8 + isort rules through ruff (ruff.toml), as CI runs them; `ruff check --fix .` sorts imports
lint: install-tests
	$(PYTHON) -m ruff check .
