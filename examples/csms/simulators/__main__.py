"""python -m simulators {1.6,2.0.1} [--url ws://127.0.0.1:9000/ocpp] [--id CP16] [--id-tag TAG]

One scripted charging session at a reference CSMS: connect and boot, plug in, swipe the RFID,
charge --kwh at --kw, stop, unplug, disconnect. Each step prints one JSON line; the exit status
is 0 when the CSMS accepted the RFID and the transaction, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def _say(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


async def _session16(args: argparse.Namespace) -> bool:
    from simulators.ocpp16 import ChargePoint16Sim

    async with ChargePoint16Sim.connected(args.url, args.id or "CP16", connectors=2) as cp:
        _say("booted", charge_point=cp.id)
        await cp.plug_in(1)
        status = await cp.swipe(args.id_tag)
        _say("authorize", status=status)
        if status != "Accepted":
            return False
        transaction_id = await cp.start_transaction(1, args.id_tag)
        _say("start_transaction", transaction_id=transaction_id)
        if not transaction_id:
            return False
        await cp.charge(1, kwh=args.kwh, kw=args.kw)
        _say("charged", kwh=args.kwh, kw=args.kw)
        await cp.stop_transaction(1)
        await cp.unplug(1)
        _say("stopped", transaction_id=transaction_id)
    return True


async def _session201(args: argparse.Namespace) -> bool:
    from simulators.ocpp201 import ChargePoint201Sim

    async with ChargePoint201Sim.connected(args.url, args.id or "CP201") as cp:
        _say("booted", charge_point=cp.id)
        status = await cp.swipe(args.id_tag)
        _say("authorize", status=status)
        if status != "Accepted":
            return False
        transaction_id = await cp.plug_in(1, 1, uid=args.id_tag)
        _say("start_transaction", transaction_id=transaction_id)
        await cp.charge(1, kwh=args.kwh, kw=args.kw)
        _say("charged", kwh=args.kwh, kw=args.kw)
        await cp.stop(1)
        await cp.unplug(1)
        _say("stopped", transaction_id=transaction_id)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", choices=["1.6", "2.0.1"])
    parser.add_argument("--url", default="ws://127.0.0.1:9000/ocpp",
                        help="the CSMS's websocket URL, without the charge point id")
    parser.add_argument("--id", default=None, help="charge point id (CP16 / CP201)")
    parser.add_argument("--id-tag", default="04A1B2C3D4", help="the RFID to swipe")
    parser.add_argument("--kwh", type=float, default=2.5)
    parser.add_argument("--kw", type=float, default=11.0)
    args = parser.parse_args(argv)
    session = _session16 if args.version == "1.6" else _session201
    return 0 if asyncio.run(session(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
