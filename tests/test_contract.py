"""The student contract: skeleton/ and solution/ mirror each other and expose the same API.

The skeleton is read as committed (tests/pristine.py), never from the working copy, which a
student fills in: these tests keep passing in a student's clone.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.engine.paths import KIT_ROOT
from tests.pristine import pristine_skeleton

PACKAGES = ("skeleton", "solution")
MODULES = ("sync_downloader", "async_downloader")
FUNCTIONS = ("filename_from_url", "setup_logging", "download_and_save", "main")
COROUTINES = {"async_downloader": {"download_and_save", "main"}, "sync_downloader": set()}
ALLOWED_IMPORTS = {
    "asyncio", "hashlib", "logging", "re", "time", "collections", "contextlib", "pathlib",
    "urllib", "requests", "aiohttp", "aiofiles",
}  # fmt: skip
# The files that skeleton/ and solution/ must both hold (code, and the reflection answers).
MIRRORED_PATTERNS = ("*.py", "*.md")


def folder(package: str) -> Path:
    """solution/ from the working copy; skeleton/ as committed (a student may have filled it in)."""
    return pristine_skeleton().folder if package == "skeleton" else KIT_ROOT / package


def module(package: str, name: str) -> ModuleType:
    if package != "skeleton":
        return importlib.import_module(f"{package}.{name}")
    qualified = f"pristine_skeleton.{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, folder(package) / f"{name}.py")
        assert spec is not None and spec.loader is not None, f"attendu un module chargeable pour {name}"
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[qualified]


def source(package: str, name: str) -> str:
    return (folder(package) / f"{name}.py").read_text(encoding="utf-8")


def mirrored_files(package: str) -> list[str]:
    return sorted(p.name for pattern in MIRRORED_PATTERNS for p in folder(package).glob(pattern))


@pytest.fixture(params=MODULES)
def module_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_skeleton_and_solution_hold_the_same_files() -> None:
    skeleton, solution = mirrored_files("skeleton"), mirrored_files("solution")
    assert skeleton == solution, (
        f"attendu les mêmes fichiers ({', '.join(MIRRORED_PATTERNS)}) des deux côtés ; "
        f"squelette {skeleton}, solution {solution}"
    )
    assert "REPONSES.md" in solution, f"attendu REPONSES.md dans solution/ ; vu {solution}"


def test_both_packages_expose_the_same_signatures(module_name: str) -> None:
    for function in FUNCTIONS:
        skeleton = getattr(module("skeleton", module_name), function)
        solution = getattr(module("solution", module_name), function)
        assert inspect.signature(skeleton) == inspect.signature(solution), (
            f"{module_name}.{function} : signatures différentes, squelette {inspect.signature(skeleton)}, "
            f"solution {inspect.signature(solution)}"
        )
        expected = function in COROUTINES[module_name]
        for package, value in (("skeleton", skeleton), ("solution", solution)):
            assert inspect.iscoroutinefunction(value) == expected, (
                f"{package}.{module_name}.{function} : coroutine attendue {expected}, "
                f"vue {inspect.iscoroutinefunction(value)}"
            )


def test_main_defaults_to_the_course_list_and_folder(module_name: str) -> None:
    for package in PACKAGES:
        loaded = module(package, module_name)
        parameters = inspect.signature(loaded.main).parameters
        defaults = [parameters["urls"].default, parameters["output_dir"].default]
        assert defaults == [loaded.IMAGE_URLS, loaded.OUTPUT_DIR], (
            f"{package}.{module_name}.main : valeurs par défaut attendues IMAGE_URLS et OUTPUT_DIR, "
            f"vues {defaults}"
        )


def test_image_urls_are_at_least_ten_on_two_hosts(module_name: str) -> None:
    for package in PACKAGES:
        urls = module(package, module_name).IMAGE_URLS
        hosts = {urlsplit(url).hostname for url in urls}
        assert len(urls) >= 10 and len(hosts) >= 2 and len(set(urls)) == len(urls), (
            f"{package}.{module_name} : attendu ≥ 10 URL distinctes sur ≥ 2 serveurs, "
            f"vu {len(urls)} URL sur {len(hosts)} serveur(s)"
        )
    skeleton_urls = module("skeleton", module_name).IMAGE_URLS
    solution_urls = module("solution", module_name).IMAGE_URLS
    assert skeleton_urls == solution_urls, (
        f"{module_name} : attendu la même IMAGE_URLS dans le squelette et la solution ; "
        f"squelette {skeleton_urls}, solution {solution_urls}"
    )


def test_output_dir_is_a_relative_path(module_name: str) -> None:
    for package in PACKAGES:
        output_dir = module(package, module_name).OUTPUT_DIR
        assert isinstance(output_dir, Path) and not output_dir.is_absolute(), (
            f"{package}.{module_name}.OUTPUT_DIR : chemin relatif attendu, vu {output_dir!r}"
        )


def _function_source(package: str, name: str, function: str) -> str:
    tree = ast.parse(source(package, name))
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return ast.unparse(node)


def test_filename_from_url_is_given_identically_everywhere() -> None:
    versions = {
        (package, name): _function_source(package, name, "filename_from_url")
        for package in PACKAGES
        for name in MODULES
    }
    assert len(set(versions.values())) == 1, (
        "filename_from_url doit être identique dans les 4 fichiers ; "
        f"versions différentes : {sorted(versions)}"
    )


def test_each_module_stands_alone(module_name: str) -> None:
    for package in PACKAGES:
        tree = ast.parse(source(package, module_name))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= ALLOWED_IMPORTS, (
            f"{package}/{module_name}.py : imports attendus parmi la bibliothèque standard et "
            f"requests/aiohttp/aiofiles, vus en plus {sorted(imported - ALLOWED_IMPORTS)}"
        )


def test_skeleton_todos_raise_not_implemented(module_name: str) -> None:
    tree = ast.parse(source("skeleton", module_name))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "filename_from_url":
            last = node.body[-1]
            raised = ast.unparse(last) if isinstance(last, ast.Raise) else ""
            assert raised.startswith("raise NotImplementedError('TODO"), (
                f"skeleton/{module_name}.py:{node.name} : attendu « raise NotImplementedError('TODO …') », "
                f"vu {raised or type(last).__name__}"
            )
            segment = ast.get_source_segment(source("skeleton", module_name), node) or ""
            assert "# TODO" in segment, (
                f"skeleton/{module_name}.py:{node.name} : attendu un commentaire « # TODO » ; vu aucun"
            )


@pytest.mark.parametrize("how", ["path", "module"])
def test_skeleton_runs_as_a_script_and_stops_on_the_first_todo(
    module_name: str, how: str, tmp_path: Path
) -> None:
    skeleton = folder("skeleton")
    command = [str(skeleton / f"{module_name}.py")] if how == "path" else ["-m", f"skeleton.{module_name}"]
    done = subprocess.run(
        [sys.executable, *command],
        cwd=skeleton.parent if how == "module" else tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "NotImplementedError: TODO" in done.stderr, (
        "attendu un arrêt sur NotImplementedError (TODO) ; "
        f"code {done.returncode}, sortie : {done.stderr[-300:]}"
    )


TRICKY_URLS = [
    "https://example.org/a/../../etc/passwd",
    "https://example.org/..%2F..%2Fsecret.png",
    "https://example.org/dir/",
    "https://example.org",
    "https://example.org/C:%5CWindows%5Cimage.png",
    "https://example.org/.hidden",
    "https://example.org/image.png?size=large&x=../../y",
]


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_filename_from_url_stays_inside_the_folder(url: str, tmp_path: Path) -> None:
    name = module("solution", "sync_downloader").filename_from_url(url)
    assert name and "/" not in name and "\\" not in name and ".." not in name and not name.startswith("."), (
        f"nom sûr attendu pour {url}, vu {name!r}"
    )
    parent = (tmp_path / name).resolve().parent
    assert parent == tmp_path.resolve(), f"attendu un fichier dans {tmp_path} pour {url}, vu dans {parent}"


@given(st.text(min_size=0, max_size=60))
def test_filename_from_url_is_safe_for_any_path(path: str) -> None:
    name = module("solution", "async_downloader").filename_from_url(f"https://example.org/{path}")
    assert name and "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name, (
        f"nom sûr attendu pour le chemin {path!r}, vu {name!r}"
    )


def test_filename_from_url_is_unique_and_keeps_the_extension() -> None:
    filename_from_url = module("solution", "sync_downloader").filename_from_url
    urls = [
        "https://a.example.org/photos/1/full.jpg",
        "https://a.example.org/photos/2/full.jpg",
        "https://b.example.org/photos/1/full.jpg",
        "https://a.example.org/img/3.png?size=large",
        "https://a.example.org/img/3.png?size=small",
    ]
    names = [filename_from_url(url) for url in urls]
    assert len(set(names)) == len(urls), f"un nom par URL attendu, vu {names}"
    suffixes = [Path(name).suffix for name in names]
    assert suffixes == [".jpg", ".jpg", ".jpg", ".png", ".png"], (
        f"extensions conservées attendues, vues {suffixes}"
    )
