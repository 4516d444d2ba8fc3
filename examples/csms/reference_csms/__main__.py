"""python -m reference_csms --site site.toml [--listen 127.0.0.1:9000] [--sidecar HOST:PORT]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from reference_csms.bridge import run
from reference_csms.site import Site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reference_csms", description=__doc__)
    parser.add_argument("--site", type=Path, default=Path(__file__).parents[1] / "site.toml",
                        help="the site file (default: examples/csms/site.toml)")
    parser.add_argument("--listen", default="127.0.0.1:9000",
                        help="host:port charge points connect to (port 0: any free port)")
    parser.add_argument("--sidecar", default=None,
                        help="ocpi-sidecar's gRPC address (default: the site file's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The ocpp library logs every message at INFO, tokens included.
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    host, _, port = args.listen.rpartition(":")
    site = Site.load(args.site, args.sidecar)
    try:
        asyncio.run(run(site, host, int(port)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
