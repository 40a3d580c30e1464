"""What a person can press on a page, read from the page in a real browser: its label (the
accessible name: aria-label, or the text), where it goes or what it does, and its size."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Page

# For a link: its address. For a button in a form: the method and address, and what the form
# sends besides what a person types (hidden fields, the button's own name=value). A button
# without a form (run by the page's script) is its own action: its id, else its place.
READ = """() => {
  const seen = (el) => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && box.right > 0 && style.visibility !== "hidden"
      && !el.closest("[hidden], [aria-hidden=true]");
  };
  const text = (el) => (el.getAttribute("aria-label")
    || (el.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean)
        .map((id) => document.getElementById(id)?.innerText || "").join(" ")
    || el.innerText || el.value || el.title || "").replace(/\\s+/g, " ").trim();
  const action = (el, i) => {
    if (el.tagName === "A") return "go " + el.href;
    const form = el.form;
    if (!form) return "script " + (el.id || i);
    const hidden = [...form.querySelectorAll("input[type=hidden]")]
      .filter((h) => h.name !== "csrf_token").map((h) => `${h.name}=${h.value}`);
    const own = el.name ? [`${el.name}=${el.value}`] : [];
    return `${form.method} ${form.action} ${[...hidden, ...own].join("&")}`;
  };
  // A link inside a sentence is exempt from the size rule (WCAG 2.5.8, "inline").
  const inline = (el) => getComputedStyle(el).display === "inline"
    && [...el.parentElement.childNodes]
      .some((n) => n !== el && n.nodeType === 3 && n.textContent.trim().length > 1);
  const all = [...document.querySelectorAll(
    "a[href], button, input[type=submit], input[type=button], [role=button]")];
  return all.filter(seen).map((el, i) => {
    const box = el.getBoundingClientRect();
    return { label: text(el), action: action(el, i), width: box.width, height: box.height,
             inline: inline(el), html: el.outerHTML.slice(0, 160) };
  });
}"""


@dataclass(frozen=True)
class Target:
    label: str
    action: str
    width: float
    height: float
    inline: bool
    html: str


async def targets(page: Page) -> list[Target]:
    return [Target(**item) for item in await page.evaluate(READ)]


def shared_labels(found: list[Target]) -> dict[str, set[str]]:
    """Labels that two different actions share on one page."""
    by_label: dict[str, set[str]] = {}
    for target in found:
        by_label.setdefault(target.label.casefold(), set()).add(target.action)
    return {label: actions for label, actions in by_label.items() if len(actions) > 1}


def unlabelled(found: list[Target]) -> list[str]:
    return [t.html for t in found if not t.label]


def too_small(found: list[Target], minimum: float = 24) -> list[str]:
    """Targets under ``minimum`` CSS pixels either way (WCAG 2.2 target size, minimum)."""
    return [
        f"{t.width:.0f}x{t.height:.0f} {t.label!r} {t.html}"
        for t in found
        if not t.inline and (t.width < minimum or t.height < minimum)
    ]
