"""The trust boundary's parts, one by one: read-back, uid per grade, the box, the fallback.

The read-back and the box's command are tested without starting a worker; the uid pool and
the fallback need root on Linux (official grading) and are skipped elsewhere, with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import bubblewrap, readback, uids
from grader.engine.paths import KIT_ROOT
from tests.catalogue import SOLUTION_DIR

IS_ROOT_ON_LINUX = sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_ONLY = pytest.mark.skipif(
    not IS_ROOT_ON_LINUX, reason="réservé à root sous Linux (correction officielle)"
)

# A container's default seccomp profile, reproduced: namespaces and mounts refused.
DOCKER_LIKE = r"""
import errno, os, sys
import pyseccomp as s
f = s.SyscallFilter(defaction=s.ALLOW)
for name in ("unshare", "mount", "setns", "pivot_root", "umount2"):
    f.add_rule(s.ERRNO(errno.EPERM), name)
for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):
    f.add_rule(s.ERRNO(errno.EPERM), "clone", s.Arg(0, s.MASKED_EQ, flag, flag))
f.add_rule(s.ERRNO(errno.ENOSYS), "clone3")
f.load()
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def test_read_back_never_follows_a_link_nor_opens_a_fifo(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("ne doit pas être lu")
    root = tmp_path / "travail"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"image")
    (root / "images" / "lien.png").symlink_to(secret)
    (root / "dossier-lien").symlink_to(tmp_path)
    os.mkfifo(root / "images" / "tube.png")
    found = readback.read_tree(root)
    assert found.files == {"images/a.png": b"image"}, (
        "Attendu : seul le fichier ordinaire est lu, aucun lien suivi ni tube ouvert ; "
        f"vu : {sorted(found.files)}"
    )
    assert readback.read_file(root / "images" / "tube.png") is None, "Attendu : un tube n'est jamais ouvert."


def test_read_back_of_hard_links_reads_the_bytes_once(tmp_path: Path) -> None:
    big = tmp_path / "gros.bin"
    big.write_bytes(b"x" * 1024)
    for index in range(50):
        os.link(big, tmp_path / f"lien-{index}.bin")
    found = readback.read_tree(tmp_path)
    bodies = {id(body) for body in found.files.values()}
    assert len(found.files) == 51 and len(bodies) == 1, (
        f"Attendu : 51 noms, un seul contenu lu ; vu : {len(found.files)} noms, "
        f"{len(bodies)} contenus distincts."
    )


def test_read_back_of_a_deep_chain_stops_at_its_bound_without_error(tmp_path: Path) -> None:
    folder = tmp_path
    for _ in range(readback.MAX_DEPTH + 30):
        folder = folder / "d"
        folder.mkdir()
    (folder / "fond.png").write_bytes(b"fond")
    found = readback.read_tree(tmp_path)
    deepest = max((name.count("/") for name in found.folders), default=0)
    assert found.truncated and deepest < readback.MAX_DEPTH, (
        f"Attendu : parcours arrêté à {readback.MAX_DEPTH} niveaux et signalé ; vu : profondeur {deepest}, "
        f"tronqué : {found.truncated}."
    )


def test_read_back_keeps_an_undecodable_name_as_writable_text(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"image-\xff.png")).write_bytes(b"png")
    found = readback.read_tree(tmp_path)
    names = list(found.files)
    assert names == ["image-\ufffd.png"], f"Attendu : « image-\ufffd.png » ; vu : {names}"
    json.dumps(names, ensure_ascii=False).encode("utf-8")  # must not raise


def test_the_box_shows_neither_the_kit_nor_the_solution(tmp_path: Path) -> None:
    readable = [*bubblewrap.interpreter_folders(), KIT_ROOT / "grader" / "engine" / "worker"]
    command = bubblewrap.command(tmp_path, readable, ["true"])
    bound = {command[i + 1] for i, word in enumerate(command) if word in ("--ro-bind", "--bind")}
    exposed = [path for path in bound if Path(path) in (KIT_ROOT, SOLUTION_DIR, KIT_ROOT / "grader")]
    assert not exposed and str(tmp_path) in bound, (
        f"Attendu : le dossier de travail monté, ni le kit ni solution/ ; vu : {sorted(bound)}"
    )
    assert "--unshare-pid" in command and "--unshare-net" in command and "--proc" in command, (
        f"Attendu : espaces de noms de processus et réseau, /proc propre ; vu : {command[:20]}"
    )


@ROOT_ONLY
def test_two_grades_at_once_never_share_a_uid() -> None:
    first, second = uids.claim(), uids.claim()
    try:
        assert first.uid != second.uid, f"Attendu : deux uid différents ; vu : {first.uid} et {second.uid}"
        assert first.uid >= uids.FIRST_UID, f"Attendu : un uid du lot réservé ; vu : {first.uid}"
    finally:
        first.release()
        second.release()


@ROOT_ONLY
def test_when_the_kernel_refuses_namespaces_the_grade_falls_back_and_says_so(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    command = [
        "-c",
        DOCKER_LIKE,
        "-m",
        "pytest",
        "grader",
        f"--target={SOLUTION_DIR}",
        f"--results={results}",
        "-p",
        "no:cacheprovider",
    ]
    environment = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, *command], cwd=KIT_ROOT, capture_output=True, text=True, timeout=180, env=environment
    )
    document = json.loads(results.read_text(encoding="utf-8"))
    layers = " ; ".join(document["extra_data"]["protections"])
    score = document["score"]
    assert score == 20, f"Attendu : 20/20 en mode de repli ; vu : {score}\n{done.stdout}"
    for expected in ("bac à sable refusé", "propre à cette correction", "seccomp", "limites"):
        assert expected in layers, f"Attendu : « {expected} » dans les protections ; vu : {layers}"
