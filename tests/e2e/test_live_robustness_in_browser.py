"""What a person sees when the live class goes wrong, in real browsers: a refusal shown as
words in their language (never a dict), a page that stops knocking once knocking cannot
help, and chat typed while the connection is away that arrives once, whatever was lost."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Dialog, Locator, Page, WebSocketRoute, expect

from tests.e2e.conftest import snapshot
from tests.e2e.live_class import class_with_people, enter, open_live

REMOVED = {
    "en": "The tutor removed you from this class.",
    "id": "Tutor telah mengeluarkan Anda dari kelas ini.",
}
RECONNECTING = "Connection lost. Reconnecting…"


async def _in_class(page: Page) -> None:
    """The page has its socket and its `hello` answer."""
    await page.wait_for_function("() => kelasLive.socket?.connected && kelasLive.room !== null")


async def _banner_says(page: Page, message: str) -> None:
    banner = page.locator("#banner")
    await expect(banner).to_have_text(message)
    text = await banner.inner_text()
    assert "{" not in text and "code" not in text  # words, not the refusal's data


async def _say(page: Page, text: str) -> None:
    await page.locator("#chat-text").fill(text)
    await page.locator("#chat-form button[type=submit]").click()


def _lines(page: Page, text: str) -> Locator:
    """The lines of the page's chat that hold ``text``."""
    return page.locator("#chat-log li").filter(has_text=text)


async def _in_order(page: Page) -> None:
    """The chat shows each message once, in the order the server numbered them."""
    seqs = await page.eval_on_selector_all(
        "#chat-log li", "(items) => items.map((li) => +li.dataset.seq)"
    )
    assert seqs == sorted(set(seqs)), seqs


@pytest.mark.parametrize("language", ["en", "id"])
async def test_a_removed_student_is_told_why_in_their_language_and_stops_knocking(
    browser: Browser, live_url: str, database_url: str, language: str
) -> None:
    lesson_id, users = await class_with_people(database_url, {"Sinta Student": language})
    sinta_id, message = users["Sinta Student"].id, REMOVED[language]
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    # A second tab of Sinta's, still at the device check: it will knock after her removal.
    stale = await sinta.context.new_page()
    await stale.goto(f"/classes/{lesson_id}/live")
    await _in_class(sinta)
    await _in_class(tutor)
    confirmed: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        confirmed.append(dialog.message)
        await dialog.accept()

    tutor.once("dialog", confirm)
    person = tutor.locator(f'#people li[data-user="{sinta_id}"]')
    await person.get_by_role("button", name="Remove").click()
    await _banner_says(sinta, message)
    assert confirmed and "cannot come back" in confirmed[0]
    await expect(person).to_have_count(0)
    # The server closed her socket; the page does not open another.
    await sinta.wait_for_function("() => kelasLive.ended && !kelasLive.socket.active")
    assert await sinta.evaluate("() => kelasLive.media") is None
    await snapshot(sinta, f"live-removed-{language}")
    # The other tab joins: the server refuses, as data; the page shows its message and stops.
    await stale.locator("#join").click()
    await _banner_says(stale, message)
    knocks = await stale.evaluate(
        "() => ({reconnection: kelasLive.socket.io.opts.reconnection,"
        " active: kelasLive.socket.active, ended: kelasLive.ended})"
    )
    assert knocks == {"reconnection": False, "active": False, "ended": True}
    await snapshot(stale, f"live-refused-{language}")
    # Reloading does not help either: the page itself says why (once attendance records the
    # removal; until then the room refuses the join, as above).
    await sinta.reload()
    join = sinta.locator("#join")
    await expect(sinta.get_by_text(message).or_(join)).to_be_visible()
    if await join.is_visible():
        await join.click()
        await _banner_says(sinta, message)
    await expect(tutor.locator("#people li")).to_have_count(1)


async def test_chat_typed_while_offline_is_sent_once_when_the_connection_is_back(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await enter(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    await _in_class(tutor)
    await _in_class(sinta)
    # Her connection drops just after she joined, while her media is being set up.
    await sinta.context.set_offline(True)  # cuts the WebSocket at once, even on 127.0.0.1
    await sinta.wait_for_function("() => !kelasLive.socket.connected")
    # What was on its way gets no answer now: the page says it is reconnecting, not "try again".
    assert await sinta.locator("#banner").inner_text() == RECONNECTING
    # While she is away the tutor writes, and she writes too.
    missed, typed = "Sinta, can you hear me?", "Sorry, my Wi-Fi dropped"
    await _say(tutor, missed)
    await expect(_lines(tutor, missed)).to_have_count(1)
    await _say(sinta, typed)
    outbox = sinta.locator("#chat-outbox")
    await expect(outbox).to_be_visible()
    await expect(outbox.locator("li")).to_have_text([f"{typed} · sending…"])
    await expect(_lines(sinta, typed)).to_have_count(0)
    await _banner_says(sinta, RECONNECTING)
    await snapshot(sinta, "live-chat-outbox-sending")
    await sinta.context.set_offline(False)
    await expect(outbox).to_be_hidden(timeout=15000)
    await expect(outbox.locator("li")).to_have_count(0)
    for page in (tutor, sinta):
        await expect(_lines(page, typed)).to_have_count(1)
        await expect(_lines(page, missed)).to_have_count(1)
        await _in_order(page)


async def test_chat_whose_answer_was_lost_is_sent_again_and_stored_once(
    browser: Browser, live_url: str, database_url: str
) -> None:
    lesson_id, users = await class_with_people(database_url)
    tutor = await enter(browser, live_url, "Tari Tutor", users["Tari Tutor"], lesson_id)
    sinta = await open_live(browser, live_url, "Sinta Student", users["Sinta Student"], lesson_id)
    text = "Is this the right page?"
    network = LosesTheAnswer(text)
    await sinta.route_web_socket(re.compile(r"/socket\.io/"), network)
    await sinta.reload()  # the route takes effect in documents loaded after it
    await sinta.locator("#join").click()
    await _in_class(tutor)
    await _in_class(sinta)
    await _say(sinta, text)
    # The server stored it and told the tutor; Sinta's page heard nothing, then lost the
    # connection, reconnected and sent it again with the same key.
    await expect(_lines(tutor, text)).to_have_count(1)
    await expect(sinta.locator("#chat-outbox")).to_be_hidden(timeout=15000)
    assert network.sent == 2 and network.connections == 2
    for page in (tutor, sinta):
        await expect(_lines(page, text)).to_have_count(1)
        await _in_order(page)


class LosesTheAnswer:
    """The network between a page and the server, which loses everything the server says from
    the moment the page sends `text` in a chat message, then drops the connection once the
    server has answered it: the server has the message; the page cannot know."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sent = 0
        self.connections = 0
        self.lost = False

    async def __call__(self, page_side: WebSocketRoute) -> None:
        self.connections += 1
        server = page_side.connect_to_server()
        waiting: list[str] = []  # the ack id of the message, once sent

        def up(message: str | bytes) -> None:
            sent = re.match(r'42/class,(\d+)\["chat:send",', str(message))
            if sent and self.text in str(message):
                self.sent += 1
                if not self.lost:
                    waiting.append(sent[1])
            server.send(message)

        async def down(message: str | bytes) -> None:
            if not waiting:
                page_side.send(message)
            elif str(message).startswith(f"43/class,{waiting[0]}["):
                self.lost = True
                await page_side.close()

        page_side.on_message(up)
        server.on_message(down)
