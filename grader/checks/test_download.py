"""Download: every image fetched and saved, by main(), by download_and_save(), and as a script."""

from __future__ import annotations

from pathlib import Path

from grader.checks.expectations import expect_saved, fail_on_todo
from grader.checks.marks import for_both_parts, observed_outside
from grader.engine.observations import PartView, shown_name, shown_value
from grader.engine.outcomes import Broken, expect
from grader.engine.plans import Scenario


@for_both_parts("download", weight=2, reads=(Scenario.MAIN,))
def test_main_saves_every_image_in_its_own_file(view: PartView) -> None:
    """main() enregistre chaque image dans son propre fichier du dossier de sortie"""
    scenario = view.scenario(Scenario.MAIN)
    expect_saved(scenario, "main()")
    scenario.require_completed()


@for_both_parts("download", reads=(Scenario.DOWNLOAD_ONE,))
def test_download_and_save_writes_one_image_and_returns_its_path(view: PartView) -> None:
    """download_and_save() écrit une image et renvoie le chemin du fichier"""
    scenario = view.scenario(Scenario.DOWNLOAD_ONE)
    scenario.require_completed("download_and_save()")
    returned = scenario.returned()
    expect(
        returned.get("type") == "Path",
        f"download_and_save a renvoyé {shown_value(returned)}.",
        "Le contrat demande un objet Path (pathlib) : renvoyez le chemin lui-même (output_dir / nom), "
        "sans le convertir en texte."
        if returned.get("type") == "str"
        else "La fonction doit renvoyer le chemin (Path) du fichier qu'elle vient d'écrire.",
    )
    image = scenario.images[0]
    name = Path(returned["path"]).name
    written = {path.rsplit("/", 1)[-1]: body for path, body in scenario.files().items()}
    expect(
        written.get(name) == image.body,
        f"Le fichier renvoyé ({shown_name(name)}) n'est pas l'image téléchargée dans le dossier de sortie.",
        "Le fichier doit être dans output_dir et contenir exactement les octets reçus.",
    )


@for_both_parts("download", reads=(Scenario.SCRIPT,))
@observed_outside
def test_script_saves_the_images_of_a_real_server(view: PartView) -> None:
    """Lancé comme script, le programme enregistre les images d'un vrai serveur local"""
    scenario = view.scenario(Scenario.SCRIPT)
    expected = view.server(Scenario.SCRIPT).expected
    written = list(scenario.run.files.values())
    found = [body for body in expected if body in written]
    if len(found) < len(expected):
        fail_on_todo(scenario)
        crash = scenario.crash_text(f"{view.file_name}, lancé comme script,")
        if crash:
            raise Broken(crash)
    expect(
        len(found) == len(expected),
        f"{len(found)} image(s) sur {len(expected)} enregistrée(s) par le "
        f"script ({len(written)} fichier(s) écrit(s)).",
        f"Lancez votre script à la main (poetry run python …/{view.file_name}) : le dossier OUTPUT_DIR "
        "contient-il toutes les images ?",
    )
