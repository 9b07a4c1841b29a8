"""The app's icons, drawn with Pillow from the shapes below (no binary files of unknown origin): a white pumping
unit (游梁式抽油机) on the app's red. Drawn once per process on first use and served as PNG."""
import io
from functools import lru_cache

from PIL import Image, ImageDraw

RED = (163, 20, 28)  # --brand, the theme colour of the manifest
WHITE = (255, 255, 255)

# name → (size in px, maskable). A maskable icon keeps its drawing inside the middle 80 % (the safe zone the
# launcher may crop to a circle) and fills the whole square; the others are a rounded square on transparency.
ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "maskable-512.png": (512, True),
    "apple-touch-icon.png": (180, True),  # iOS rounds the corners itself and shows no transparency
    "favicon-32.png": (32, False),
}


def _pumping_unit(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """The drawing on a 100 × 100 grid, scaled to `scale` of the icon and centred."""
    offset = size * (1 - scale) / 2

    def p(x, y):
        return (offset + x * size * scale / 100, offset + y * size * scale / 100)

    width = max(1, round(size * scale * 0.065))
    draw.line([p(8, 86), p(92, 86)], fill=WHITE, width=width)  # the ground
    draw.polygon([p(40, 86), p(50, 38), p(60, 86)], outline=WHITE, width=width)  # the samson post
    draw.line([p(14, 30), p(78, 46)], fill=WHITE, width=round(width * 1.3))  # the walking beam
    draw.pieslice([p(4, 18), p(26, 48)], start=90, end=270, fill=WHITE)  # the horse head
    draw.line([p(12, 46), p(12, 86)], fill=WHITE, width=max(1, width // 2))  # the polished rod, down the well
    draw.rectangle([p(6, 78), p(18, 86)], fill=WHITE)  # the wellhead
    draw.ellipse([p(70, 58), p(90, 78)], outline=WHITE, width=width)  # the crank and counterweight
    draw.line([p(78, 46), p(80, 68)], fill=WHITE, width=max(1, width // 2))  # the pitman arm


@lru_cache(maxsize=None)
def icon_png(name: str) -> bytes:
    size, maskable = ICONS[name]
    if maskable:
        image = Image.new("RGB", (size, size), RED)
        _pumping_unit(ImageDraw.Draw(image), size, 0.62)
    else:
        # Drawn at 4× and reduced: smooth edges at every size.
        big = size * 4
        image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big // 5, fill=RED)
        _pumping_unit(draw, big, 0.78)
        image = image.resize((size, size), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
