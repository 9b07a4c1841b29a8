"""The user guide's screenshots (scripts/screenshots.py, `make screenshots`): the script runs and writes real images,
and the guides show only shots the script takes — the zh guide every one of them."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshots.py"
GUIDES = {"zh": ROOT / "docs" / "guide.zh.md", "en": ROOT / "docs" / "guide.en.md"}
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")  # every image a guide shows
# ... must be one of the script's, in the guide's language (the English shots are in img/en/).
SHOTS_OF = {"zh": re.compile(r"guide/img/([A-Za-z0-9_-]+)\.png"), "en": re.compile(r"guide/img/en/([A-Za-z0-9_-]+)\.png")}
SMOKE = {"zh": ["worker-home", "leader-dashboard", "admin-labels"],  # a phone shot and two desktop ones
         "en": ["worker-patrol-saved"]}  # the English pages, found by their English texts


def load_script():
    """scripts/screenshots.py as a module (not run): its table of shots."""
    if "guide_screenshots" not in sys.modules:
        spec = importlib.util.spec_from_file_location("guide_screenshots", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
    return sys.modules["guide_screenshots"]


def images(guide: Path) -> list[str]:
    return IMAGE.findall(guide.read_text(encoding="utf-8"))


def referenced(language: str) -> list[str]:
    return [match.group(1) for match in map(SHOTS_OF[language].fullmatch, images(GUIDES[language])) if match]


def test_guides_show_only_shots_the_script_takes_and_the_zh_guide_all_of_them():
    shots = load_script().SHOTS
    names = [shot.name for shot in shots]
    assert len(names) == len(set(names)), "a shot name is used twice in SHOTS"
    for language in GUIDES:
        used = referenced(language)
        assert used, f"docs/guide.{language}.md shows no screenshots"
        missing = sorted(set(used) - set(names))
        assert not missing, f"docs/guide.{language}.md shows images the script does not take: {missing}"
        folder = load_script().output_folder(language)
        absent = [name for name in used if not (folder / f"{name}.png").exists()]
        assert not absent, f"docs/guide.{language}.md shows shots not taken yet (make screenshots): {absent}"
    unused = [name for name in names if name not in referenced("zh")]
    assert not unused, f"shots the zh guide does not use: {unused}"
    for language, guide in GUIDES.items():  # an image from elsewhere would not be regenerated
        stray = [link for link in images(guide) if not SHOTS_OF[language].fullmatch(link)]
        assert not stray, f"docs/guide.{language}.md shows images the script does not make in its language: {stray}"


@pytest.mark.parametrize("language", sorted(SMOKE))
def test_script_takes_real_screenshots(tmp_path, language):
    shots = {shot.name: shot for shot in load_script().SHOTS}
    smoke = SMOKE[language]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--language", language, "--out", str(tmp_path), "--only", ",".join(smoke),
         "--timeout", "150"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-3000:]}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in smoke)
    for name in smoke:
        path = tmp_path / f"{name}.png"
        assert path.stat().st_size < 100_000, f"{name}.png is {path.stat().st_size} bytes"
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == shots[name].size, (name, image.size)
            grey = image.convert("L")
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 8, f"{name}.png has only {len(colours)} colours"
            assert ImageStat.Stat(grey).stddev[0] > 10, f"{name}.png looks blank"
            # Text on the page: many dark pixels, not just a coloured bar.
            dark = sum(count for value, count in enumerate(grey.histogram()) if value < 100)
            assert dark > 0.005 * image.width * image.height, f"{name}.png shows almost no text"
