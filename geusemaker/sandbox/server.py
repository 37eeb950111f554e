"""The sandbox server process: moto's HTTP server with GeuseMaker's patches, until SIGTERM.

Run by `geusemaker sandbox start` as
`python -m geusemaker.sandbox.server --port 0 --ready-file PATH [--quota CODE=VALUE] [--enable-region REGION]`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def parse_quota(text: str) -> tuple[str, float]:
    """`L-DB2E81BA=0` -> ("L-DB2E81BA", 0.0); raises ValueError with the reason."""
    from geusemaker.sandbox.seed import EC2_VCPU_QUOTAS

    code, sep, value = text.partition("=")
    code = code.strip()
    if not sep or code not in EC2_VCPU_QUOTAS:
        raise ValueError(f"'{text}': expected CODE=VALUE with CODE one of {', '.join(EC2_VCPU_QUOTAS)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{text}': the value must be a number of vCPUs") from None
    if number < 0:
        raise ValueError(f"'{text}': the value must not be negative")
    return code, number


def parse_region(text: str) -> str:
    """An opt-in region name for `--enable-region`; raises ValueError with the reason."""
    from geusemaker.models.regions import OPT_IN_REGIONS, normalize_region, region_problem

    region = normalize_region(text)
    problem = region_problem(region, allow_auto=False)
    if problem:
        raise ValueError(problem)
    if region not in OPT_IN_REGIONS:
        raise ValueError(f"{region} is enabled in every account; only opt-in regions need enabling")
    return region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="geusemaker-sandbox-server")
    parser.add_argument("--port", type=int, required=True, help="0: any free port (see --ready-file)")
    parser.add_argument("--ready-file", type=Path, help="where to write the endpoint once the server listens")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--quota", action="append", default=[], type=parse_quota)
    parser.add_argument("--enable-region", action="append", default=[], type=parse_region)
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from geusemaker.sandbox import patches

    patches.install()
    patches.set_quotas(dict(args.quota))
    patches.enable_regions(set(args.enable_region))
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    patches.seed_instance_boundary()  # before the endpoint is announced: no client sees the account without it
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    if args.ready_file is not None:
        partial = args.ready_file.with_suffix(".partial")
        partial.write_text(endpoint, encoding="utf-8")
        partial.replace(args.ready_file)  # whole or absent: the starter never reads half an endpoint
    print(f"sandbox listening on {endpoint}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
