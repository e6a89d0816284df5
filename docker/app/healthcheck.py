"""HEALTHCHECK probe: GET /healthz on the port gunicorn binds (BIND or PORT, as gunicorn.conf.py).

Python instead of curl: the distroless base has no curl (nor a shell to run one); Python is there.
"""

import os
import sys
import urllib.request

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
port = bind.rsplit(":", 1)[-1]
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"healthcheck failed: {error}", file=sys.stderr)
    sys.exit(1)
