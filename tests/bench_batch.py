"""Times batch grading: a generated class of 100 submissions (solution copies, variants and
mutants of the catalogue), graded in parallel, against grading them one after the other.

The sequential figure is measured on a sample (same mix) and extrapolated to the whole
class: grading 100 submissions one by one would take longer than the measurement itself.
Then the look-alike search is timed alone on a larger class (300 by default): reading every
submission and comparing each part with every classmate's, as grade_all does after grading.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from grader.batch import similarity_report
from grader.batch.discovery import find_submissions
from grader.batch.run import SKELETON_DIR, look_alike, run_batch
from grader.batch.similarity_report import DEFAULT_THRESHOLD
from grader.engine.french_numbers import fr_number
from tests.catalogue import CATALOGUE, SOLUTION_DIR, build_mutant, build_variant

TARGET_SECONDS = 180.0
SIMILARITY_TARGET_COUNT, SIMILARITY_TARGET_SECONDS = 300, 30.0  # on 2 cores
FIRST_NAMES = ("Léa", "Hugo", "Chloé", "Nathan", "Inès", "Lucas", "Zoé", "Adam", "Manon", "Théo")
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
)


def build_class(
    destination: Path, count: int, hanging: int = 1
) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Moodle-shaped folders: 40 % solution copies, 20 % variants, 40 % mutants (``hanging`` loop forever)."""
    working = [m for m in CATALOGUE.mutants if m.broken != "boucle infinie"]
    looping = [m for m in CATALOGUE.mutants if m.broken == "boucle infinie"]
    kinds: dict[str, str] = {}  # folder name → kind
    lost: dict[str, frozenset[str]] = {}  # folder name → the criteria the catalogue says it loses
    for index in range(count):
        name = f"{LAST_NAMES[index % 10]} {FIRST_NAMES[index // 10 % 10]}{index // 100 or ''}"
        folder = destination / f"{name}_{20000 + index}_assignsubmission_file_"
        share = index % 5
        if index < hanging and looping:
            build_mutant(looping[index % len(looping)], folder)
            lost[folder.name] = looping[index % len(looping)].loses
            kinds[folder.name] = "mutant qui boucle"
        elif share in (0, 1):
            shutil.copytree(SOLUTION_DIR, folder, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
            kinds[folder.name] = "solution"
        elif share == 2:
            build_variant(CATALOGUE.variants[index % len(CATALOGUE.variants)], folder)
            kinds[folder.name] = "variante"
        else:
            build_mutant(working[index % len(working)], folder)
            lost[folder.name] = working[index % len(working)].loses
            kinds[folder.name] = "mutant"
    return kinds, lost


def _counts(kinds: dict[str, str]) -> str:
    values = list(kinds.values())
    return ", ".join(f"{values.count(kind)} {kind}" for kind in dict.fromkeys(values))


def main() -> None:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description="Vitesse de la correction d'une promotion (grader.batch).")
    parser.add_argument("--count", type=int, default=100, help="nombre de rendus générés (défaut : 100)")
    parser.add_argument("--sample", type=int, default=10, help="rendus corrigés un par un (défaut : 10)")
    parser.add_argument(
        "--jobs", type=int, default=cores, help=f"corrections en parallèle (défaut : {cores})"
    )
    parser.add_argument("--hanging", type=int, default=1, help="rendus qui bouclent sans fin (défaut : 1)")
    parser.add_argument(
        "--similarite", type=int, default=300, help="rendus comparés entre eux (défaut : 300 ; 0 : aucun)"
    )
    parser.add_argument(
        "--similarite-seule", action="store_true", help="ne mesurer que la recherche de rendus très proches"
    )
    args = parser.parse_args()
    if not args.similarite_seule:
        _bench_grading(args)
    if args.similarite:
        _bench_similarity(args.similarite)


def _bench_similarity(count: int) -> None:
    """Times what grade_all adds for look-alike submissions: read the class, compare each part.

    Each file gets a line of its own, as real submissions differ: identical files would be
    fingerprinted once, and the measure would flatter the search.
    """
    with tempfile.TemporaryDirectory(prefix="bench-similarite-") as scratch:
        class_dir = Path(scratch) / "promo"
        kinds, _ = build_class(class_dir, count, hanging=0)
        for number, path in enumerate(sorted(class_dir.rglob("*.py"))):
            path.write_text(path.read_text(encoding="utf-8") + f"\n# rendu {number}\n", encoding="utf-8")
        start, processor = time.perf_counter(), time.process_time()
        submissions = find_submissions(class_dir)
        read = time.perf_counter() - start
        pairs = look_alike(submissions, SKELETON_DIR, DEFAULT_THRESHOLD)
        total, processor = time.perf_counter() - start, time.process_time() - processor
    if pairs is None:
        print(similarity_report.UNAVAILABLE)
        return
    verdict = "atteint" if total <= SIMILARITY_TARGET_SECONDS else "pas atteint"
    if count < SIMILARITY_TARGET_COUNT:
        verdict = f"non jugé ici, il vaut pour {SIMILARITY_TARGET_COUNT} rendus"
    print(
        f"Rendus très proches sur {count} rendus tous différents ({_counts(kinds)}) : "
        f"{fr_number(total, 1, trim=True)} s (lecture {fr_number(read, 1, trim=True)} s, comparaison "
        f"de chaque partie {fr_number(total - read, 1, trim=True)} s ; temps processeur "
        f"{fr_number(processor, 1, trim=True)} s, la durée dépend de la charge de la machine). "
        f"{len(pairs)} paires au-dessus de {fr_number(DEFAULT_THRESHOLD * 100, trim=True)} % : les "
        "copies de la solution, ses variantes et ses mutants se ressemblent toutes. "
        f"Objectif : {SIMILARITY_TARGET_COUNT} rendus en {fr_number(SIMILARITY_TARGET_SECONDS, trim=True)} s "
        f"au plus sur 2 cœurs : {verdict}."
    )


def _bench_grading(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        root = Path(scratch)
        class_dir = root / "promo"
        kinds, expected_lost = build_class(class_dir, args.count, args.hanging)
        print(f"Promotion générée : {args.count} rendus ({_counts(kinds)}).")

        start = time.perf_counter()
        summary = run_batch(class_dir, root / "notes", jobs=args.jobs, force=True)
        parallel = time.perf_counter() - start
        per_minute = args.count / parallel * 60
        print(
            f"En parallèle ({args.jobs} à la fois) : {fr_number(parallel, 1, trim=True)} s, "
            f"soit {fr_number(per_minute, 1, trim=True)} rendus par minute."
        )

        sample_dir = root / "echantillon"
        sample_dir.mkdir()
        looping = {name for name, kind in kinds.items() if kind == "mutant qui boucle"}
        folders = sorted(p for p in class_dir.iterdir() if p.name not in looping)  # timed apart
        for folder in random.Random(10).sample(folders, min(args.sample, len(folders))):
            shutil.copytree(folder, sample_dir / folder.name)
        start = time.perf_counter()
        run_batch(sample_dir, root / "notes-echantillon", jobs=1, force=True)
        sample_time = time.perf_counter() - start
        mean = sample_time / args.sample
        hanging_time = sum(o.elapsed for o in summary.outcomes if o.folder in looping)
        sequential = mean * (args.count - len(looping)) + hanging_time
        print(
            f"Un par un (mesuré sur {args.sample} rendus, {fr_number(mean, 2, trim=True)} s chacun, "
            "extrapolé à "
            f"{args.count}, plus {fr_number(hanging_time, 1, trim=True)} s pour le rendu qui boucle) : "
            f"environ {fr_number(sequential, 0, trim=True)} s."
        )
        print(
            f"Accélération : ×{fr_number(sequential / parallel, 2, trim=True)} "
            "par rapport à la correction un par un."
        )
        verdict = "atteint" if parallel <= TARGET_SECONDS else "pas atteint"
        print(f"Objectif : {args.count} rendus en {TARGET_SECONDS:g} s au plus : {verdict}.")
        statuses = {
            s: sum(o.statut == s for o in summary.outcomes) for s in {o.statut for o in summary.outcomes}
        }
        wrong = []
        for outcome in summary.outcomes:
            seen = {t.number for t in outcome.report.tests if not t.passed}
            expected = expected_lost.get(outcome.folder, frozenset())
            if seen != expected:
                where = f"{outcome.folder} ({kinds[outcome.folder]})"
                wrong.append(f"{where} : attendu {sorted(expected)}, vu {sorted(seen)}")
        print(f"Notes conformes au catalogue : {args.count - len(wrong)}/{args.count}")
        for line in wrong:
            print(f"  écart : {line}")
        print("Statuts : " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))


if __name__ == "__main__":
    main()
