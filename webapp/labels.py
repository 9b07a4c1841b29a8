"""Well QR labels: one label as PNG, a station's labels as a print-ready A4 PDF, the hash the phone keeps of one."""
import hashlib
import io
import os
from functools import lru_cache
from pathlib import Path

import qrcode
from flask_babel import gettext
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_H

FONT_ENV = "JINGZHAN_CJK_FONT"
FONT_PACKAGE = "fonts-wqy-microhei"
# (path, face index): Noto's collections hold JP, KR, SC, TC, HK faces; SC draws 海 and 站 the mainland way.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

DPI = 300
PAGE_SIZE = (2480, 3508)  # A4 at 300 dpi
PAGE_MARGIN = 118  # 10 mm: inside every office printer's printable area
FOOTER_HEIGHT = 110
COLUMNS, ROWS = 3, 4
LABELS_PER_PAGE = COLUMNS * ROWS
# One cell of the 3×4 grid: about 63 × 67 mm, the size of a label.
LABEL_SIZE = (
    (PAGE_SIZE[0] - 2 * PAGE_MARGIN) // COLUMNS,
    (PAGE_SIZE[1] - 2 * PAGE_MARGIN - FOOTER_HEIGHT) // ROWS,
)
LABEL_PADDING = 30  # white all round, so a cut a few millimetres off never touches the code
QR_MAX_SIZE = 500  # about 42 mm: a phone reads it from an arm's length
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
CODE_FONT_SIZE = 120
STATION_FONT_SIZE = 56
FOOTER_FONT_SIZE = 42
CUT_DASH = 18  # px on, px off
CUT_WIDTH = 2


class LabelFontMissing(RuntimeError):
    """No CJK font is installed, so labels cannot show Chinese text."""


def find_cjk_font() -> tuple[str, int]:
    """Path and face index of a font with Chinese glyphs: $JINGZHAN_CJK_FONT, else the usual Debian packages."""
    configured = os.environ.get(FONT_ENV)
    if configured:
        if Path(configured).is_file():
            return configured, 0
        raise LabelFontMissing(gettext("环境变量 %(env)s 指定的字体文件不存在：%(path)s。", env=FONT_ENV, path=configured))
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise LabelFontMissing(gettext(
        "服务器上没有中文字体，无法生成标签。请管理员安装字体包 %(package)s"
        "（sudo apt-get install %(package)s），或用环境变量 %(env)s 指定字体文件。", package=FONT_PACKAGE, env=FONT_ENV
    ))


@lru_cache(maxsize=32)
def _load_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    # Opening a .ttc of 5–20 MB costs tens of milliseconds; a sheet needs it dozens of times.
    try:
        return ImageFont.truetype(path, size, index=index)
    except OSError as exc:
        raise LabelFontMissing(gettext(
            "字体文件无法读取：%(path)s。请安装字体包 %(package)s，或用环境变量 %(env)s 指定其他字体文件。",
            path=path, package=FONT_PACKAGE, env=FONT_ENV,
        )) from exc


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    return _load_font(*find_cjk_font(), size)


def fitting_font(text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The font at size, or smaller until text fits in width (long codes or station names)."""
    font = cjk_font(size)
    while size > 12 and font.getlength(text) > width:
        size = int(size * 0.9)
        font = cjk_font(size)
    return font


def fitted(text: str, size: int, width: int, smallest: int = 24) -> tuple[str, ImageFont.FreeTypeFont]:
    """(text, font) that fit in width: the font shrinks down to `smallest`, then the text is cut with "…"."""
    font = fitting_font(text, size, width)
    if font.size >= smallest and font.getlength(text) <= width:
        return text, font
    font = cjk_font(smallest)
    while len(text) > 1 and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…", font


LABEL_HASH_PREFIX = b"jingzhan-label:"


def label_hash(token: str) -> str:
    """What the phone's well directory holds of a label token (docs/evidence.md §4): enough to find the well a
    scanned label names, offline too, and useless to make a scan of a label never seen. sw.js and evidence.js compute
    the same."""
    return hashlib.sha256(LABEL_HASH_PREFIX + token.encode("utf-8")).hexdigest()[:32]


def label_url(base_url: str, token: str) -> str:
    """The URL a well's label encodes: <base>/w/<token>."""
    return f"{base_url.rstrip('/')}/w/{token}"


def qr_image(data: str, max_size: int = QR_MAX_SIZE) -> Image.Image:
    """A QR code at error correction H (a label stays readable when dirty or scratched), at most max_size px."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_H, box_size=1, border=QR_BORDER)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    modules = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (modules, modules), pixels)
    # Whole pixels per module keep every module the same size on paper.
    box = max(1, max_size // modules)
    return image.resize((modules * box, modules * box), Image.Resampling.NEAREST)


def draw_centered(draw: ImageDraw.ImageDraw, center_x: int, top: int, text: str, font) -> int:
    """Draw text centred on center_x with its top at top; return the y below it."""
    left, upper, right, lower = draw.textbbox((0, 0), text, font=font)
    draw.text((center_x - (left + right) / 2, top - upper), text, font=font, fill=0)
    return top + (lower - upper)


def _draw_label(page: Image.Image, origin: tuple[int, int], code: str, station_name: str, url: str) -> None:
    """Draw one label (QR, 井号, 站名) into the LABEL_SIZE box at origin of page."""
    x0, y0 = origin
    width, height = LABEL_SIZE
    inner = width - 2 * LABEL_PADDING
    qr = qr_image(url, min(QR_MAX_SIZE, inner))
    page.paste(qr, (x0 + (width - qr.width) // 2, y0 + LABEL_PADDING))
    draw = ImageDraw.Draw(page)
    center = x0 + width // 2
    # The QR's quiet zone already separates it from the text below.
    y = draw_centered(draw, center, y0 + LABEL_PADDING + qr.height, code, fitting_font(code, CODE_FONT_SIZE, inner))
    draw_centered(draw, center, y + 24, station_name, fitting_font(station_name, STATION_FONT_SIZE, inner))


def well_label_png(well, base_url: str) -> bytes:
    """One well's label as a 300-dpi PNG."""
    label = Image.new("L", LABEL_SIZE, 255)
    _draw_label(label, (0, 0), well.code, well.station.name, label_url(base_url, well.qr_token))
    out = io.BytesIO()
    label.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


@lru_cache(maxsize=1)
def _dash_strips() -> tuple[Image.Image, Image.Image]:
    """A horizontal and a vertical dashed line as long as the page, pasted in pieces (faster than drawing)."""
    length = max(PAGE_SIZE)
    horizontal = Image.new("L", (length, CUT_WIDTH), 255)
    draw = ImageDraw.Draw(horizontal)
    for x in range(0, length, 2 * CUT_DASH):
        draw.rectangle((x, 0, x + CUT_DASH - 1, CUT_WIDTH - 1), fill=0)
    return horizontal, horizontal.transpose(Image.Transpose.ROTATE_90)


def _cut_lines(page: Image.Image, count: int) -> None:
    """Thin dashed lines around the cells in use, to cut the labels apart along."""
    horizontal, vertical = _dash_strips()
    width, height = LABEL_SIZE
    for i in range(count):
        row, col = divmod(i, COLUMNS)
        x, y = PAGE_MARGIN + col * width, PAGE_MARGIN + row * height
        top = horizontal.crop((0, 0, width + CUT_WIDTH, CUT_WIDTH))
        side = vertical.crop((0, 0, CUT_WIDTH, height + CUT_WIDTH))
        page.paste(top, (x, y))
        page.paste(top, (x, y + height))
        page.paste(side, (x, y))
        page.paste(side, (x + width, y))


def station_label_pages(station, wells, base_url: str) -> list[Image.Image]:
    """A station's labels as black-and-white A4 pages at 300 dpi, 3 × 4 a page, footed with 站名 and 第 n/m 页."""
    draw_page, count = _label_sheet(station, wells, base_url)
    return [draw_page(number) for number in range(count)]


def _label_sheet(station, wells, base_url: str):
    """(draw_page(n) → the n-th page from 0, the number of pages) of a station's labels."""
    wells = list(wells)
    pages = [wells[i : i + LABELS_PER_PAGE] for i in range(0, len(wells), LABELS_PER_PAGE)]
    footer_font = cjk_font(FOOTER_FONT_SIZE)  # first, so a missing font fails before any drawing

    def draw_page(index: int) -> Image.Image:
        page_wells, number = pages[index], index + 1
        page = Image.new("L", PAGE_SIZE, 255)
        draw = ImageDraw.Draw(page)
        _cut_lines(page, len(page_wells))
        for i, well in enumerate(page_wells):
            row, col = divmod(i, COLUMNS)
            origin = (PAGE_MARGIN + col * LABEL_SIZE[0], PAGE_MARGIN + row * LABEL_SIZE[1])
            _draw_label(page, origin, well.code, station.name, label_url(base_url, well.qr_token))
        footer = gettext("%(station)s · 井口二维码标签 · 第 %(number)s/%(pages)s 页", station=station.name, number=number,
                         pages=len(pages))
        draw_centered(draw, PAGE_SIZE[0] // 2, PAGE_SIZE[1] - PAGE_MARGIN - FOOTER_FONT_SIZE, footer, footer_font)
        # Black and white: sharp module edges and a small file (CCITT G4 where Pillow has libtiff).
        return page.point(lambda v: 255 if v >= 128 else 0, mode="1")

    return draw_page, len(pages)


def station_labels_pdf(station, wells, base_url: str) -> bytes:
    """A station's labels as a print-ready A4 PDF (see station_label_pages); wells must not be empty. The pages are
    drawn one at a time as the PDF is written (LazyPages), not all held at once."""
    draw_page, count = _label_sheet(station, wells, base_url)
    if not count:
        raise ValueError(gettext("没有井，无法生成标签。"))
    out = io.BytesIO()
    LazyPages(count, draw_page).save(out, "PDF", save_all=True, resolution=float(DPI),
                                     title=gettext("%(station)s 井口二维码标签", station=station.name), author="井站通")
    return out.getvalue()


class LazyPages(Image.Image):
    """A document's pages as one multi-frame image that draws a page when Pillow's PDF writer moves to it (it
    walks a multi-frame image with seek): one page in memory at a time, not all of them. (A list of pages handed
    to Pillow as append_images is also kept alive by a reference cycle Pillow makes — each page's encoderinfo
    names the list — until the garbage collector happens to run.)"""

    def __init__(self, count: int, draw):
        super().__init__()
        self.n_frames, self._draw, self._frame = count, draw, -1
        self.seek(0)

    def seek(self, frame: int) -> None:
        if not 0 <= frame < self.n_frames:
            raise EOFError(frame)
        if frame != self._frame:
            self._im = None  # the page before is let go before the next is drawn
            page = self._draw(frame)
            self.im, self._mode, self._size = page.im, page.mode, page.size
            self._frame = frame

    def tell(self) -> int:
        return self._frame
