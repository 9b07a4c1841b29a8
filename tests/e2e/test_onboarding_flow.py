"""A new work area from nothing to printed labels and a logged-in worker, through the pages only (issue 9's goal:
under 30 minutes for people; this run takes seconds, and docs/deploy.md lists the steps)."""
import re
import time

from playwright.sync_api import expect

from tests.test_onboarding import xlsx

NEW_PASSWORD = {"HB0001": "haibei-office-2026", "HB1003": "haibei-wellhead-26"}
ROWS = {
    "stations": [["海北一号站", "海北一号站党支部", "生产站", 1]],
    "wells": [["海北1-01", "海北一号站", "采油井", "是", 41.01, 121.80, 4],
              ["海北1-02", "海北一号站", "采油井", "否", 41.02, 121.81, 8]],
    "equipment": [["海北1-01 抽油机", "海北一号站", "海北1-01", "抽油机", "CYJ10-3-53HB", "2019-05-01"]],
    "staff": [["HB1001", "钱站长", "男", "海北一号站", "站长", "是", "2005-07-01", "员工、站长"],
              ["HB1003", "孙采油", "女", "海北一号站", "采油工", "否", None, "员工"]],
}


def choose_own_password(page, employee_no, given):
    """The first login on a printed password lands on 修改密码; the user picks their own."""
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(page.locator(".notice")).to_contain_text("初始密码")
    page.get_by_label("当前密码").fill(given)
    page.get_by_label("新密码（至少 8 位").fill(NEW_PASSWORD[employee_no])
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD[employee_no])
    page.get_by_role("button", name="保存新密码").click()
    expect(page.get_by_text("密码已修改")).to_be_visible()


def test_a_new_work_area_from_nothing_to_labels_and_a_worker_logged_in(page, desk, sign_in, tmp_path):
    began = time.monotonic()
    # The plant admin opens the work area and its admin.
    plant = desk("HN0003")
    plant.goto("/")
    plant.get_by_role("link", name=re.compile("各作业区概览")).click()
    plant.get_by_label("作业区名称", exact=True).fill("海北作业区")
    plant.get_by_label("管理员工号").fill("HB0001")
    plant.get_by_label("管理员姓名").fill("赵管理")
    plant.get_by_role("button", name="新建作业区").click()
    expect(plant.get_by_role("heading", name="海北作业区 已建立")).to_be_visible()
    admin_password = plant.locator(".one-time-password code").inner_text()

    # Its admin logs in, chooses a password, and loads the spreadsheets.
    admin = desk("HB0001", admin_password)
    choose_own_password(admin, "HB0001", admin_password)
    admin.goto("/")
    admin.get_by_role("link", name="批量导入站、井、设备、员工").click()
    labels = {"stations": "站点表", "wells": "油水井表", "equipment": "设备表", "staff": "员工表"}
    for kind, rows in ROWS.items():
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(xlsx(kind, rows))
        admin.get_by_label(re.compile(labels[kind])).set_input_files(path)
    admin.get_by_role("button", name="检查并预览").click()
    expect(admin.locator("#onboarding-preview")).to_be_visible()
    admin.get_by_role("button", name="确认导入").click()
    passwords = dict(re.findall(r"(HB\d{4})\s+\S+\s+(\S+-\S+-\S+)", admin.locator("#onboarding-passwords").inner_text()))
    assert set(passwords) == {"HB1001", "HB1003"}

    # The labels print: a PDF of the station's two wells.
    admin.get_by_role("link", name=re.compile("打印新井的二维码标签")).click()
    pdf = admin.get_by_role("link", name=re.compile("下载全站标签 PDF"))
    response = admin.request.get(pdf.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf" and response.body()[:5] == b"%PDF-"

    # A worker logs in on the phone with the printed password and sees the station's wells.
    sign_in("HB1003", passwords["HB1003"], succeed=False)
    choose_own_password(page, "HB1003", passwords["HB1003"])
    page.goto("/wells/")
    expect(page.get_by_text("海北1-01")).to_be_visible()
    expect(page.get_by_text("海北1-02")).to_be_visible()
    expect(page.get_by_text("海1-01", exact=True)).to_have_count(0)  # nothing of the other work area
    print(f"\nonboarding flow: {time.monotonic() - began:.1f} s")
