"""The Python and Go bindings' examples against a real server: every end-to-end test of
test_sdk.py (registration, SIGTERM/SIGINT, the lookup line, watch pushes, failover,
ARTEMIS_IP, the disk cache during an outage, re-registration after a server restart,
empty-push protection) drives the Python programs (test_python_*) and the Go programs
(test_go_*) instead of the C ones. The contract is examples/README.md.
"""

import test_sdk
from lib.sdk import borrow_tests

BINDINGS = True
SERVER_ARGS = test_sdk.SERVER_ARGS

for _lang in ("python", "go"):
    # test_external_loop_mode is the C libevent adapter's own test: the bindings run threaded.
    globals().update(borrow_tests(test_sdk, __name__, _lang, skip=("test_external_loop_mode",)))
