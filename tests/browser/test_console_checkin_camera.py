"""Check-in by camera: a real ticket's QR code shown to the console's scanner. Chromium plays
a video file as its camera (`--use-file-for-fake-video-capture`); the file is the ticket's
QR code, drawn by the `qrcode` package the alumni site draws it with, so the console's
jsQR reads it from the video and checks the alumnus in."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, ROOT, checked, chromium_path, new_context
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    console_login,
    created,
    department,
    published_event,
    staff_account,
)

WIDTH, HEIGHT = 640, 480
# As web/src/site/components/QrImage.vue draws a ticket, with a wider quiet zone.
DRAW_QR = """
const QRCode = require("qrcode");
const options = { errorCorrectionLevel: "L", margin: 4, width: 360 };
QRCode.toFile(process.argv[1], process.argv[2], options)
  .catch((error) => { console.error(error); process.exit(1); });
"""


def qr_video(text: str, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays, looped) of the QR code of `text`,
    centred on a white frame."""
    png = path.with_suffix(".png")
    subprocess.run(
        ["node", "-e", DRAW_QR, str(png), text], cwd=ROOT / "web", check=True, timeout=60
    )
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    code = Image.open(png).convert("L")
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)  # grey: no colour
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            video.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def camera_browser(browser: Browser) -> Iterator[Callable[[Path], Browser]]:
    """Launches a second Chromium whose camera plays the video given (closed at the end)."""
    opened: list[Browser] = []

    def launch(video: Path) -> Browser:
        opened.append(
            browser.browser_type.launch(
                executable_path=chromium_path(),
                args=[
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                ],
            )
        )
        return opened[-1]

    yield launch
    for item in opened:
        item.close()


def test_the_console_reads_a_tickets_qr_from_the_camera_and_checks_the_alumnus_in(
    portal, camera_browser, tmp_path
):
    admin = portal.admin()
    dept = department(admin)
    liaison = staff_account(admin, "liaison", dept["id"])
    guest = alumnus(admin, dept["id"], "扫码校友")
    event = published_event(admin, dept["id"])
    registration = created(
        admin.post(f"/api/v1/events/{event['id']}/registrations", json={"alumnus_id": guest["id"]})
    )
    video = qr_video(registration["checkin_token"], tmp_path / "ticket.y4m")

    context = new_context(camera_browser(video), portal, DESKTOP)
    page = context.new_page()
    try:
        console_login(page, f"/checkin?event={event['id']}", liaison)
        count = page.get_by_test_id("checkin-count")
        expect(count).to_have_text("0")
        page.get_by_role("button", name="用摄像头扫码").click()
        expect(page.get_by_label("摄像头画面：请将签到二维码对准取景框")).to_be_visible()
        expect(page.get_by_text("签到成功")).to_be_visible(timeout=SERVICE_WAIT)
        expect(count).to_have_text("1")
        checked(page, "console-checkin-camera-read")
        page.get_by_role("button", name="关闭摄像头").click()
    finally:
        context.close()

    roster = created(admin.get(f"/api/v1/events/{event['id']}/roster"))["items"]
    (line,) = roster  # the one registration of the event
    assert line["name"] == "扫码校友" and line["registration"]["checked_in_at"]
