"""三亮 cards and commitments (承诺): what a card shows, the commitment lifecycle, progress and pairings."""
import json
from datetime import date

from flask_babel import gettext, lazy_gettext as _l
from peewee import fn

from models import Commitment, CommitmentProgress, Pairing, Station, User, Well, WellContract, db, utcnow

from .access import MAX_ID
from .patrols import Context, RecordError, _number, _text
from .photos import check_photos, photo_list

# Shown on the public card only when the member opted in; everything else there is public by design.
OPTIONAL_PUBLIC = {"photo": _l("照片"), "joined": _l("入党年份"), "phone": _l("手机号")}
MAX_CONTENT = 500
MAX_TARGET = 120
MAX_COMMENT = 300


class PartyError(Exception):
    """A request the rules refuse; the message is for people, in Chinese."""


def periods(today: date) -> list[str]:
    """The periods a member may commit to now: this year, its quarters from the current one, and next year."""
    quarter = (today.month - 1) // 3 + 1
    return [str(today.year)] + [f"{today.year}Q{q}" for q in range(quarter, 5)] + [str(today.year + 1)]


def period_label(period: str) -> str:
    if "Q" in period:
        return gettext("%(year)s年第%(quarter)s季度", year=period[:4], quarter=period[5])
    return gettext("%(year)s年度", year=period)


def secretary_of(user, station_id) -> bool:
    return user.has_role("secretary") and user.station_id == station_id


def manages_branch(user, station_id) -> bool:
    """The branch's secretary, or an admin (the 党总支 level; the caller has checked the work area)."""
    return secretary_of(user, station_id) or user.has_role("admin")


def may_review(user, commitment) -> bool:
    """The branch's secretary, or the 党总支 level (an admin of the work area) — never the member themself."""
    if commitment.member_id == user.id:
        return False
    return manages_branch(user, commitment.station_id)


def progress_totals(commitment_ids) -> dict:
    """Per commitment: (number of progress records, sum of quantities)."""
    if not commitment_ids:
        return {}
    rows = (
        CommitmentProgress.select(CommitmentProgress.commitment, fn.COUNT(CommitmentProgress.id).alias("n"),
                                  fn.SUM(CommitmentProgress.quantity).alias("total"))
        .where(CommitmentProgress.commitment.in_(commitment_ids))
        .group_by(CommitmentProgress.commitment)
    )
    return {r.commitment_id: (r.n, r.total or 0) for r in rows}


def commitment_lines(member_ids) -> dict:
    """Per member, the target of their first approved commitment (the one-line 亮承诺 on a badge), in one query."""
    lines = {}
    for commitment in (Commitment.select(Commitment.member, Commitment.target)
                       .where(Commitment.member.in_(member_ids) & (Commitment.status == "approved"))
                       .order_by(Commitment.period.desc(), Commitment.id)):
        lines.setdefault(commitment.member_id, commitment.target)
    return lines


def card(member: User) -> dict:
    """Everything a member's full card shows; the public card takes a subset (public_card)."""
    commitments = list(
        Commitment.select().where((Commitment.member == member) & (Commitment.status == "approved"))
        .order_by(Commitment.period.desc(), Commitment.id)
    )
    totals = progress_totals([c.id for c in commitments])
    wells = list(Well.select().where(Well.contractor == member).order_by(Well.code))
    pairings = list(
        Pairing.select(Pairing, User).join(User, on=Pairing.partner)
        .where((Pairing.member == member) & Pairing.end_date.is_null()).order_by(Pairing.kind, User.employee_no)
    )
    return {
        "member": member,
        "station": member.station,
        "commitments": [(c, *totals.get(c.id, (0, 0))) for c in commitments],
        "wells": wells,
        "colleagues": [p.partner for p in pairings if p.kind == "colleague"],
        "contacts": [p.partner for p in pairings if p.kind == "contact"],
    }


def public_card(member: User) -> dict:
    """The card as anyone scanning its QR sees it: no private field unless the member opted in."""
    data = card(member)
    shown = member.public_fields
    data["show"] = {field: field in shown for field in OPTIONAL_PUBLIC}
    return data


def _clean_commitment(form: dict, today: date) -> dict:
    period = form.get("period", "")
    if period not in periods(today):
        raise PartyError(gettext("请选择承诺期（本年度、本年内的季度或下一年度）。"))
    category = form.get("category", "")
    if category not in Commitment.CATEGORIES:
        raise PartyError(gettext("请选择承诺类别。"))
    content = (form.get("content") or "").strip()
    target = (form.get("target") or "").strip()
    if not content:
        raise PartyError(gettext("请写明承诺内容。"))
    if len(content) > MAX_CONTENT:
        raise PartyError(gettext("承诺内容不能超过 %(max)s 字。", max=MAX_CONTENT))
    if not target:
        raise PartyError(gettext("请写明可衡量的目标，例如“全年无违章”“完成 40 学时”。"))
    if len(target) > MAX_TARGET:
        raise PartyError(gettext("目标不能超过 %(max)s 字。", max=MAX_TARGET))
    quantity = form.get("target_quantity")
    if quantity not in (None, ""):
        try:
            quantity = float(quantity)
        except ValueError:
            raise PartyError(gettext("目标数量应为数字。")) from None
        if not 0 < quantity <= 1_000_000:
            raise PartyError(gettext("目标数量应大于 0。"))
    else:
        quantity = None
    unit = (form.get("unit") or "").strip()[:10]
    return {"period": period, "category": category, "content": content, "target": target,
            "target_quantity": quantity, "unit": unit}


def draft_commitment(member: User, form: dict, today: date) -> Commitment:
    """A new commitment in draft; only party members commit."""
    if not member.is_party_member:
        raise PartyError(gettext("只有党员可以作出承诺。"))
    fields = _clean_commitment(form, today)
    return Commitment.create(member=member, station=member.station_id, **fields)


def submit_commitment(member: User, commitment: Commitment) -> None:
    if commitment.member_id != member.id:
        raise PartyError(gettext("只能提交自己的承诺。"))
    if commitment.status not in ("draft", "returned"):
        raise PartyError(gettext("这条承诺已提交。"))
    commitment.status = "submitted"
    commitment.save(only=[Commitment.status])


def review_commitment(secretary: User, commitment: Commitment, approve: bool, comment: str) -> None:
    """The branch secretary approves (it becomes a public commitment) or returns it with a comment."""
    if commitment.member_id == secretary.id:
        raise PartyError(gettext("不能审核自己的承诺，请由党总支审核。"))
    if not may_review(secretary, commitment):
        raise PartyError(gettext("只能审核本支部党员的承诺。"))
    if commitment.status != "submitted":
        raise PartyError(gettext("这条承诺不在待审核状态。"))
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise PartyError(gettext("意见不能超过 %(max)s 字。", max=MAX_COMMENT))
    if not approve and not comment:
        raise PartyError(gettext("退回时请写明修改意见。"))
    commitment.status = "approved" if approve else "returned"
    commitment.reviewer = secretary.id
    commitment.review_comment = comment
    commitment.reviewed_at = utcnow()
    commitment.save()


def rating_opens(period: str) -> date:
    """The first day a commitment of the period may be rated: the first day of its last month (年终评诺 is held in
    December; a quarter's in its third month). Never before: a promise is not judged before it could be kept."""
    year = int(period[:4])
    month = int(period[5]) * 3 if "Q" in period else 12
    return date(year, month, 1)


def rate_commitment(secretary: User, commitment: Commitment, rating: str, today: date) -> None:
    """评诺 at the end of the period, by the branch."""
    if today < rating_opens(commitment.period):
        raise PartyError(gettext("%(period)s的承诺从 %(date)s 起才能评诺。", period=period_label(commitment.period),
                                 date=rating_opens(commitment.period).isoformat()))
    if commitment.member_id == secretary.id:
        raise PartyError(gettext("不能评定自己的承诺。"))
    if not may_review(secretary, commitment):
        raise PartyError(gettext("只能评定本支部党员的承诺。"))
    if commitment.status != "approved":
        raise PartyError(gettext("只有已公开的承诺可以评定。"))
    if rating not in Commitment.RATINGS:
        raise PartyError(gettext("请选择评定等次。"))
    commitment.rating, commitment.rated_by, commitment.rated_at = rating, secretary.id, utcnow()
    commitment.save()


def create_commitment_progress(ctx: Context, data: dict) -> CommitmentProgress:
    """Handler of the `commitment_progress` record type (践诺记录, offline too)."""
    commitment_id = data.get("commitment_id")
    commitment = (Commitment.get_or_none(Commitment.id == commitment_id)
                  if isinstance(commitment_id, int) and not isinstance(commitment_id, bool) and abs(commitment_id) <= MAX_ID
                  else None)
    if commitment is None or commitment.member_id != ctx.user.id:
        raise RecordError("unknown_commitment", gettext("找不到您的这条承诺。"), "commitment_id")
    if commitment.status != "approved":
        raise RecordError("not_approved", gettext("承诺经支部审核公开后才能记录践诺。"), "commitment_id")
    text = _text(data.get("text"), gettext("践诺内容"), MAX_CONTENT, "text")
    if not text:
        raise RecordError("missing_text", gettext("请写明做了什么。"), "text")
    quantity = data.get("quantity")
    quantity = None if quantity in (None, "") else _number(quantity, gettext("数量"), 0, 1_000_000, "quantity")
    photos = photo_list(data.get("photos"), "photos", 9)
    check_photos(ctx.user, photos)
    return CommitmentProgress.create(uuid=ctx.uuid, commitment=commitment, author=ctx.user.id, device_time=ctx.device_time,
                                     received_at=ctx.received_at, text=text, quantity=quantity, photos=json.dumps(photos))


def assign_contract(secretary: User, well: Well, member: User | None, today: date) -> None:
    """Contract a well to a member (or to nobody); the previous contract is closed with today's date."""
    if not secretary_of(secretary, well.station_id) and not secretary.has_role("admin"):
        raise PartyError(gettext("只能调整本支部的承包井。"))
    if member is not None and (member.station_id != well.station_id or not member.is_party_member):
        raise PartyError(gettext("承包井须由本站党员承包。"))
    if well.contractor_id == (member.id if member else None):
        return
    with db.atomic():
        WellContract.update(end_date=today).where((WellContract.well == well) & WellContract.end_date.is_null()).execute()
        if member is not None:
            WellContract.create(well=well, member=member, start_date=today, assigned_by=secretary.id)
        well.contractor = member
        well.save(only=[Well.contractor])


def set_pairing(secretary: User, member: User, partner: User, kind: str, active: bool, today: date) -> None:
    """Start or end a pairing; ended pairings stay with their dates."""
    if kind not in Pairing.KINDS:
        raise PartyError(gettext("未知的结对类型。"))
    if not secretary_of(secretary, member.station_id) and not secretary.has_role("admin"):
        raise PartyError(gettext("只能调整本支部党员的联系点和联系人。"))
    if member.id == partner.id:
        raise PartyError(gettext("不能与自己结对。"))
    if partner.work_area_id != member.work_area_id:
        raise PartyError(gettext("结对同事须在本作业区。"))
    current = Pairing.get_or_none((Pairing.member == member) & (Pairing.partner == partner) & (Pairing.kind == kind)
                                  & Pairing.end_date.is_null())
    if active and current is None:
        Pairing.create(member=member, partner=partner, kind=kind, start_date=today, assigned_by=secretary.id)
    elif not active and current is not None:
        current.end_date = today
        current.save(only=[Pairing.end_date])


def branch_members(station: Station):
    return User.select().where((User.station == station) & User.is_party_member & User.is_enabled).order_by(User.employee_no)
