"""Run inside a network namespace by the packet tests (`ip netns exec NS python3 netns_tool.py ...`).

serve NAME ADDR PORT [ADDR PORT ...]: answer every TCP connection with "NAME PEER-IP\\n"; prints "ready".
probe JSON: JSON is a list of [host, port, timeout]; prints a JSON list of answers or error names.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def serve(name: str, pairs: list[str]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[0]
        writer.write(f"{name} {peer}\n".encode())
        await writer.drain()
        writer.close()

    servers = []
    for host, port in zip(pairs[::2], pairs[1::2], strict=True):
        servers.append(await asyncio.start_server(handle, host, int(port)))
    print("ready", flush=True)
    await asyncio.sleep(120)  # bounded: the test kills us long before


async def probe_one(host: str, port: int, limit: float) -> str:
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(host, port)
            line = await reader.readline()
            writer.close()
            return line.decode().strip()
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return f"error {exc.errno}"


async def probe(spec: str) -> None:
    answers = [await probe_one(h, int(p), float(t)) for h, p, t in json.loads(spec)]
    print(json.dumps(answers), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        asyncio.run(serve(sys.argv[2], sys.argv[3:]))
    else:
        asyncio.run(probe(sys.argv[2]))
