"""`scripts/lab`: boot a configuration in the instance lab and print what the instance did.

scripts/lab boot --config stack.yaml [--reboot] [--scenario NAME] [--keep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from geusemaker.config_io import load_config
from geusemaker.errors import UserError
from tests.lab import rootfs
from tests.lab.machine import LabError, LabMachine, lab_unavailable, wait_for
from tests.lab.reading import BOOT_TIMEOUT_S
from tests.lab.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/lab", description="Boot GeuseMaker's exact UserData in the lab.")
    commands = parser.add_subparsers(dest="command", required=True)
    boot = commands.add_parser("boot", help="boot a configuration and print what the instance did")
    boot.add_argument("--config", type=Path, required=True, help="a GeuseMaker configuration (YAML)")
    boot.add_argument("--reboot", action="store_true", help="stop and start the instance after its first boot")
    boot.add_argument("--scenario", choices=sorted(SCENARIOS), help="then run this scenario's checks")
    boot.add_argument("--keep", action="store_true", help="leave the machine's disk in place (path printed)")
    args = parser.parse_args(argv)
    reason = lab_unavailable()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    pristine = rootfs.pristine_root()
    print(f"lab root ready in {time.monotonic() - started:.0f} s: {pristine}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"lab-{config.name}-", dir="/var/tmp"))
    machine = LabMachine(config, workdir, spot=config.compute.market == "spot")
    try:
        return _boot(machine, pristine, args)
    except (LabError, AssertionError) as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        if machine.running:
            print(machine.report(), file=sys.stderr)
        return 1
    finally:
        machine.kill()
        if args.keep:
            print(f"the machine's disk is kept in {workdir}")
        else:
            machine.destroy()


def _boot(machine: LabMachine, pristine: Path, args: argparse.Namespace) -> int:
    machine.create(pristine)
    if args.scenario == "failing-step":
        machine.fault("nvidia-ctk")
    started = time.monotonic()
    machine.boot()
    status = machine.wait_boot(BOOT_TIMEOUT_S)
    print(f"boot ended in {time.monotonic() - started:.0f} s: {status.get('step')} {status.get('state')}\n")
    print(machine.report(), flush=True)
    if args.reboot:
        machine.poweroff()
        machine.boot()
        wait_for(lambda: machine.run("systemctl is-system-running", check=False).stdout.strip()
                 in {"running", "degraded"}, 300, "the reboot to settle")  # fmt: skip
        print("== after a stop and start\n" + machine.report(), flush=True)
    if args.scenario:
        observed = SCENARIOS[args.scenario](machine)
        print(f"scenario {observed.name}: passed in {observed.seconds:.0f} s\n{observed.facts}")
    machine.poweroff()
    return 0 if status.get("state") != "failed" or args.scenario == "failing-step" else 1


if __name__ == "__main__":
    sys.exit(main())
