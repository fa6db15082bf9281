"""The Python binding's examples against a real server: every end-to-end test of test_sdk.py
(registration, SIGTERM/SIGINT, the lookup line, watch pushes, failover, ARTEMIS_IP, the disk
cache during an outage, re-registration after a server restart, empty-push protection) drives
the Python programs instead of the C ones. The contract is examples/README.md.
"""

import test_sdk
from lib.sdk import borrow_tests

BINDINGS = True
EXAMPLES_LANG = "python"
SERVER_ARGS = test_sdk.SERVER_ARGS

# test_external_loop_mode is the C libevent adapter's own test: the bindings run threaded.
globals().update(borrow_tests(test_sdk, __name__, skip=("test_external_loop_mode",)))
