"""Signing in as a demo person in a chosen language and screen, without relying on labels
(which change with the language)."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from classroom import demo

LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SCREENS = {"laptop": LAPTOP, "phone": PHONE}


async def visit(browser: Browser, base: str, language: str, screen: str) -> Page:
    """A visitor whose browser asks for ``language``."""
    context = await browser.new_context(
        base_url=base, locale={"en": "en-US", "id": "id-ID"}[language], **SCREENS[screen]
    )
    return await context.new_page()


async def sign_in(browser: Browser, base: str, login: str, language: str, screen: str) -> Page:
    """A demo person (``login``@demo domain) logged in, with ``language`` set in their account."""
    page = await visit(browser, base, language, screen)
    await page.goto("/login")
    await page.locator("input[name=email]").fill(f"{login}@{demo.DOMAIN}")
    await page.locator("input[name=password]").fill(demo.PASSWORD)
    await page.locator("form[action='/login'] button[type=submit]").click()
    await page.wait_for_load_state()
    if language != "en":
        await page.goto("/account")
        await page.locator("select[name=language]").select_option(language)
        await page.locator("form[action='/account'] button[type=submit]").click()
        await page.wait_for_url("**/account?saved=1")
    return page
