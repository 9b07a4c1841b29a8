"""Tables as .xlsx (openpyxl) and as CSV (UTF-8 with BOM): the same sheets, cells and numbers in both."""
import csv
import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import LazyString
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
# A spreadsheet runs a cell that starts with one of these as a formula (or DDE command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DECIMALS = {"0": 0, "0.0": 1, "0.00": 2}
HEADER_FILL = PatternFill("solid", fgColor="EDEDED")


@dataclass(frozen=True)
class Column:
    """A column: its header (translated when the sheet is made), Excel number format (None: as is) and width in
    characters."""

    header: str
    format: str | None = None
    width: int = 10


@dataclass
class Sheet:
    """One table: a title row, the header, the rows and bold footer rows (totals)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    footer: list[list] = field(default_factory=list)


def neutralise(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass (a lazily
    translated label as its text: openpyxl takes only real strings)."""
    if isinstance(value, LazyString):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_xlsx(sheets: list[Sheet]) -> bytes:
    """A workbook with one worksheet per sheet: title row, frozen header and first column, formats, widths."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(str(sheet.name))
        ws.append([neutralise(sheet.title)])
        ws.cell(1, 1).font = Font(bold=True, size=13)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(sheet.columns), 1))
        ws.append([neutralise(str(column.header)) for column in sheet.columns])  # headers name branches, stations
        for cell in ws[2]:
            cell.font, cell.fill = Font(bold=True), HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in sheet.rows:
            ws.append([neutralise(value) for value in row])
        for row in sheet.footer:
            ws.append([neutralise(value) for value in row])
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
            for (cell,) in ws.iter_rows(min_row=3, min_col=index, max_col=index):
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif column.format and isinstance(cell.value, (int, float)):
                    cell.number_format = column.format
        ws.freeze_panes = "B3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_value(value, column: Column):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and column.format in DECIMALS:
        return f"{value:.{DECIMALS[column.format]}f}"
    return neutralise(value)


def to_csv(sheets: list[Sheet]) -> bytes:
    """The sheets one after another (title line, header, rows, footer; a blank line between), UTF-8 with BOM
    so that Excel reads the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, sheet in enumerate(sheets):
        if index:
            writer.writerow([])
        writer.writerow([neutralise(sheet.title)])
        writer.writerow([neutralise(str(column.header)) for column in sheet.columns])
        for row in sheet.rows + sheet.footer:
            writer.writerow([_csv_value(value, column) for value, column in zip(row, sheet.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
