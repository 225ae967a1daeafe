"""The one thread per process that runs the AWS endpoint's database work.

It keeps one long-lived connection (stock Django under ASGI opens one per request), and a plain
executor hop costs ~80 µs against asgiref's ~130.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roost-db")


async def run(function, *args):
    """Run `function(*args)` on the database thread and return its result."""
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)
