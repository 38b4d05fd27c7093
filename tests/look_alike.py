"""Submissions for the similarity tests: an honest one written apart, and a disguised copy.

- :func:`honest_files`: the committed skeleton, its TODOs filled in by an implementation
  written independently of solution/ (other structure, other idioms, same contract).
- :func:`disguised_copy`: solution/ with its variables renamed, its comments changed and
  its functions reordered, as a student hiding a copy would do.
"""

from __future__ import annotations

import functools
import re

from grader.engine.paths import PART_FILES
from tests.catalogue import SOLUTION_DIR
from tests.pristine import pristine_skeleton

FILES = tuple(PART_FILES.values())

_HONEST: dict[str, dict[str, str]] = {
    "sync_downloader.py": {
        "1": """\
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)-8s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
""",
        "2": """\
    target = output_dir.joinpath(filename_from_url(url))
    logger.info("GET %s", url)
    try:
        reply = session.get(url, timeout=20)
        if not reply.ok:
            logger.error("HTTP %s pour %s", reply.status_code, url)
            return None
        with open(target, "wb") as out:
            out.write(reply.content)
    except requests.exceptions.RequestException as exc:
        logger.error("réseau : %s (%s)", exc, url)
        return None
    except OSError as exc:
        if target.exists():
            target.unlink()
        logger.error("disque : %s (%s)", exc, target)
        return None
    logger.info("OK %s -> %s", url, target.name)
    return target
""",
        "3": """\
    logger.info("Lot de %s URL", len(urls))
    t0 = time.monotonic()
    Path(output_dir).mkdir(exist_ok=True, parents=True)
    ok = 0
    with requests.Session() as http:
        for address in urls:
            if download_and_save(http, address, output_dir):
                ok += 1
    total = time.monotonic() - t0
    logger.info("Terminé : %s réussies sur %s, %.3f secondes", ok, len(urls), total)
    print(f"Durée totale : {total:.2f} s")
    return total
""",
    },
    "async_downloader.py": {
        "4": """\
    logging.basicConfig(format="{asctime} {levelname}: {message}", style="{", level="INFO")
""",
        "5": """\
    path = output_dir.joinpath(filename_from_url(url))
    logger.info("GET %s", url)
    try:
        response = await session.get(url)
        try:
            if response.status >= 400:
                logger.error("HTTP %s pour %s", response.status, url)
                return None
            body = await response.read()
        finally:
            response.release()
        f = await aiofiles.open(path, mode="wb")
        try:
            await f.write(body)
        finally:
            await f.close()
    except (TimeoutError, aiohttp.ClientError) as problem:
        logger.error("réseau : %s (%s)", problem, url)
        return None
    except OSError as problem:
        logger.error("disque : %s (%s)", problem, path)
        return None
    logger.info("OK %s -> %s", url, path.name)
    return path
""",
        "6": """\
    logger.info("Lot de %s URL", len(urls))
    t0 = time.monotonic()
    Path(output_dir).mkdir(exist_ok=True, parents=True)
    async with aiohttp.ClientSession() as http:
        outcome = await asyncio.gather(*(download_and_save(http, u, output_dir) for u in urls))
    total = time.monotonic() - t0
    logger.info("Terminé : %s réussies, %.3f secondes", len([p for p in outcome if p]), total)
    print(f"Durée totale : {total:.2f} s")
    return total
""",
    },
}

# A TODO's comment block and its « raise NotImplementedError("TODO n : name") ».
_TODO = re.compile(r"    # TODO (?P<n>\d) :.*?\n    raise NotImplementedError\(.*?\)\n", re.DOTALL)


def _body(bodies: dict[str, str], match: re.Match[str]) -> str:
    return bodies[match.group("n")]


def honest_files() -> dict[str, str]:
    """The committed skeleton, completed independently of solution/: file name → source."""
    files = {}
    for name in FILES:
        skeleton = (pristine_skeleton().folder / name).read_text(encoding="utf-8")
        bodies = _HONEST[name]
        filled, count = _TODO.subn(functools.partial(_body, bodies), skeleton)
        assert count == len(bodies), f"{name} : attendu {len(bodies)} TODO remplacés ; vu {count}"
        files[name] = filled
    return files


_RENAMED = {
    "destination": "fichier_cible",
    "response": "rep",
    "content": "octets",
    "error": "err",
    "start": "debut",
    "elapsed": "duree_totale",
    "saved": "resultats",
    "successes": "nb_ok",
    "tasks": "coroutines",
    "session": "client",
    "file": "sortie",
}


def _functions(source: str) -> tuple[str, list[str], str]:
    """The text before the first top-level function, each function, and the main guard."""
    pieces = re.split(r"\n(?=async def |def |if __name__ == )", source)
    return pieces[0], [piece.strip("\n") + "\n" for piece in pieces[1:-1]], pieces[-1]


def disguised_copy() -> dict[str, str]:
    """solution/ renamed, recommented and reordered: file name → source."""
    files = {}
    for name in FILES:
        source = (SOLUTION_DIR / name).read_text(encoding="utf-8")
        for old, new in _RENAMED.items():
            source = re.sub(rf"(?<![.\w]){old}\b", new, source)  # attributes keep their names
        source = re.sub(r"^(\s*)# .*$", r"\1# (remarque personnelle)", source, flags=re.MULTILINE)
        head, functions, guard = _functions(source)
        files[name] = head.rstrip("\n") + "\n\n\n" + "\n\n".join(reversed(functions)) + "\n\n" + guard
    return files
