"""Headless Chromium for the web console's tests, driven through browser_driver.js.

The server and the fake Intercom are the harness's (Python); the browser is
Debian's chromium, steered by playwright-core (npm, installed by
install-playwright.sh into build/browser) in a small Node process that takes one
JSON command per line. Tests find elements by role and accessible name, label or
text, never by CSS class, so what they click is what a person (or a screen
reader) finds.

Without chromium or the client the tests are skipped with the reason printed;
in CI (CI=true) they fail instead, since CI installs both.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import unittest
from pathlib import Path

from harness import BUILD, REPO

DRIVER = Path(__file__).resolve().parent / "browser_driver.js"
SCREENSHOTS = BUILD / "screenshots"
COMMAND_TIMEOUT_S = 180   # an answer may wait on a page action's own timeout (60 s) and more


def client_modules():
    """The node_modules folder holding playwright-core, or None."""
    candidates = [os.environ.get("SWITCHBOARD_BROWSER_CLIENT"), BUILD / "browser" / "node_modules",
                  REPO / "build" / "browser" / "node_modules"]
    for folder in filter(None, candidates):
        if (Path(folder) / "playwright-core" / "package.json").is_file():
            return Path(folder)
    return None


def chromium_path():
    path = os.environ.get("SWITCHBOARD_CHROMIUM") or shutil.which("chromium")
    return path if path and os.access(path, os.X_OK) else None


def missing():
    """Why the browser tests cannot run here, or None."""
    if not chromium_path():
        return "skipped: no Chromium (apt-get install chromium chromium-driver; ./dev test does)"
    if not shutil.which("node"):
        return "skipped: no browser client (node not found)"
    if client_modules() is None:
        return "skipped: no browser client (bash tests/integration/install-playwright.sh; ./dev test does)"
    return None


def require_browser(case):
    """Skip (or, in CI, fail) @case when the browser or its client is missing."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        case.fail(f"{reason} - CI installs both, so this is a broken install")
    print(reason, file=sys.stderr)
    raise unittest.SkipTest(reason)


class DriverError(AssertionError):
    pass


class Browser:
    """One Chromium (one Node driver process); a fresh page (its own context) per test."""

    def __init__(self):
        env = dict(os.environ, CHROMIUM=chromium_path(), NODE_PATH=str(client_modules()))
        self.proc = subprocess.Popen(["node", str(DRIVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True)
        self.serial = 0
        self.lock = threading.Lock()
        first = self._read_line(COMMAND_TIMEOUT_S)
        if not first.startswith("ready "):
            self.proc.kill()
            raise DriverError(f"the browser did not start: {first!r}")
        self.version = first.split(" ", 1)[1].strip()

    def _read_line(self, timeout):
        # readline() in a thread: a hung driver must fail the test, not hang it.
        box = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box:
            self.proc.kill()
            raise DriverError(f"the browser driver did not answer within {timeout}s")
        if not box[0]:
            raise DriverError(f"the browser driver exited ({self.proc.poll()})")
        return box[0]

    def call(self, op, **args):
        with self.lock:
            self.serial += 1
            self.proc.stdin.write(json.dumps({"id": self.serial, "op": op, **args}) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self._read_line(COMMAND_TIMEOUT_S))
        if answer.get("id") != self.serial:
            raise DriverError(f"answer out of order: {answer!r}")
        if not answer["ok"]:
            raise DriverError(f"{op} {json.dumps(args)}: {answer['error']}")
        return answer["value"]

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- targets: how a person finds things ----

def role(role_name, name=None, exact=False, **more):
    target = {"role": role_name, **more}
    if name is not None:
        target.update(name=name, exact=exact)
    return target


def label(text, exact=True, **more):
    return {"label": text, "exact": exact, **more}


def text(content, exact=False, **more):
    return {"text": content, "exact": exact, **more}


def text_matching(pattern, **more):
    """An element whose text matches a JavaScript regular expression."""
    return {"textMatching": pattern, **more}


def within(outer, inner):
    return {**inner, "within": outer}


class Page:
    """The page of one test: thin verbs over the driver, and the checks every test ends with."""

    # Chromium reports every non-2xx fetch on the console; those a test provokes on purpose
    # (a refused token, a refused setting) are listed by it.
    LOAD_FAILURE = "Failed to load resource: the server responded with a status of "

    def __init__(self, browser, name, **page_options):
        self.browser = browser
        self.name = name
        self.expected_statuses = set()
        browser.call("newPage", **page_options)

    def goto(self, url):
        return self.browser.call("goto", url=url)

    def url(self):
        return self.browser.call("url")

    def wait_url(self, pattern, **kw):
        return self.browser.call("waitUrl", pattern=pattern, **kw)

    def click(self, target, **kw):
        return self.browser.call("click", target=target, **kw)

    def fill(self, target, value, **kw):
        return self.browser.call("fill", target=target, value=value, **kw)

    def select(self, target, value, **kw):
        return self.browser.call("select", target=target, value=value, **kw)

    def see(self, target, **kw):
        return self.browser.call("waitVisible", target=target, **kw)

    def gone(self, target, **kw):
        return self.browser.call("waitHidden", target=target, **kw)

    def see_text(self, target, *contains, **kw):
        return self.browser.call("waitText", target=target, contains=list(contains), **kw)

    def count(self, target):
        return self.browser.call("count", target=target)

    def attr(self, target, name):
        return self.browser.call("attr", target=target, name=name)

    def description(self, target):
        return self.browser.call("description", target=target)

    def press(self, target, key):
        return self.browser.call("press", target=target, key=key)

    def layout(self):
        """{"documentWidth": px, "windowWidth": px}."""
        return self.browser.call("layout")

    def tab_to(self, target, **kw):
        """Press Tab until @target has the focus; the number of presses."""
        return self.browser.call("tabTo", target=target, **kw)

    def key(self, key):
        """Press @key on whatever has the focus."""
        return self.browser.call("key", key=key)

    def type(self, characters):
        """Type into whatever has the focus, key by key."""
        return self.browser.call("type", text=characters)

    def storage(self):
        """{"session": {...}, "local": {...}} of the page's origin."""
        return self.browser.call("storage")

    def cookies(self):
        return self.browser.call("cookies")

    def screenshot(self, suffix="", full_page=True, height=None):
        """Save build/screenshots/<test><suffix>.png: the whole page, or its top @height pixels."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}{suffix}.png"
        clip = None
        if height:
            clip = {"x": 0, "y": 0, "width": self.browser.call("layout")["windowWidth"], "height": height}
        return self.browser.call("screenshot", path=str(path), fullPage=full_page and not clip, clip=clip)

    def allow_status(self, *statuses):
        """Responses with these statuses are expected (the console logs each as a console error)."""
        self.expected_statuses.update(statuses)

    def problems(self):
        """Uncaught errors, CSP violations and console errors the test did not expect."""
        record = self.browser.call("record")
        found = [f"uncaught: {e}" for e in record["errors"]]
        for message in record["console"]:
            if message["type"] != "error":
                continue
            body = message["text"]
            if body.startswith(self.LOAD_FAILURE) and int(body[len(self.LOAD_FAILURE):][:3]) \
                    in self.expected_statuses:
                continue
            found.append(f"console: {body} ({message['url']})")
        return found

    def requests(self):
        """Every request the page sent: method, url, authorization header."""
        return self.browser.call("record")["requests"]

    def responses(self, method=None, path=None):
        """The responses the page received (method, url, status), those to @method @path
        (a regular expression searched in the URL) if given."""
        rx = re.compile(path) if path else None
        return [r for r in self.browser.call("record")["responses"]
                if (method is None or r["method"] == method) and (rx is None or rx.search(r["url"]))]
