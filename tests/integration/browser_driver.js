// browser_driver.js - headless Chromium for the web console's tests, steered by
// Python (tests/integration/browser.py) one JSON line at a time.
//
//   node browser_driver.js   (CHROMIUM=/usr/bin/chromium, NODE_PATH=<node_modules with playwright-core>)
//
// Prints "ready <chromium version>" once the browser runs. Then each line read is
// {"id": n, "op": "...", ...} and each answer is {"id": n, "ok": true, "value": ...}
// or {"id": n, "ok": false, "error": "..."}. Elements are found the way a person
// (or a screen reader) finds them, by a target:
//   {"role": "button", "name": "Sign in"}   {"label": "Admin token"}   {"text": "..."}
//   {"textMatching": "<regular expression>"}
// ({"role": "heading", "level": 1} for an <h1>)
// optionally {"exact": true}, {"hasText": "ws1"} (keep those containing it),
// {"within": <target>} (look inside another element), {"nth": i}.
// "css" exists for the rare element that has no role or name (the page's <html>).
//
// Every page records what a test must be able to assert on: uncaught errors,
// console messages, Content-Security-Policy violations and the requests sent.
const { chromium } = require("playwright-core");
const readline = require("readline");

const ACTION_TIMEOUT_MS = Number(process.env.BROWSER_TIMEOUT_MS || 60000);

let browser = null;
let context = null;
let page = null;
let record = null;

// Runs in the page before its own scripts: a CSP violation also fires this
// event, which tells the directive and the blocked resource.
const REPORT_CSP_VIOLATIONS = `
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
                  + " at " + e.sourceFile + ":" + e.lineNumber);
  });`;

function locate(target) {
  if (!target || typeof target !== "object") throw new Error("no target given");
  const base = target.within ? locate(target.within) : page;
  const exact = target.exact === true;
  let found;
  if (target.role) {
    const options = {};
    if (target.name !== undefined) Object.assign(options, { name: target.name, exact });
    if (target.level !== undefined) options.level = target.level;
    found = base.getByRole(target.role, options);
  }
  else if (target.label) found = base.getByLabel(target.label, { exact });
  else if (target.text) found = base.getByText(target.text, { exact });
  else if (target.textMatching) found = base.getByText(new RegExp(target.textMatching));
  else if (target.css) found = base.locator(target.css);
  else throw new Error("a target needs role, label, text or css: " + JSON.stringify(target));
  if (target.hasText) found = found.filter({ hasText: target.hasText });
  if (target.nth !== undefined) found = found.nth(target.nth);
  return found;
}

async function newPage(msg) {
  if (context) await context.close();
  context = await browser.newContext({
    viewport: msg.viewport || { width: 1280, height: 900 },
    timezoneId: msg.timezone || undefined,
    locale: "en-GB",
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  await context.addInitScript({ content: REPORT_CSP_VIOLATIONS });
  page = await context.newPage();
  record = { errors: [], console: [], requests: [], responses: [], dialogs: [] };
  page.on("pageerror", (err) => record.errors.push(String(err && err.stack ? err.stack : err)));
  page.on("console", (m) => record.console.push({ type: m.type(), text: m.text(), url: m.location().url }));
  page.on("request", (r) => record.requests.push({
    method: r.method(), url: r.url(), authorization: r.headers()["authorization"] || null,
  }));
  page.on("response", (r) => record.responses.push({
    method: r.request().method(), url: r.url(), status: r.status(),
  }));
  // A native confirm() is accepted, as the person clicking meant it; tests see it was asked.
  page.on("dialog", (d) => { record.dialogs.push({ type: d.type(), message: d.message() }); d.accept(); });
  return true;
}

const OPS = {
  newPage,
  goto: async (m) => { await page.goto(m.url, { waitUntil: "load" }); return page.url(); },
  url: async () => page.url(),
  waitUrl: async (m) => { await page.waitForURL(new RegExp(m.pattern), { timeout: m.timeout }); return page.url(); },
  click: async (m) => { await locate(m.target).click({ timeout: m.timeout }); return true; },
  fill: async (m) => { await locate(m.target).fill(m.value, { timeout: m.timeout }); return true; },
  press: async (m) => { await locate(m.target).press(m.key, { timeout: m.timeout }); return true; },
  select: async (m) => locate(m.target).selectOption(m.value, { timeout: m.timeout }),
  waitVisible: async (m) => { await locate(m.target).waitFor({ state: "visible", timeout: m.timeout }); return true; },
  waitHidden: async (m) => { await locate(m.target).waitFor({ state: "hidden", timeout: m.timeout }); return true; },
  // Waits until the element's text contains every one of m.contains (Playwright's own
  // waiting: the element is looked up again as the page changes).
  waitText: async (m) => {
    let loc = locate(m.target);
    for (const wanted of [].concat(m.contains)) loc = loc.filter({ hasText: wanted });
    try {
      await loc.first().waitFor({ state: "visible", timeout: m.timeout });
    } catch (err) {
      const now = await locate(m.target).allInnerTexts().catch(() => []);
      throw new Error(`${JSON.stringify(m.contains)} not seen in ${JSON.stringify(m.target)}; `
                      + `it reads ${JSON.stringify(now)}: ${err.message.split("\n")[0]}`);
    }
    return loc.first().innerText();
  },
  // Presses Tab (at most m.max times) until the target has the focus, as a keyboard user
  // moves; answers how many presses it took, or fails if it never got there.
  tabTo: async (m) => {
    const target = locate(m.target);
    await target.waitFor({ state: "visible", timeout: m.timeout });
    for (let presses = 1; presses <= (m.max || 40); presses++) {
      await page.keyboard.press("Tab");
      if (await target.evaluate((el) => el === document.activeElement)) return presses;
    }
    throw new Error(`${JSON.stringify(m.target)} not reached with ${m.max || 40} presses of Tab`);
  },
  key: async (m) => { await page.keyboard.press(m.key); return true; },
  type: async (m) => { await page.keyboard.type(m.text); return true; },
  count: async (m) => locate(m.target).count(),
  text: async (m) => locate(m.target).innerText({ timeout: m.timeout }),
  value: async (m) => locate(m.target).inputValue({ timeout: m.timeout }),
  attr: async (m) => locate(m.target).getAttribute(m.name, { timeout: m.timeout }),
  focused: async (m) => locate(m.target).evaluate((el) => el === document.activeElement),
  // The text of the elements an element's aria-describedby names (its problem, its help).
  description: async (m) => locate(m.target).evaluate((el) =>
    (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean)
      .map((id) => { const d = document.getElementById(id); return d ? d.textContent.trim() : ""; })
      .filter(Boolean).join(" ")),
  // How wide the document is against the window: wider means a sideways scroll.
  layout: async () => page.evaluate(() => ({
    documentWidth: document.documentElement.scrollWidth, windowWidth: window.innerWidth,
  })),
  storage: async () => page.evaluate(() => ({
    session: Object.fromEntries(Object.entries(sessionStorage)),
    local: Object.fromEntries(Object.entries(localStorage)),
  })),
  cookies: async () => context.cookies(),
  screenshot: async (m) => {
    await page.screenshot({ path: m.path, fullPage: !!m.fullPage, clip: m.clip || undefined });
    return m.path;
  },
  record: async () => record,
  close: async () => { if (browser) await browser.close(); browser = null; return true; },
};

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox; the pages are our own.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  process.stdout.write(`ready ${browser.version()}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  // One command at a time, in order: the Python side waits for each answer.
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    queue = queue.then(async () => {
      let msg = {};
      try {
        msg = JSON.parse(line);
        const op = OPS[msg.op];
        if (!op) throw new Error("unknown op " + msg.op);
        const value = await op(msg);
        process.stdout.write(JSON.stringify({ id: msg.id, ok: true, value: value === undefined ? null : value }) + "\n");
      } catch (err) {
        process.stdout.write(JSON.stringify({ id: msg.id, ok: false, error: String(err && err.message || err) }) + "\n");
      }
    });
  });
  lines.on("close", () => { queue.then(() => browser && browser.close()).then(() => process.exit(0)); });
}

main().catch((err) => { process.stdout.write(`failed ${String(err && err.message || err)}\n`); process.exit(1); });
