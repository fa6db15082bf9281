"""The Python binding's examples against servers that need TLS, client certificates or an access
token: test_tls_clients.py and test_auth_clients.py's example tests, driving the Python
programs (ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE, ARTEMIS_KEY_FILE, ARTEMIS_TOKEN).
"""

import test_auth_clients
import test_tls_clients
from lib.sdk import borrow_tests

BINDINGS = True
EXAMPLES_LANG = "python"
SERVER = False  # each test starts its own servers

_TLS = ("test_examples_over_https_and_wss", "test_no_ca_or_another_ca_fails", "test_wrong_host_fails",
        "test_client_certificate")
globals().update(borrow_tests(test_tls_clients, __name__,
                              skip=[n for n in dir(test_tls_clients) if n not in _TLS]))
globals().update(borrow_tests(test_auth_clients, __name__,
                              skip=[n for n in dir(test_auth_clients) if n != "test_sdk_examples_closed_server"]))
