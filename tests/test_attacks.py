"""The grader against the attack catalogue: every attack is graded and must stay contained.

Each attack (tests/attacks/NAME.toml) is graded once, in a fresh network namespace, two at a
time (see tests/attack_harness.py for the work folders and every check). An attack is
contained when its mark stays within its declared bounds, results.json is the grader's own
(a regular file, complete, unchanged 3 s after the grader's exit), nothing is written outside
its folder (kit, site-packages, neighbours), a network attempt is reported, the launcher of
the grader is untouched, no process outlives the grader and the grade ends in time.

One attack: ``pytest tests/test_attacks.py -k NAME`` or ``python -m tests.attack_harness NAME``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.sandbox import remove_tree
from tests.attack_harness import ATTACK_BATCH, AttackBatch, report, run_attacks, unshare_problem
from tests.catalogue import ATTACKS_DIR, Attack, CatalogueError, build_attack, load_attacks

ATTACKS, ATTACK_ERRORS = load_attacks()
BY_NAME = {attack.name: attack for attack in ATTACKS}

# The harness's own control, graded with every batch: the untouched solution must be contained
# (20/20 and no violation), or the harness itself is wrong.
CONTROL = Attack(
    name="temoin_solution",
    description="Témoin du harnais : la solution, sans attaque.",
    base="solution",
    files=(),
    edits=(),
    max_score=20.0,
    min_score=20.0,
    network=False,
    max_seconds=20.0,
    canaries=(),
    exclusive=False,
    symlinks=(),
    refusal=None,
    source=ATTACKS_DIR,
)

# Each family the catalogue must cover (the prefix of the attack's name).
FAMILIES = {
    "patch": "modules du correcteur modifiés à l'import",
    "gc": "résultats réécrits via gc.get_objects()",
    "faussaire": "results.json réécrit après la fin du correcteur",
    "exit": "os._exit après un faux bulletin",
    "signal": "signaux envoyés au processus parent",
    "sigalrm": "minuteur SIGALRM désarmé",
    "interruption": "KeyboardInterrupt et boucles qui avalent BaseException",
    "deluge": "sortie inondée",
    "memoire": "mémoire épuisée",
    "recursion": "récursion jusqu'au segfault",
    "input": "pause input() en fin de main",
    "solution": "import ou liens vers la solution du kit",
    "ecriture": "écriture dans le kit, l'environnement ou les dossiers voisins",
    "resultats": "pièges sur le chemin de results.json",
    "reseau": "contournements du blocage réseau",
    "bouchon": "bouchons qui ne font rien",
    "evasion": "sorties du bac à sable : dir_fd, fork_exec, garde d'audit muselée, appels système par ctypes",
    "lecture": "images lues dans le plan de l'ouvrier au lieu d'être téléchargées",
    "copie": "rendu d'un camarade cherché par /proc ou les dossiers voisins",
    "orphelin": "processus ou thread qui survit à la correction (double fork, setsid)",
    "essaim": "enfants et threads qui épuisent la mémoire",
    "liens": "liens physiques en nombre vers un gros fichier",
    "arbre": "arborescence très profonde dans le dossier de travail",
    "plan": "liens symboliques aux noms des fichiers du correcteur, ouvrier relancé",
    "fifo": "tube nommé à la place du fichier des piles d'appels",
    "piles": "piles d'appels falsifiées dans le fichier que relit le superviseur",
}


def _selected(items: list[pytest.Item]) -> list[Attack]:
    """The attacks whose test was selected; all of them if the kit's test is (and no attack's)."""
    names = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("attack"), str):
            names.append(callspec.params["attack"])
    if names:
        return [BY_NAME[name] for name in dict.fromkeys(names)]
    return (
        list(ATTACKS)
        if any(item.name == test_kit_is_unchanged_by_the_attacks.__name__ for item in items)
        else []
    )


@pytest.fixture(scope="module")
def attack_batch(request: pytest.FixtureRequest) -> AttackBatch:
    """Grades the selected attacks once, two at a time, each in its own network namespace."""
    problem = unshare_problem()
    if problem:
        pytest.skip(f"Attaques non lancées : {problem} (il faut un espace de noms réseau vide).")
    batch = run_attacks([*_selected(request.session.items), CONTROL])
    request.config.stash[ATTACK_BATCH] = batch
    remove_tree(batch.root)
    return batch


# --- the catalogue itself ------------------------------------------------------------------


def test_attack_catalogue_is_well_formed() -> None:
    problems = "\n".join(ATTACK_ERRORS)
    assert not ATTACK_ERRORS, f"Attendu : des attaques bien formées ; erreurs :\n{problems}"


def test_attack_catalogue_covers_every_family() -> None:
    seen = {attack.family for attack in ATTACKS}
    missing = {family: what for family, what in FAMILIES.items() if family not in seen}
    unknown = sorted(seen - set(FAMILIES))
    assert not missing and not unknown, (
        f"Attendu : au moins une attaque par famille, chaque nom préfixé par sa famille ; "
        f"familles sans attaque : {missing or 'aucune'} ; préfixes inconnus : {unknown or 'aucun'}."
    )


def test_every_attack_builds_and_compiles(tmp_path: Path) -> None:
    failures = []
    for attack in ATTACKS:
        try:
            folder = build_attack(attack, tmp_path / attack.name)
            for path in sorted(folder.glob("*_downloader.py")):
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except (CatalogueError, OSError, SyntaxError) as error:
            failures.append(f"{attack.name} : {type(error).__name__} : {error}")
    assert not failures, "Attendu : chaque attaque se construit et compile ; vu :\n" + "\n".join(failures)


# --- the attacks ---------------------------------------------------------------------------


def test_harness_accepts_the_untouched_solution(attack_batch: AttackBatch) -> None:
    run = attack_batch.runs[CONTROL.name]
    if run.violations:
        pytest.fail(
            f"Attendu : la solution intacte, contenue (sinon le harnais se trompe) ; vu :\n{report(run)}\n"
            f"--- fin de la sortie du correcteur ---\n{run.console[-3000:]}",
            pytrace=False,
        )


@pytest.mark.parametrize("attack", [attack.name for attack in ATTACKS])
def test_attack_is_contained(attack: str, attack_batch: AttackBatch) -> None:
    run = attack_batch.runs[attack]
    if run.violations:
        pytest.fail(
            f"{report(run)}\n--- fin de la sortie du correcteur ---\n{run.console[-3000:]}", pytrace=False
        )


def test_kit_is_unchanged_by_the_attacks(attack_batch: AttackBatch) -> None:
    if attack_batch.kit_changes or attack_batch.repaired:
        pytest.fail(
            "Attendu : le kit (hors .git, __pycache__ compris) et les .pth de l'environnement identiques "
            f"après les attaques ; vu : {attack_batch.kit_changes or 'rien d’autre'} ; "
            f"réparé par le test : {attack_batch.repaired or 'rien'}.",
            pytrace=False,
        )
