"""Printable 三亮 badges: one credit-card badge (85.6 × 54 mm at 300 dpi) as PNG, a branch's badges as an A4 PDF."""
import io

from flask_babel import gettext
from PIL import Image, ImageDraw, ImageOps

from .labels import DPI, PAGE_SIZE, LazyPages, cjk_font, draw_centered, fitted, fitting_font, qr_image

BADGE_SIZE = (1011, 638)  # 85.6 × 54 mm at 300 dpi
RED = (163, 20, 28)
HEADER = 96
PHOTO_BOX = (230, 300)
QR_SIZE = 300
SHEET_COLUMNS, SHEET_ROWS = 2, 5
SHEET_MARGIN = (PAGE_SIZE[0] - SHEET_COLUMNS * BADGE_SIZE[0]) // 2


def card_url(base_url: str, token: str) -> str:
    """What a card's QR holds: <base>/c/<token>."""
    return f"{base_url.rstrip('/')}/c/{token}"


def _photo(member, avatar: bytes | None) -> Image.Image:
    if avatar:
        with Image.open(io.BytesIO(avatar)) as image:
            return ImageOps.fit(image.convert("RGB"), PHOTO_BOX)
    # No photo yet: the surname on a grey field.
    placeholder = Image.new("RGB", PHOTO_BOX, (225, 225, 225))
    draw_centered(ImageDraw.Draw(placeholder), PHOTO_BOX[0] // 2, 90, member.name[:1], cjk_font(110))
    return placeholder


def badge_image(member, base_url: str, avatar: bytes | None, org_name: str, commitment: str = "",
                post: str = "") -> Image.Image:
    """One member's badge: photo (avatar: the card photo's bytes, or None), name, 党员, branch, the 亮身份 line,
    their 示范岗 if any, a one-line commitment, and the card QR."""
    badge = Image.new("RGB", BADGE_SIZE, "white")
    draw = ImageDraw.Draw(badge)
    draw.rectangle([0, 0, BADGE_SIZE[0], HEADER], fill=RED)
    title = gettext("三亮卡 · %(org)s", org=org_name)
    draw.text((36, 22), title, font=fitting_font(title, 48, BADGE_SIZE[0] - 72), fill="white")
    badge.paste(_photo(member, avatar), (36, HEADER + 36))
    x = 36 + PHOTO_BOX[0] + 30
    text_width = BADGE_SIZE[0] - x - QR_SIZE - 40
    y = HEADER + 30
    name_font = fitting_font(member.name, 84, text_width)
    draw.text((x, y), member.name, font=name_font, fill="black")
    y += 100
    if member.is_party_member:
        party = cjk_font(38)
        member_label = gettext("中共党员")
        width = int(party.getlength(member_label)) + 24
        draw.rounded_rectangle([x, y, x + width, y + 52], radius=8, outline=RED, width=4)
        draw.text((x + 12, y + 4), member_label, font=party, fill=RED)
        y += 70
    branch = member.station.branch_name if member.is_party_member else member.station.name
    identity = gettext("亮身份：%(post)s · %(station)s", post=member.post or gettext("员工"), station=member.station.name)
    for line in (branch, identity):
        draw.text((x, y), line, font=fitting_font(line, 36, text_width), fill="black")
        y += 52
    if post:
        line, font = fitted(gettext("示范岗：%(post)s", post=post), 36, text_width)
        draw.text((x, y), line, font=font, fill=RED)
    if commitment:
        line, font = fitted(gettext("亮承诺：%(commitment)s", commitment=commitment), 34, BADGE_SIZE[0] - QR_SIZE - 100)
        draw.text((36, BADGE_SIZE[1] - 70), line, font=font, fill=RED)
    qr = qr_image(card_url(base_url, member.card_token), QR_SIZE)
    badge.paste(qr.convert("RGB"), (BADGE_SIZE[0] - qr.width - 24, BADGE_SIZE[1] - qr.height - 24))
    return badge


def badge_png(member, base_url: str, avatar: bytes | None, org_name: str, commitment: str = "", post: str = "") -> bytes:
    out = io.BytesIO()
    badge_image(member, base_url, avatar, org_name, commitment, post).save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def badges_pdf(members_with_commitments, base_url: str, avatars: dict, org_name: str, posts: dict | None = None) -> bytes:
    """A branch's badges on A4 sheets, 2 × 5 a page, with thin cut lines; `avatars` maps an avatar uuid to the
    photo's bytes, `posts` a member id to their 示范岗. The pages are drawn one at a time as the PDF is written
    (LazyPages): a colour A4 page at 300 dpi is 26 MB, and a branch of 50 held them all (389 MB at its peak)."""
    per_page = SHEET_COLUMNS * SHEET_ROWS
    items = list(members_with_commitments)
    if not items:
        raise ValueError("no members")

    def draw_page(number: int) -> Image.Image:
        page = Image.new("RGB", PAGE_SIZE, "white")
        draw = ImageDraw.Draw(page)
        for n, (member, commitment) in enumerate(items[number * per_page:(number + 1) * per_page]):
            col, row = n % SHEET_COLUMNS, n // SHEET_COLUMNS
            x = SHEET_MARGIN + col * BADGE_SIZE[0]
            y = 150 + row * (BADGE_SIZE[1] + 20)
            page.paste(badge_image(member, base_url, avatars.get(member.avatar), org_name, commitment,
                                   (posts or {}).get(member.id, "")), (x, y))
            draw.rectangle([x, y, x + BADGE_SIZE[0], y + BADGE_SIZE[1]], outline=(160, 160, 160), width=2)
        return page

    out = io.BytesIO()
    LazyPages(-(-len(items) // per_page), draw_page).save(out, "PDF", resolution=DPI, save_all=True)
    return out.getvalue()
