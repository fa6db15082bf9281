"""The Python and Go bindings' examples against servers that need TLS, client certificates or
an access token: the example tests of test_tls_clients.py and test_auth_clients.py, driving
the Python (test_python_*) and Go (test_go_*) programs through ARTEMIS_CA_FILE,
ARTEMIS_CERT_FILE, ARTEMIS_KEY_FILE and ARTEMIS_TOKEN.
"""

import test_auth_clients
import test_tls_clients
from lib.sdk import borrow_tests

BINDINGS = True
SERVER = False  # each test starts its own servers

_TLS = ("test_examples_over_https_and_wss", "test_no_ca_or_another_ca_fails", "test_wrong_host_fails",
        "test_client_certificate")
for _lang in ("python", "go"):
    globals().update(borrow_tests(test_tls_clients, __name__, _lang, only=_TLS))
    globals().update(borrow_tests(test_auth_clients, __name__, _lang, only=("test_sdk_examples_closed_server",)))
