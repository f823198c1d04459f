"""
Fixtures of the end-to-end tests; they live in ratify_server.py, which the
browser tests share. RATIFY_BIN names the binary under test (the Makefile
builds it and runs this suite once with build/ratify and once with
build/asan/ratify and RATIFY_SANITIZED=1).
"""

from ratify_server import fresh_server, module_server, server  # noqa: F401  (pytest fixtures)
