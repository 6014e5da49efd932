"""startdeliver: conversations as support tickets, support health, data pushed back.

The real binary and the bundled plugin against the fake Intercom. Every request
the plugin sends is checked against Intercom's OpenAPI description in tearDown
(ServerTestCase.assert_openapi_valid).

A new installation's first sync starts at once. The tests stop it at its first
Intercom request (a Hold on the fake's companies scroll), push the product's
users and customers through the product API while it waits, and release it, so
the first run is the full run over known data. Expected results are computed
here from the seeded data (ticket status, matching, health, attributes), never
copied from what the plugin answered.

Times: seeded conversations are placed at least an hour in the past and away
from every threshold they are measured against, so that neither the
incremental window (start of the last run less 301 s) nor the overdue threshold
can flip a result while a test runs.
"""

import json
import math
import re
import time
import urllib.parse

import harness
from harness import Server, ServerTestCase, wait_for

WS = "sdws1"
PLUGIN = "startdeliver"
HOUR = 3600
PER_PAGE = 150
SCROLL_PAGE = 50        # the fake's companies scroll page size


# ---- the rules, as the plugin's README states them ----

def ticket_status(conv, now, threshold_h):
    if conv["state"] == "closed":
        return "resolved"
    ws = conv.get("waiting_since")
    if ws and now - ws >= threshold_h * HOUR:
        return "overdue"
    return "open"


def health_of(counts, fair_overdue, poor_overdue, fair_unresolved):
    unresolved = counts["open"] + counts["overdue"]
    if counts["overdue"] >= poor_overdue:
        return "Poor"
    if counts["overdue"] >= fair_overdue or (fair_unresolved > 0 and unresolved >= fair_unresolved):
        return "Fair"
    return "Good"


def present(attributes):
    """Custom attributes that hold a value (a cleared one reads null on contacts, "" on companies)."""
    return {k: v for k, v in attributes.items() if v is not None and v != ""}


def iso_utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def contact_attrs(user):
    """The custom attributes a product user asks for on its Intercom contact."""
    out = {}
    if user.get("usage_health"):
        out["sd_usage_health"] = user["usage_health"]
    if user.get("health_score") is not None:
        out["sd_health_score"] = float(user["health_score"])
    if user.get("last_login") is not None:
        out["sd_last_login"] = user["last_login"]
    for k, v in (user.get("custom_fields") or {}).items():
        if v is not None and v != "":
            out["sd_" + k] = v
    return out


def company_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v != int(v) else str(int(v))
    return str(v)


def company_attrs(customer):
    """The custom attributes a product customer asks for on its Intercom company (all text)."""
    out = {}
    if customer.get("usage_health"):
        out["sd_usage_health"] = customer["usage_health"]
    if customer.get("health_score") is not None:
        out["sd_health_score"] = company_text(customer["health_score"])
    if customer.get("last_login") is not None:
        out["sd_last_login"] = iso_utc(customer["last_login"])
    for k, v in (customer.get("custom_fields") or {}).items():
        if v is not None and v != "":
            out["sd_" + k] = company_text(v)
    return out


def conversations_of(ws, contact, n, first_at, step=600):
    """@n conversations of @contact, @step seconds apart from @first_at (open, waiting)."""
    with ws.lock:
        return [ws.add_conversation(f"From {contact['name']} #{k}", contact=ws.contacts[contact["id"]],
                                    created_at=first_at + k * step) for k in range(n)]


class StartdeliverCase(ServerTestCase):
    defaults = {}            # settings of new installations
    options = None           # plugin options
    region = "US"
    server_settings = None   # extra server configuration groups

    def setUp(self):
        super().setUp()
        self.fake = self.fake_intercom()
        self.ws = self.fake.add_workspace(id_code=WS, name="Acme Support", region=self.region)
        self.srv = self.server(
            plugins={PLUGIN: Server.plugin_config(settings=self.defaults or None,
                                                  options=self.options)},
            intercom=self.fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR,
            settings=self.server_settings).start()

    # ---- product API ----

    def api(self, method, path, body=None, expect=None):
        r = self.srv.api(PLUGIN, method, path, json_body=body, workspace=WS)
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        return r

    def get(self, path):
        return self.api("GET", path, expect=200).json()

    def all(self, path, limit=1000):
        """Every item of a list route, following next."""
        items, after = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.get(f"{path}{sep}limit={limit}"
                            + (f"&after={urllib.parse.quote(after)}" if after else ""))
            items += page["data"]
            after = page["next"]
            if not after:
                return items

    def push_users(self, users):
        for i in range(0, len(users), 1000):
            r = self.api("POST", "/users", {"users": users[i:i + 1000]}, expect=200)
            self.assertEqual(r.json()["stored"], len(users[i:i + 1000]))

    def push_customers(self, customers):
        for i in range(0, len(customers), 1000):
            self.api("POST", "/customers", {"customers": customers[i:i + 1000]}, expect=200)

    def status(self):
        return self.get("/status")

    def map_every_event(self):
        """Events become usage only as the usage mapping says: map them all to one product."""
        self.api("PUT", "/usage_mapping",
                 {"mappings": [{"event": "*", "product": "App", "usage_type": "Event"}]}, expect=200)

    def set_settings(self, **values):
        r = self.srv.admin("PUT", f"/installations/{self.inst['id']}/settings", json_body=values)
        self.assertEqual(r.status, 200, r)
        return r.json()

    # ---- syncs ----

    def install(self, before_first_sync=None, wait=True, timeout=120):
        """Install; run @before_first_sync while the first sync waits at its first request.

        Returns the first run's last_sync (or None with wait=False).
        """
        gate = self.fake.hold("GET", r"^/companies/scroll$", query=r"^$")
        self.assertEqual(self.srv.install(PLUGIN, WS).status, 200)
        self.inst = self.srv.installation(PLUGIN, WS)
        gate.wait_arrived()
        if before_first_sync:
            before_first_sync()
        gate.release()
        return self.wait_sync(None, timeout=timeout) if wait else None

    def wait_sync(self, previous_run, timeout=120):
        """Wait until a run other than @previous_run finished (ok or partial); its last_sync."""
        def done():
            s = self.status()
            last = s["last_sync"]
            return (last and last["run"] != previous_run and last["result"] in ("ok", "partial")
                    and s["running"] is None and s)
        return wait_for(done, timeout=timeout, interval=0.05,
                        message=f"a sync after run {previous_run}")["last_sync"]

    def sync(self, full=False, timeout=120):
        before = self.status()["last_sync"]
        r = self.api("POST", "/sync", {"full": True} if full else None, expect=202)
        self.assertEqual(r.json()["mode"], "full" if full or before is None else "incremental")
        return self.wait_sync(before["run"] if before else None, timeout=timeout)

    # ---- what the fake received ----

    def sent(self, method=None, path=None, since=0):
        rx = re.compile(path) if path else None
        return [r for r in list(self.fake.requests)[since:]
                if (method is None or r["method"] == method) and (rx is None or rx.search(r["path"]))]

    def mark(self):
        return len(self.fake.requests)

    def assert_no_list_requests(self, since=0):
        """GET /companies (list) stops at 10,000 companies: the plugin scrolls instead."""
        self.assertEqual(self.sent("GET", r"^/companies$", since), [])


# ---------------------------------------------------------------------------
# The definition of done: a 10,000-conversation workspace
# ---------------------------------------------------------------------------

class BigWorkspace(StartdeliverCase):
    """Full sync of 10,000 conversations, then an incremental run that reads only what changed."""

    N_CONV = 10_000
    N_CONTACTS = 2_000
    N_CUSTOMERS = 100
    THRESHOLD_H = 24
    FAIR_OVERDUE, POOR_OVERDUE, FAIR_UNRESOLVED = 8, 20, 45
    defaults = {"advanced_push": True, "health_fair_overdue": FAIR_OVERDUE,
                "health_poor_overdue": POOR_OVERDUE, "health_fair_unresolved": FAIR_UNRESOLVED}

    # contact i: external id "ext-<i>"; its user (the product's) is matched by
    #   i % 10 in 0..6  external id (user id "ext-<i>")
    #   i % 10 in 7..8  email only (user id "u-<i>", address in upper case)
    #   i % 10 == 9     nothing: its conversations are skipped
    @staticmethod
    def user_id(i):
        k = i % 10
        return f"ext-{i}" if k < 7 else f"u-{i}" if k < 9 else None

    def build(self):
        now = int(time.time())
        fake, ws = self.fake, self.ws
        self.contacts = fake.seed_contacts(WS, self.N_CONTACTS)
        self.contact_pos = {c["id"]: i for i, c in enumerate(self.contacts)}
        companies = fake.seed_companies(WS, self.N_CUSTOMERS, prefix="cust-",
                                        created_at=now - 10 * 86400)
        fake.seed_companies(WS, 10, prefix="other-", created_at=now - 9 * 86400)
        for i, c in enumerate(self.contacts):
            fake.attach_company(WS, c, companies[i % self.N_CUSTOMERS])
        # Conversation j belongs to contact j % N_CONTACTS. Two age bands, both clear of
        # the 24 h threshold: 38-80 h old, and 3-20 h old.
        half = self.N_CONV // 2
        self.convs = []
        with ws.lock:
            for j in range(self.N_CONV):
                if j < half:
                    at = now - 80 * HOUR + j * (42 * HOUR // half)
                else:
                    at = now - 20 * HOUR + (j - half) * (17 * HOUR // (self.N_CONV - half))
                contact = ws.contacts[self.contacts[j % self.N_CONTACTS]["id"]]
                conv = ws.add_conversation(f"Question number {j} about billing", contact=contact,
                                           created_at=at)
                i = j % self.N_CONTACTS
                cust = i % self.N_CUSTOMERS
                rnd = j // self.N_CONTACTS          # 0..4: the contact's n-th conversation
                if rnd < cust % 4:                  # customers differ in how much is closed
                    fake.close_conversation(WS, conv["id"], at=at + 600)
                elif (j + cust) % 3 == 0:           # answered by the team
                    fake.touch_conversation(WS, conv["id"], at=at + 300)
                self.convs.append(conv)
        self.users = {}
        self.late = {}          # contact index -> user pushed after the first run
        for i in range(self.N_CONTACTS):
            uid = self.user_id(i)
            if not uid:
                continue
            user = {"id": uid, "email": f"user{i}@{WS}.example" if uid.startswith("ext-")
                    else f"User{i}@{WS.upper()}.EXAMPLE",
                    "name": f"User {i}", "customer_id": f"cust-{i % self.N_CUSTOMERS}"}
            if i % 4 == 0:
                user.update(usage_health=("Good", "Fair", "Poor")[i % 3], health_score=50 + i % 50,
                            last_login=now - i * 60,
                            custom_fields={"plan": "pro" if i % 8 == 0 else "free",
                                           "seats": i % 17, "beta": i % 3 == 0})
            self.users[uid] = user
        self.customers = {}
        for c in range(self.N_CUSTOMERS):
            self.customers[f"cust-{c}"] = {
                "id": f"cust-{c}", "name": f"Customer {c}", "usage_health": ("Good", "Fair", "Poor")[c % 3],
                "health_score": 40 + c / 2, "last_login": now - c * 3600,
                "custom_fields": {"tier": "gold" if c % 5 == 0 else "silver", "arr": 1000 * c,
                                  "renewal_due": c % 2 == 0}}

    def push_product_data(self):
        self.push_customers(list(self.customers.values()))
        self.push_users(list(self.users.values()))

    # ---- expectations ----

    def contact_index(self, contact_id):
        return self.contact_pos[contact_id]

    def expected_tickets(self, now):
        out = {}
        for conv in self.ws.conversations.values():
            i = self.contact_index(conv["contacts"]["contacts"][0]["id"])
            uid = self.matched_user(i)
            if uid is None:
                continue
            out[conv["id"]] = {
                "user_id": uid, "customer_id": self.users[uid]["customer_id"],
                "status": ticket_status(conv, now, self.THRESHOLD_H),
                "matched_by": "external_id" if uid.startswith("ext-") else "email",
                "state": conv["state"], "waiting_since": conv["waiting_since"],
                "created_at": conv["created_at"], "updated_at": conv["updated_at"],
                "title": conv["source"]["body"][3:-4], "contact_id": conv["contacts"]["contacts"][0]["id"],
                "link": f"https://app.intercom.com/a/inbox/{WS}/inbox/conversation/{conv['id']}"}
        return out

    def matched_user(self, i):
        uid = self.late.get(i) or self.user_id(i)
        return uid if uid in self.users else None

    def expected_health(self, tickets):
        counts = {c: {"open": 0, "overdue": 0, "resolved": 0} for c in self.customers}
        for t in tickets.values():
            counts[t["customer_id"]][t["status"]] += 1
        return {c: (health_of(n, self.FAIR_OVERDUE, self.POOR_OVERDUE, self.FAIR_UNRESOLVED), n)
                for c, n in counts.items()}

    def assert_tickets(self, expected):
        got = self.all("/tickets")
        ids = [t["id"] for t in got]
        self.assertEqual(len(ids), len(set(ids)), "a conversation became two tickets")
        self.assertEqual(set(ids), set(expected))
        wrong = []
        for t in got:
            e = expected[t["id"]]
            seen = {k: t[k] for k in e}
            if seen != e:
                wrong.append((t["id"], seen, e))
        self.assertEqual(wrong[:5], [], f"{len(wrong)} tickets differ")
        return got

    def assert_health(self, expected):
        customers = self.all("/customers")
        self.assertEqual({c["id"] for c in customers}, set(self.customers))
        wrong = [(c["id"], c["support_health"]["health"], c["support_health"]["tickets"], expected[c["id"]])
                 for c in customers
                 if (c["support_health"]["health"], c["support_health"]["tickets"]) != expected[c["id"]]]
        self.assertEqual(wrong[:5], [], f"{len(wrong)} customers' health differs")
        # The health route says the same, with the thresholds that produced it.
        h = self.get("/customers/cust-1/health")
        self.assertEqual((h["health"], h["tickets"]), expected["cust-1"])
        self.assertEqual(h["thresholds"], {"overdue_threshold_hours": self.THRESHOLD_H,
                                           "fair_overdue": self.FAIR_OVERDUE,
                                           "poor_overdue": self.POOR_OVERDUE,
                                           "fair_unresolved": self.FAIR_UNRESOLVED})

    def assert_pushed(self):
        """Intercom holds exactly the product's values on every contact and company."""
        wrong = []
        for i, c in enumerate(self.contacts):
            uid = self.matched_user(i)
            want = contact_attrs(self.users[uid]) if uid else {}
            have = present(self.ws.contacts[c["id"]]["custom_attributes"])
            if have != want:
                wrong.append((c["id"], have, want))
        for company in self.ws.companies.values():
            cust = self.customers.get(company["company_id"])
            want = company_attrs(cust) if cust else {}
            have = present(company["custom_attributes"])
            if have != want:
                wrong.append((company["company_id"], have, want))
        self.assertEqual(wrong[:5], [], f"{len(wrong)} Intercom records differ from the product")

    def test_full_then_incremental(self):
        self.build()
        started = time.time()
        last = self.install(self.push_product_data, timeout=600)
        full_s = time.time() - started
        now = int(time.time())

        # -- the first run read everything, one page of 150 at a time --
        self.assertEqual((last["mode"], last["result"], last["warnings"]), ("full", "ok", []))
        pages = self.sent("GET", r"^/conversations$")
        self.assertEqual(len(pages), math.ceil(self.N_CONV / PER_PAGE))
        self.assertTrue(all(p["query"]["per_page"] == str(PER_PAGE) for p in pages))
        self.assertEqual(self.sent("POST", r"^/conversations/search$"), [])
        self.assert_no_list_requests()
        expected = self.expected_tickets(now)
        n_skipped = self.N_CONV - len(expected)
        # Contacts are read only when the conversation's external id matches no user,
        # once each: the email-matched and the unmatched ones.
        reads = [r["path"] for r in self.sent("GET", r"^/contacts/[0-9a-f]{24}$")]
        want_reads = {f"/contacts/{c['id']}" for i, c in enumerate(self.contacts) if i % 10 >= 7}
        self.assertEqual(sorted(reads), sorted(want_reads))
        users_with_values = [u for u in self.users.values() if contact_attrs(u)]
        self.assertEqual({k: last["counts"][k] for k in (
            "synced", "created", "skipped", "failed", "companies", "customers_created",
            "contacts_read", "contacts_updated", "companies_updated", "push_failed")},
            {"synced": len(expected), "created": 0, "skipped": n_skipped, "failed": 0,
             "companies": self.N_CUSTOMERS + 10, "customers_created": 0,
             "contacts_read": len(want_reads), "contacts_updated": len(users_with_values),
             "companies_updated": self.N_CUSTOMERS, "push_failed": 0})
        self.assertEqual(last["totals"], {"tickets": len(expected), "skipped": n_skipped,
                                          "users": len(self.users), "customers": self.N_CUSTOMERS})

        # -- tickets, skipped conversations, health: exactly what the data says --
        self.assert_tickets(expected)
        # Per customer and per user, in small pages, each ticket exactly once.
        for cust in ("cust-0", "cust-13"):
            want = {t for t, e in expected.items() if e["customer_id"] == cust}
            paged = [t["id"] for t in self.all(f"/tickets?customer_id={cust}", limit=7)]
            self.assertEqual((len(paged), set(paged)), (len(want), want))
            overdue = {t["id"] for t in self.all(f"/tickets?customer_id={cust}&status=overdue", limit=3)}
            self.assertEqual(overdue, {t for t in want if expected[t]["status"] == "overdue"})
        for uid in ("ext-1", "u-18"):
            paged = [t["id"] for t in self.all(f"/tickets?user_id={uid}", limit=2)]
            self.assertEqual(sorted(paged), sorted(t for t, e in expected.items() if e["user_id"] == uid))
        skipped = self.all("/skipped")
        self.assertEqual(len(skipped), n_skipped)
        self.assertTrue(all("no user has the external id or email" in s["reason"] for s in skipped))
        health = self.expected_health(expected)
        self.assertEqual({h for h, _ in health.values()}, {"Good", "Fair", "Poor"},
                         "the data set should exercise every health")
        self.assert_health(health)
        # Every matched user is linked to its contact (the push writes there).
        self.assertEqual({u["id"]: u.get("intercom_contact_id") for u in self.all("/users")},
                         {uid: self.contact_of(uid) for uid in self.users})

        # -- advanced push: attributes created once each, values exactly the product's --
        created = sorted((r["json"]["model"], r["json"]["name"], r["json"]["data_type"])
                         for r in self.sent("POST", r"^/data_attributes$"))
        self.assertEqual(created, sorted(
            [("contact", "sd_beta", "boolean"), ("contact", "sd_health_score", "float"),
             ("contact", "sd_last_login", "datetime"), ("contact", "sd_plan", "string"),
             ("contact", "sd_seats", "integer"), ("contact", "sd_usage_health", "string")]
            + [("company", n, "string") for n in ("sd_arr", "sd_health_score", "sd_last_login",
                                                   "sd_renewal_due", "sd_tier", "sd_usage_health")]))
        self.assertEqual(len(self.sent("PUT", r"^/contacts/")), len(users_with_values))
        self.assertEqual(len(self.sent("PUT", r"^/companies/")), self.N_CUSTOMERS)
        self.assert_pushed()

        # -- changes in Intercom and in the product --
        since = self.mark()
        with self.ws.lock:
            convs = self.convs
            answered = [c for c in convs if expected.get(c["id"], {}).get("status") == "overdue"][:100]
            for c in answered:
                self.fake.touch_conversation(WS, c["id"])
            taken = {c["id"] for c in answered}
            closed = [c for c in convs if c["state"] == "open" and c["id"] not in taken][:50]
            for c in closed:
                self.fake.close_conversation(WS, c["id"])
            rewaiting = [c for c in convs if c["state"] == "open" and c["waiting_since"] is None
                         and c["id"] not in taken][:10]
            for c in rewaiting:
                self.fake.add_user_reply(WS, c["id"], "Any news?")
            new = [self.ws.add_conversation(f"New question {k}", contact=self.ws.contacts[
                self.contacts[k * 7 % self.N_CONTACTS]["id"]]) for k in range(40)]
            changed = {c["id"] for c in answered + closed + rewaiting + new}
        self.assertEqual(len(changed), 200)
        # A skipped contact whose conversations did not change gets its user in the product.
        late = next(i for i in range(self.N_CONTACTS) if i % 10 == 9
                    and not any(self.contact_index(c["contacts"]["contacts"][0]["id"]) == i
                                for c in self.ws.conversations.values() if c["id"] in changed))
        late_user = {"id": f"ext-{late}", "email": f"late{late}@{WS}.example",
                     "customer_id": f"cust-{late % self.N_CUSTOMERS}"}
        self.users[late_user["id"]] = late_user
        self.late[late] = late_user["id"]
        self.push_users([late_user])
        changed_users = users_with_values[:5]
        for u in changed_users:
            u["health_score"] = u["health_score"] + 0.5
            self.api("PUT", f"/users/{u['id']}", u, expect=200)
        dropped = users_with_values[5]
        del dropped["custom_fields"]["plan"]
        self.api("PUT", f"/users/{dropped['id']}", dropped, expect=200)
        for c in ("cust-3", "cust-4"):
            was = self.customers[c]["usage_health"]
            self.customers[c]["usage_health"] = "Poor" if was != "Poor" else "Good"
            self.api("PUT", f"/customers/{c}", self.customers[c], expect=200)
        self.customers["cust-5"]["custom_fields"]["segment"] = "enterprise"
        self.api("PUT", "/customers/cust-5", self.customers["cust-5"], expect=200)

        started = time.time()
        last2 = self.sync()
        incr_s = time.time() - started
        now = int(time.time())

        # -- the second run read only what changed --
        self.assertEqual((last2["mode"], last2["result"]), ("incremental", "ok"))
        self.assertEqual(self.sent("GET", r"^/conversations$", since), [])
        searches = self.sent("POST", r"^/conversations/search$", since)
        self.assertEqual(len(searches), math.ceil(len(changed) / PER_PAGE))
        q = searches[0]["json"]["query"]
        self.assertEqual((q["field"], q["operator"]), ("updated_at", ">"))
        self.assertEqual(q["value"], last["started_at"] // 1000 - 1 - 300)
        changed_matched = [cid for cid in changed
                           if self.matched_user(self.contact_index(
                               self.ws.conversations[cid]["contacts"]["contacts"][0]["id"]))]
        # the late user's 5 earlier conversations come from the skipped phase, without Intercom
        self.assertEqual(last2["counts"]["synced"], len(changed_matched) + self.N_CONV // self.N_CONTACTS)
        self.assertEqual(last2["counts"]["skipped"], len(changed) - len(changed_matched))
        # Contacts read again: those of changed conversations whose external id is not a user's.
        reads = [r["path"] for r in self.sent("GET", r"^/contacts/[0-9a-f]{24}$", since)]
        contacts = {self.ws.conversations[cid]["contacts"]["contacts"][0]["id"] for cid in changed}
        self.assertEqual(sorted(reads), sorted(f"/contacts/{c}" for c in contacts
                                               if self.contact_index(c) % 10 >= 7))
        self.assertEqual(last2["counts"]["contacts_read"], len(reads))
        expected = self.expected_tickets(now)
        self.assert_tickets(expected)
        self.assertEqual(len(self.all("/skipped")), len(self.ws.conversations) - len(expected))
        self.assert_health(self.expected_health(expected))

        # -- push: only changed values, the new attribute created once --
        created = [(r["json"]["model"], r["json"]["name"], r["json"]["data_type"])
                   for r in self.sent("POST", r"^/data_attributes$", since)]
        self.assertEqual(created, [("company", "sd_segment", "string")])
        puts = {r["path"]: r["json"]["custom_attributes"] for r in self.sent("PUT", r"^/contacts/", since)}
        want = {f"/contacts/{self.contact_of(u['id'])}": {"sd_health_score": float(u["health_score"])}
                for u in changed_users}
        want[f"/contacts/{self.contact_of(dropped['id'])}"] = {"sd_plan": None}
        self.assertEqual(puts, want)
        cputs = {r["path"]: r["json"]["custom_attributes"]
                 for r in self.sent("PUT", r"^/companies/", since)}
        cid = {c["company_id"]: c["id"] for c in self.ws.companies.values()}
        self.assertEqual(cputs, {
            f"/companies/{cid['cust-3']}": {"sd_usage_health": self.customers["cust-3"]["usage_health"]},
            f"/companies/{cid['cust-4']}": {"sd_usage_health": self.customers["cust-4"]["usage_health"]},
            f"/companies/{cid['cust-5']}": {"sd_segment": "enterprise"}})
        self.assert_pushed()
        print(f"\n  {self.N_CONV} conversations: full sync {full_s:.1f} s, incremental {incr_s:.1f} s",
              end=" ")

    def contact_of(self, user_id):
        """The Intercom contact of a product user, by how the data set was built."""
        i = int(user_id.split("-")[1])
        return self.contacts[i]["id"]


# ---------------------------------------------------------------------------
# A crash in the middle of a sync
# ---------------------------------------------------------------------------

class CrashResume(StartdeliverCase):
    """kill -9 while the conversations phase waits for a page; the restart resumes there."""

    N_CONV, N_CONTACTS = 3_000, 600
    HELD_PAGE = 8

    def user_of(self, i):
        k = i % 5
        return f"ext-{i}" if k < 3 else f"m-{i}" if k == 3 else None

    def build(self):
        now = int(time.time())
        self.contacts = self.fake.seed_contacts(WS, self.N_CONTACTS)
        self.pos = {c["id"]: i for i, c in enumerate(self.contacts)}
        with self.ws.lock:
            for j in range(self.N_CONV):
                # 70-49 h old, then 20-7.5 h old: clear of the 24 h threshold
                at = now - 70 * HOUR + j * 50 if j < 1500 else now - 20 * HOUR + (j - 1500) * 30
                contact = self.ws.contacts[self.contacts[(j * 7) % self.N_CONTACTS]["id"]]
                conv = self.ws.add_conversation(f"Crash data {j}", contact=contact, created_at=at)
                if j % 4 == 0:
                    self.fake.close_conversation(WS, conv["id"], at=at + 60)
                elif j % 4 == 1:
                    self.fake.touch_conversation(WS, conv["id"], at=at + 60)
        self.users = []
        for i in range(self.N_CONTACTS):
            uid = self.user_of(i)
            if uid:
                self.users.append({"id": uid, "email": f"user{i}@{WS}.example",
                                   "customer_id": f"c{i % 7}"})
        self.customers = [{"id": f"c{k}", "name": f"C{k}"} for k in range(7)]

    def expected(self, convs, now):
        """(tickets by conversation, skipped ids, contacts that must be read) for @convs."""
        tickets, skipped, reads = {}, set(), set()
        for conv in convs:
            contact = conv["contacts"]["contacts"][0]["id"]
            i = self.pos[contact]
            uid = self.user_of(i)
            if i % 5 >= 3:
                reads.add(contact)
            if uid is None:
                skipped.add(conv["id"])
            else:
                tickets[conv["id"]] = (uid, ticket_status(conv, now, 24))
        return tickets, skipped, reads

    def test_kill_mid_conversations_resumes_from_checkpoint(self):
        self.build()
        in_order = sorted(self.ws.conversations.values(), key=lambda c: (c["created_at"], c["id"]))
        # Page HELD_PAGE is the (HELD_PAGE - 1)-th request that carries a cursor.
        held = self.fake.hold("GET", r"^/conversations$", query="starting_after",
                              skip=self.HELD_PAGE - 2)

        def product():
            self.push_customers(self.customers)
            self.push_users(self.users)
        self.install(product, wait=False)
        request = held.wait_arrived()
        cursor = request["query"]["starting_after"]
        done_pages = self.HELD_PAGE - 1
        done = in_order[:done_pages * PER_PAGE]
        now = int(time.time())
        tickets, skipped, reads = self.expected(done, now)

        # While it waits for the page, the integrator sees the progress of the committed pages,
        # and only one page is ever asked for at a time (pages stream, none is read ahead).
        s = self.status()
        running = s["running"]
        first_run = running["run"]
        self.assertEqual((running["mode"], running["phase"]), ("full", "conversations"))
        self.assertEqual(running["progress"], {"pages": done_pages,
                                               "conversations": done_pages * PER_PAGE,
                                               "total": self.N_CONV})
        self.assertEqual((running["counts"]["synced"], running["counts"]["skipped"],
                          running["counts"]["contacts_read"]),
                         (len(tickets), len(skipped), len(reads)))
        self.assertNotIn("cursor", running)
        self.assertEqual(len(self.sent("GET", r"^/conversations$")), self.HELD_PAGE)
        self.assertEqual(self.api("POST", "/sync", expect=409).json()["running"]["run"], first_run)

        # Crash while the page is in flight. The restarted server resumes the same run at
        # that very page; hold it there to look at what it kept.
        resumed = self.fake.hold("GET", r"^/conversations$",
                                 query=re.escape(urllib.parse.urlencode({"starting_after": cursor})))
        self.srv.kill()
        held.release()
        before_restart = self.mark()
        self.srv.start()
        again = resumed.wait_arrived()
        self.assertEqual(again["query"]["starting_after"], cursor)
        s = self.status()
        self.assertEqual(s["running"]["run"], first_run)
        self.assertEqual(s["running"]["progress"]["pages"], done_pages)
        self.assertEqual((s["running"]["counts"]["synced"], s["running"]["counts"]["skipped"]),
                         (len(tickets), len(skipped)))
        self.assertEqual(len(self.all("/tickets")), len(tickets))
        resumed.release()
        last = self.wait_sync(None)

        # -- one run, complete, nothing twice --
        now = int(time.time())
        tickets, skipped, reads = self.expected(in_order, now)
        self.assertEqual((last["run"], last["mode"], last["result"]), (first_run, "full", "ok"))
        self.assertEqual({k: last["counts"][k] for k in ("synced", "skipped", "failed", "created",
                                                          "contacts_read")},
                         {"synced": len(tickets), "skipped": len(skipped), "failed": 0,
                          "created": 0, "contacts_read": len(reads)})
        after = self.sent("GET", r"^/conversations$", before_restart)
        self.assertTrue(all("starting_after" in r["query"] for r in after), "restarted from page 1")
        self.assertEqual(len(after), math.ceil(self.N_CONV / PER_PAGE) - done_pages)
        # Every contact was read once, before or after the crash.
        read = [r["path"] for r in self.sent("GET", r"^/contacts/[0-9a-f]{24}$")]
        self.assertEqual(sorted(read), sorted(f"/contacts/{c}" for c in reads))

        got = self.all("/tickets")
        self.assertEqual(len(got), len({t["id"] for t in got}))
        self.assertEqual({t["id"]: (t["user_id"], t["status"]) for t in got}, tickets)
        self.assertEqual({s["conversation"]["id"] for s in self.all("/skipped")}, skipped)
        # The per-user and per-customer indexes hold each ticket once too.
        per_user = sum(len(self.all(f"/tickets?user_id={u['id']}")) for u in self.users)
        self.assertEqual(per_user, len(tickets))
        per_customer = [self.get(f"/customers/{c['id']}/health")["tickets"] for c in self.customers]
        self.assertEqual(sum(sum(t.values()) for t in per_customer), len(tickets))
        by_status = {st: sum(1 for _, x in tickets.values() if x == st)
                     for st in ("open", "overdue", "resolved")}
        self.assertEqual({st: sum(t[st] for t in per_customer) for st in by_status}, by_status)

    def test_sigterm_mid_sync_exits_cleanly_and_resumes(self):
        """A restart (deploy) while contacts of a page are being read: clean exit, then resume."""
        self.build()
        held = self.fake.hold("GET", r"^/contacts/[0-9a-f]{24}$", skip=40)

        def product():
            self.push_customers(self.customers)
            self.push_users(self.users)
        self.install(product, wait=False)
        held.wait_arrived()
        self.assertEqual(self.srv.stop(), 0)
        held.release()
        self.srv.start()
        last = self.wait_sync(None)
        tickets, skipped, reads = self.expected(self.ws.conversations.values(), int(time.time()))
        self.assertEqual((last["result"], last["counts"]["synced"], last["counts"]["skipped"]),
                         ("ok", len(tickets), len(skipped)))
        self.assertEqual(len(self.all("/tickets")), len(tickets))


class SlowRun(StartdeliverCase):
    """A run that outlives jobs.pending_timeout_s: the job's next delivery takes the run over."""
    server_settings = {"jobs": {"pending_timeout_s": 2},
                       "intercom": {"request_timeout_s": 30}}   # the held page must not time out

    def test_redelivered_job_joins_the_running_sync(self):
        with self.ws.lock:
            contact = self.ws.add_contact(email="slow@acme.test", name="Slow", external_id="slow")
        conversations_of(self.ws, contact, 400, int(time.time()) - 30 * HOUR, step=30)
        held = self.fake.hold("GET", r"^/conversations$", query="starting_after")
        self.install(lambda: self.push_users([{"id": "slow"}]), wait=False)
        held.wait_arrived()
        run = self.status()["running"]["run"]
        self.srv.wait_log(r"job \d+ joins the sync already running", timeout=15)
        held.release()
        last = self.wait_sync(None)
        self.assertEqual((last["run"], last["result"], last["counts"]["synced"]), (run, "ok", 400))
        self.assertEqual(len(self.sent("GET", r"^/conversations$")), math.ceil(400 / PER_PAGE))
        # One job, done (its completion is committed in the next batch of job updates).
        jobs = lambda: self.srv.admin("GET", f"/jobs?plugin={PLUGIN}&limit=100").json()["jobs"]
        wait_for(lambda: [j["state"] for j in jobs()] == ["done"], message="the sync job done")
        self.assertEqual([(j["type"], j["attempts"] > 1) for j in jobs()], [("sync", True)])


# ---------------------------------------------------------------------------
# Contacts that match no user
# ---------------------------------------------------------------------------

class SkipUnmatched(StartdeliverCase):
    """create_users off: unmatched contacts' tickets are skipped, counted, and picked up later."""

    def test_skipped_then_matched_then_created(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            a = ws.add_contact(email="ann@acme.test", name="Ann", external_id="user-ann")
            b = ws.add_contact(email="Bob@Acme.Test", name="Bob", external_id="crm-77")
            c = ws.add_contact(email="cid@acme.test", name="Cid", external_id="user-cid")
            d = ws.add_contact(email="dee@acme.test", name="Dee")
            e = ws.add_contact(email="eve@acme.test", name="Eve", role="lead")
        convs = {x["id"]: conversations_of(ws, x, 3, now - 10 * HOUR) for x in (a, b, c, d, e)}

        def product():
            self.push_users([{"id": "user-ann", "email": "other@acme.test"},
                             {"id": "ann-by-mail", "email": "ann@acme.test"},   # loses: external id first
                             {"id": "bob", "email": "bob@acme.test"}])
        last = self.install(product)
        # a: by external id (no read); b: its external id names no user, so the contact is
        # read and matched by email; c, d, e: read, nothing matches.
        self.assertEqual({k: last["counts"][k] for k in ("synced", "skipped", "created", "contacts_read")},
                         {"synced": 6, "skipped": 9, "created": 0, "contacts_read": 4})
        self.assertEqual(sorted(r["path"] for r in self.sent("GET", r"^/contacts/[0-9a-f]{24}$")),
                         sorted(f"/contacts/{x['id']}" for x in (b, c, d, e)))
        tickets = {t["id"]: t for t in self.all("/tickets")}
        self.assertEqual({t["user_id"] for t in tickets.values()}, {"user-ann", "bob"})
        self.assertEqual({tickets[cv["id"]]["matched_by"] for cv in convs[a["id"]]}, {"external_id"})
        self.assertEqual({tickets[cv["id"]]["matched_by"] for cv in convs[b["id"]]}, {"email"})
        skipped = {s["conversation"]["id"]: s for s in self.all("/skipped")}
        self.assertEqual(set(skipped), {cv["id"] for x in (c, d, e) for cv in convs[x["id"]]})
        one = skipped[convs[d["id"]][0]["id"]]
        self.assertEqual(one["reason"], f"no user has the external id or email of contact {d['id']}")
        self.assertEqual((one["contact"]["id"], one["contact"]["email"]), (d["id"], "dee@acme.test"))
        # Matched users are linked to their contacts; nobody was created.
        self.assertEqual(self.get("/users/bob")["intercom_contact_id"], b["id"])
        self.assertNotIn("intercom_contact_id", self.get("/users/ann-by-mail"))
        self.assertEqual(len(self.all("/users")), 3)
        self.assertEqual(self.status()["last_sync"]["totals"]["skipped"], 9)

        # The product pushes two of the missing users: the next (incremental) run makes
        # their skipped conversations tickets from what it stored, without asking Intercom.
        self.push_users([{"id": "user-cid"}, {"id": "dee", "email": "DEE@acme.test"}])
        since = self.mark()
        last = self.sync()
        self.assertEqual({k: last["counts"][k] for k in ("synced", "skipped", "created", "contacts_read")},
                         {"synced": 6, "skipped": 0, "created": 0, "contacts_read": 0})
        self.assertEqual(self.sent("GET", r"^/contacts/", since), [])
        self.assertEqual(len(self.sent("POST", r"^/conversations/search$", since)), 1)
        self.assertEqual({s["conversation"]["id"] for s in self.all("/skipped")},
                         {cv["id"] for cv in convs[e["id"]]})
        tickets = {t["id"]: t for t in self.all("/tickets")}
        self.assertEqual(len(tickets), 12)
        self.assertEqual({(tickets[cv["id"]]["user_id"], tickets[cv["id"]]["matched_by"])
                          for cv in convs[c["id"]]}, {("user-cid", "external_id")})
        self.assertEqual({(tickets[cv["id"]]["user_id"], tickets[cv["id"]]["matched_by"])
                          for cv in convs[d["id"]]}, {("dee", "email")})
        # A run with nothing new skips nothing again and counts nothing.
        last = self.sync()
        self.assertEqual((last["counts"]["synced"], last["counts"]["skipped"]), (0, 0))
        self.assertEqual(last["totals"]["skipped"], 3)

        # create_users switched on: the last contact becomes a user (no external id:
        # "intercom-<contact id>"), marked as coming from Intercom.
        self.set_settings(create_users=True)
        last = self.sync()
        self.assertEqual((last["counts"]["synced"], last["counts"]["created"]), (3, 1))
        self.assertEqual(self.all("/skipped"), [])
        user = self.get(f"/users/intercom-{e['id']}")
        self.assertEqual({k: user[k] for k in ("email", "name", "origin", "intercom_contact_id")},
                         {"email": "eve@acme.test", "name": "Eve", "origin": "intercom",
                          "intercom_contact_id": e["id"]})
        self.assertEqual(len(self.all(f"/tickets?user_id=intercom-{e['id']}")), 3)

    def test_conversations_that_cannot_become_tickets(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            gone = ws.add_contact(email="gone@acme.test", name="Gone", external_id="crm-gone")
            kept = ws.add_contact(email="kept@acme.test", name="Kept", external_id="user-kept")
        lost = conversations_of(ws, gone, 1, now - 4 * HOUR)[0]
        fine = conversations_of(ws, kept, 1, now - 4 * HOUR)[0]
        nobody = conversations_of(ws, kept, 1, now - 3 * HOUR)[0]
        with ws.lock:
            nobody["contacts"]["contacts"] = []
        for c in (gone, kept):                             # both deleted in Intercom since
            self.fake.delete_contact(WS, c["id"])
        last = self.install(lambda: self.push_users([{"id": "user-kept"}]))
        # kept's conversation carries its external id: no read needed, it becomes a ticket.
        # gone's contact cannot be read (404), and one conversation has no contact at all.
        self.assertEqual({k: last["counts"][k] for k in ("synced", "skipped", "failed", "contacts_read")},
                         {"synced": 1, "skipped": 0, "failed": 2, "contacts_read": 1})
        self.assertEqual([t["id"] for t in self.all("/tickets")], [fine["id"]])
        self.assertEqual(self.all("/skipped"), [])
        self.assertEqual([r["status"] for r in self.sent("GET", r"^/contacts/")], [404])
        self.srv.wait_log(rf"contact {gone['id']} of conversation {lost['id']} no longer exists "
                          "in Intercom")
        self.srv.wait_log(rf"conversation {nobody['id']} has no contact")


class CreateUnmatched(StartdeliverCase):
    """create_users on: unmatched contacts become users, unmatched companies customers."""
    defaults = {"create_users": True}

    def test_users_and_customers_created_once(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            acme = ws.upsert_company({"company_id": "acme", "name": "Acme"})
            globex = ws.upsert_company({"company_id": "globex", "name": "Globex"})
            odd = ws.upsert_company({"company_id": "Big Co/1", "name": "Big Co"})
            people = {
                "p1": ws.add_contact(email="p1@acme.test", name="Pia", external_id="p-1"),
                "p2": ws.add_contact(email="p2@globex.test", name="Pete"),
                "p3": ws.add_contact(email="p3@big.test", name="Pam", external_id="bad id!"),
                "known": ws.add_contact(email="k@acme.test", name="Kim", external_id="known"),
                "mail": ws.add_contact(email="Mo@Acme.test", name="Mo", external_id="crm-9"),
            }
            for key, company in (("p1", acme), ("p2", globex), ("p3", odd), ("known", acme),
                                 ("mail", acme)):
                ws.attach_company(people[key], company)
        for contact in people.values():
            conversations_of(ws, contact, 2, now - 5 * HOUR)

        def product():
            self.push_customers([{"id": "acme", "name": "Acme Inc"}])
            self.push_users([{"id": "known", "customer_id": "acme"},
                             {"id": "mo", "email": "mo@acme.test", "customer_id": "acme"}])
        last = self.install(product)
        self.assertEqual({k: last["counts"][k] for k in ("synced", "created", "skipped", "failed",
                                                          "companies", "customers_created")},
                         {"synced": 10, "created": 3, "skipped": 0, "failed": 0, "companies": 3,
                          "customers_created": 2})
        odd_customer = f"intercom-company-{odd['id']}"
        customers = {c["id"]: c for c in self.all("/customers")}
        self.assertEqual(set(customers), {"acme", "globex", odd_customer})
        self.assertEqual({k: (c["origin"], c["intercom_company_id"], c.get("name"))
                          for k, c in customers.items()},
                         {"acme": ("product", acme["id"], "Acme Inc"),
                          "globex": ("intercom", globex["id"], "Globex"),
                          odd_customer: ("intercom", odd["id"], "Big Co")})
        users = {u["id"]: u for u in self.all("/users")}
        p2, p3 = f"intercom-{people['p2']['id']}", f"intercom-{people['p3']['id']}"
        self.assertEqual({k: (u["origin"], u.get("customer_id"), u.get("email"), u.get("name"),
                              u.get("intercom_contact_id")) for k, u in users.items()},
                         {"known": ("product", "acme", None, None, people["known"]["id"]),
                          "mo": ("product", "acme", "mo@acme.test", None, people["mail"]["id"]),
                          "p-1": ("intercom", "acme", "p1@acme.test", "Pia", people["p1"]["id"]),
                          p2: ("intercom", "globex", "p2@globex.test", "Pete", people["p2"]["id"]),
                          p3: ("intercom", odd_customer, "p3@big.test", "Pam", people["p3"]["id"])})
        tickets = self.all("/tickets")
        self.assertEqual(sorted((t["user_id"], t["customer_id"]) for t in tickets), sorted(
            [(u, users[u]["customer_id"]) for u in users for _ in range(2)]))
        self.assertEqual(self.get("/customers/globex/health")["tickets"],
                         {"open": 2, "overdue": 0, "resolved": 0})

        # Reading everything again creates nothing again.
        last = self.sync(full=True)
        self.assertEqual({k: last["counts"][k] for k in ("synced", "created", "customers_created")},
                         {"synced": 10, "created": 0, "customers_created": 0})
        self.assertEqual(len(self.all("/users")), 5)
        # The product takes over a created user: it becomes the product's, the link stays.
        self.api("PUT", "/users/p-1", {"name": "Pia P.", "customer_id": "acme"}, expect=200)
        user = self.get("/users/p-1")
        self.assertEqual((user["origin"], user["name"], user["intercom_contact_id"], user.get("email")),
                         ("product", "Pia P.", people["p1"]["id"], None))


# ---------------------------------------------------------------------------
# Support health at its boundaries
# ---------------------------------------------------------------------------

class HealthBoundaries(StartdeliverCase):
    defaults = {"overdue_threshold_hours": 10, "health_fair_overdue": 2, "health_poor_overdue": 4,
                "health_fair_unresolved": 5}

    # customer -> list of tickets per user: "O" overdue (waiting 30 h), "S" snoozed and
    # waiting 30 h, "W" waiting 2 h, "A" answered (not waiting), "R" resolved,
    # "E+" waiting 10 h + 2 min, "E-" waiting 10 h - 2 min
    CASES = {
        "none": [[]],
        "o1": [["O"]],
        "o2": [["O", "S"]],
        "o3": [["O", "O", "O", "R", "R", "R", "R", "R"]],
        "o4": [["O", "O", "O", "O"]],
        "u4": [["W", "W", "A", "A"]],
        "u5": [["W", "W", "W", "A", "A"]],
        "mix": [["O", "W", "W", "A", "A"]],
        "r": [["R"] * 6],
        "edge": [["E+", "E-"]],
        "two": [["O", "O"], ["O", "O", "R"]],
    }

    def seed(self):
        now, ws = int(time.time()), self.ws
        self.kinds = {}
        users, customers = [], []
        for cust, per_user in self.CASES.items():
            customers.append({"id": cust, "name": cust.upper()})
            for n, kinds in enumerate(per_user):
                uid = f"{cust}-{n}"
                users.append({"id": uid, "customer_id": cust})
                with ws.lock:
                    contact = ws.add_contact(email=f"{uid}@health.test", name=uid, external_id=uid)
                    for k, kind in enumerate(kinds):
                        waited = {"O": 30 * HOUR, "S": 30 * HOUR, "E+": 10 * HOUR + 120,
                                  "E-": 10 * HOUR - 120}.get(kind, 2 * HOUR)
                        conv = ws.add_conversation(f"{uid} {kind} {k}", contact=contact,
                                                   created_at=now - waited)
                        if kind == "S":
                            self.fake.snooze_conversation(WS, conv["id"], now + 86400,
                                                          at=now - waited + 60)
                        elif kind == "A":
                            self.fake.touch_conversation(WS, conv["id"], at=now - waited + 60)
                        elif kind == "R":
                            self.fake.close_conversation(WS, conv["id"], at=now - waited + 60)
                        self.kinds[conv["id"]] = kind
        return users, customers

    def health(self, cust):
        h = self.get(f"/customers/{cust}/health")
        return h["health"], h["tickets"], h["reason"]

    def test_good_fair_poor_at_each_threshold(self):
        users, customers = self.seed()
        self.install(lambda: (self.push_customers(customers), self.push_users(users)))
        t = lambda o, v, r: {"open": o, "overdue": v, "resolved": r}
        want = {
            "none": ("Good", t(0, 0, 0), "0 overdue and 0 unresolved tickets are below every threshold"),
            "o1": ("Good", t(0, 1, 0), "1 overdue and 1 unresolved tickets are below every threshold"),
            "o2": ("Fair", t(0, 2, 0), "2 overdue tickets reach the Fair threshold of 2"),
            "o3": ("Fair", t(0, 3, 5), "3 overdue tickets reach the Fair threshold of 2"),
            "o4": ("Poor", t(0, 4, 0), "4 overdue tickets reach the Poor threshold of 4"),
            "u4": ("Good", t(4, 0, 0), "0 overdue and 4 unresolved tickets are below every threshold"),
            "u5": ("Fair", t(5, 0, 0), "5 unresolved tickets reach the Fair threshold of 5"),
            "mix": ("Fair", t(4, 1, 0), "5 unresolved tickets reach the Fair threshold of 5"),
            "r": ("Good", t(0, 0, 6), "0 overdue and 0 unresolved tickets are below every threshold"),
            "edge": ("Good", t(1, 1, 0), "1 overdue and 2 unresolved tickets are below every threshold"),
            "two": ("Poor", t(0, 4, 1), "4 overdue tickets reach the Poor threshold of 4"),
        }
        self.assertEqual({c: self.health(c) for c in self.CASES}, want)
        listed = {c["id"]: (c["support_health"]["health"], c["support_health"]["tickets"])
                  for c in self.all("/customers")}
        self.assertEqual(listed, {c: w[:2] for c, w in want.items()})
        # Ticket statuses, and the status filter.
        status = {"O": "overdue", "S": "overdue", "W": "open", "A": "open", "R": "resolved",
                  "E+": "overdue", "E-": "open"}
        self.assertEqual({x["id"]: x["status"] for x in self.all("/tickets")},
                         {cid: status[k] for cid, k in self.kinds.items()})
        edge = self.all("/tickets?customer_id=edge&status=overdue")
        self.assertEqual([self.kinds[x["id"]] for x in edge], ["E+"])
        self.assertEqual(len(self.all("/tickets?customer_id=two")), 5)
        self.assertEqual(len(self.all("/tickets?customer_id=two&status=resolved")), 1)
        self.assertEqual(self.api("GET", "/tickets?status=late").status, 400)
        self.assertEqual(self.api("GET", "/customers/nobody/health").status, 404)

        # Thresholds change: health is read again from the same tickets, without a sync.
        requests = self.mark()
        self.set_settings(overdue_threshold_hours=9, health_poor_overdue=3, health_fair_unresolved=0)
        self.assertEqual(self.health("edge")[:2], ("Fair", t(0, 2, 0)))
        self.assertEqual(self.health("o3")[:2], ("Poor", t(0, 3, 5)))
        self.assertEqual(self.health("u5"), (
            "Good", t(5, 0, 0), "0 overdue and 5 unresolved tickets are below every threshold"))
        self.assertEqual(self.get("/customers/o3/health")["thresholds"],
                         {"overdue_threshold_hours": 9, "fair_overdue": 2, "poor_overdue": 3,
                          "fair_unresolved": 0})
        # Poor is tested first, so a Fair threshold above the Poor one still decides cleanly.
        self.set_settings(health_fair_overdue=5)
        self.assertEqual(self.health("o3")[0], "Poor")
        self.assertEqual(self.health("o2")[0], "Good")
        self.assertEqual(self.sent(since=requests), [])


# ---------------------------------------------------------------------------
# Advanced push: product values into Intercom attributes
# ---------------------------------------------------------------------------

class AdvancedPush(StartdeliverCase):
    defaults = {"advanced_push": True}
    LOGIN = 1_760_000_000

    def seed(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            # Attributes the workspace already has: one compatible, one of another type.
            for name, data_type in (("sd_usage_health", "string"), ("sd_seats", "string")):
                ws.add_data_attribute({"name": name, "model": "contact", "data_type": data_type},
                                      ws.owner()["id"])
            self.c1 = ws.add_contact(email="u1@push.test", name="One", external_id="u1")
            self.c2 = ws.add_contact(email="u2@push.test", name="Two", external_id="u2")
            self.c3 = ws.add_contact(email="u3@push.test", name="Three", external_id="crm-3")
            self.acme = ws.upsert_company({"company_id": "acme", "name": "Acme"})
            ws.attach_company(self.c1, self.acme)
        conversations_of(ws, self.c1, 1, now - 2 * HOUR)   # u1 is linked by its ticket
        self.users = {
            "u1": {"id": "u1", "customer_id": "acme", "usage_health": "Good", "health_score": 72,
                   "last_login": self.LOGIN,
                   "custom_fields": {"seats": 5, "plan": "pro", "nps": 8.5, "trial": True}},
            "u2": {"id": "u2", "health_score": 64.5},                  # found by external id
            "u3": {"id": "u3", "email": "U3@push.test", "usage_health": "Poor"},  # by email
            "u4": {"id": "u4", "email": "u4@nowhere.test", "usage_health": "Fair"},  # not in Intercom
            "u5": {"id": "u5", "email": "u5@nowhere.test"},            # nothing to push
        }
        self.customers = {
            "acme": {"id": "acme", "name": "Acme", "usage_health": "Good", "health_score": 81,
                     "last_login": self.LOGIN, "custom_fields": {"seats": 40, "vip": True}},
            "beta": {"id": "beta", "health_score": 10},                # no company in Intercom
        }

    def product(self):
        self.push_customers(list(self.customers.values()))
        self.push_users(list(self.users.values()))

    def puts(self, since, what="contacts"):
        return {r["path"].rsplit("/", 1)[1]: r["json"]["custom_attributes"]
                for r in self.sent("PUT", rf"^/{what}/", since)}

    def test_attributes_created_once_then_only_changes(self):
        self.seed()
        last = self.install(self.product)
        created = sorted((r["json"]["model"], r["json"]["name"], r["json"]["data_type"])
                         for r in self.sent("POST", r"^/data_attributes$"))
        self.assertEqual(created, sorted(
            [("contact", "sd_health_score", "float"), ("contact", "sd_last_login", "datetime"),
             ("contact", "sd_nps", "float"), ("contact", "sd_plan", "string"),
             ("contact", "sd_trial", "boolean")]
            + [("company", n, "string") for n in ("sd_health_score", "sd_last_login", "sd_seats",
                                                   "sd_usage_health", "sd_vip")]))
        self.assertEqual(sorted(r["query"]["model"] for r in self.sent("GET", r"^/data_attributes$")),
                         ["company", "contact"])
        # Users without a contact are looked up once, by external id (and email if they have one).
        eq = lambda field, value: {"field": field, "operator": "=", "value": value}
        either = lambda uid, email: {"operator": "OR", "value": [eq("external_id", uid),
                                                                 eq("email", email)]}
        searches = [r["json"] for r in self.sent("POST", r"^/contacts/search$")]
        self.assertEqual(sorted((q["query"] for q in searches), key=json.dumps), sorted(
            [eq("external_id", "u2"), either("u3", "u3@push.test"), either("u4", "u4@nowhere.test")],
            key=json.dumps))
        self.assertEqual(self.puts(0), {
            self.c1["id"]: {"sd_usage_health": "Good", "sd_health_score": 72.0,
                            "sd_last_login": self.LOGIN, "sd_plan": "pro", "sd_nps": 8.5,
                            "sd_trial": True},
            self.c2["id"]: {"sd_health_score": 64.5},
            self.c3["id"]: {"sd_usage_health": "Poor"}})
        self.assertEqual(self.puts(0, "companies"), {self.acme["id"]: {
            "sd_usage_health": "Good", "sd_health_score": "81", "sd_last_login": iso_utc(self.LOGIN),
            "sd_seats": "40", "sd_vip": "true"}})
        # sd_seats exists in Intercom as a string: integer values are not written, and the
        # run says so.
        self.assertEqual(last["result"], "partial")
        self.assertEqual(last["warnings"], ["the contact attribute sd_seats is of type string in "
                                            "Intercom; integer values are not written"])
        self.assertEqual({k: last["counts"][k] for k in ("attributes_created", "contacts_updated",
                                                          "companies_updated", "contacts_linked",
                                                          "push_failed")},
                         {"attributes_created": 10, "contacts_updated": 3, "companies_updated": 1,
                          "contacts_linked": 2, "push_failed": 1})
        self.assertEqual((self.get("/users/u2")["intercom_contact_id"],
                          self.get("/users/u3")["intercom_contact_id"]), (self.c2["id"], self.c3["id"]))
        self.assertNotIn("intercom_contact_id", self.get("/users/u4"))
        self.assertEqual(self.ws.contacts[self.c1["id"]]["custom_attributes"]["sd_trial"], True)
        audit = self.srv.admin("GET", f"/audit?installation={self.inst['id']}&subject=push").json()["audit"]
        self.assertEqual(sorted(a["detail"] for a in audit if a["action"] == "attribute_created"),
                         sorted(n for _, n, _ in created))

        # Nothing changed: nothing is created, searched or written.
        since = self.mark()
        last = self.sync()
        self.assertEqual(self.sent("POST", r"^/data_attributes$", since), [])
        self.assertEqual(self.sent("POST", r"^/contacts/search$", since), [])
        self.assertEqual(self.sent("PUT", None, since), [])
        self.assertEqual((last["counts"]["contacts_updated"], last["counts"]["companies_updated"]), (0, 0))

        # Changed values alone are written; removed ones are cleared (null on contacts, "" on
        # companies); a changed user without a contact is looked up again.
        u1 = self.users["u1"]
        u1["health_score"] = 73.5
        del u1["custom_fields"]["plan"]
        self.api("PUT", "/users/u1", u1, expect=200)
        acme = self.customers["acme"]
        del acme["custom_fields"]["vip"]
        acme["last_login"] = self.LOGIN + 86400
        self.api("PUT", "/customers/acme", acme, expect=200)
        self.api("PUT", "/users/u4", dict(self.users["u4"], usage_health="Poor"), expect=200)
        since = self.mark()
        last = self.sync()
        self.assertEqual(self.puts(since), {self.c1["id"]: {"sd_health_score": 73.5, "sd_plan": None}})
        self.assertEqual(self.puts(since, "companies"), {self.acme["id"]: {
            "sd_vip": "", "sd_last_login": iso_utc(self.LOGIN + 86400)}})
        self.assertEqual(len(self.sent("POST", r"^/contacts/search$", since)), 1)
        self.assertEqual(self.sent("POST", r"^/data_attributes$", since), [])
        attrs = self.ws.contacts[self.c1["id"]]["custom_attributes"]
        self.assertEqual(present(attrs), {"sd_usage_health": "Good", "sd_health_score": 73.5,
                                          "sd_last_login": self.LOGIN, "sd_nps": 8.5, "sd_trial": True})

    def test_contact_gone_is_looked_up_again(self):
        """A contact deleted (or merged away) in Intercom: the user finds its new contact."""
        self.seed()
        self.install(self.product)
        self.assertEqual(self.get("/users/u2")["intercom_contact_id"], self.c2["id"])
        self.fake.delete_contact(WS, self.c2["id"])
        with self.ws.lock:
            new = self.ws.add_contact(email="u2@push.test", name="Two again", external_id="u2")
        self.api("PUT", "/users/u2", {"health_score": 65}, expect=200)
        since = self.mark()
        last = self.sync()
        # The write meets the deleted contact: the link is dropped, the run counts it.
        self.assertEqual([r["path"] for r in self.sent("PUT", r"^/contacts/", since)],
                         [f"/contacts/{self.c2['id']}"])
        self.assertEqual(last["counts"]["push_failed"], 2)      # and the sd_seats conflict
        self.assertNotIn("intercom_contact_id", self.get("/users/u2"))
        # The next run looks the user up again and writes everything to the new contact.
        since = self.mark()
        self.sync()
        self.assertEqual(len(self.sent("POST", r"^/contacts/search$", since)), 1)
        self.assertEqual(self.puts(since), {new["id"]: {"sd_health_score": 65.0}})
        self.assertEqual(self.get("/users/u2")["intercom_contact_id"], new["id"])

    def test_crash_mid_push_resumes_at_its_batch(self):
        """kill -9 while a batch of attribute writes is out: the restart resumes at that batch."""
        ws, now, n = self.ws, int(time.time()), 120        # users are pushed 50 at a time
        users = [{"id": f"p{k:03d}", "usage_health": ("Good", "Poor")[k % 2], "health_score": k}
                 for k in range(n)]
        contacts = {}
        for u in users:
            with ws.lock:
                contacts[u["id"]] = ws.add_contact(email=f"{u['id']}@crash.test", name=u["id"],
                                                   external_id=u["id"])
            conversations_of(ws, contacts[u["id"]], 1, now - 2 * HOUR)
        held = self.fake.hold("PUT", r"^/contacts/", skip=60)       # a write of the second batch
        self.install(lambda: self.push_users(users), wait=False)
        held.wait_arrived()
        running = self.status()["running"]
        self.assertEqual((running["phase"], running["counts"]["contacts_updated"]), ("push", 50))
        before = len(self.sent("PUT", r"^/contacts/"))
        self.srv.kill()
        held.release()
        since = self.mark()
        self.srv.start()
        last = self.wait_sync(None)
        self.assertEqual((last["result"], last["counts"]["contacts_updated"], last["counts"]["synced"]),
                         ("ok", n, n))
        # The attributes exist now: the resumed run lists them and creates none.
        self.assertEqual(len(self.sent("POST", r"^/data_attributes$")), 2)
        self.assertEqual(self.sent("POST", r"^/data_attributes$", since), [])
        # The first batch was committed and is not written again; the interrupted one is
        # written again whole (a write repeated is harmless), the third once.
        by_path = {f"/contacts/{c['id']}": uid for uid, c in contacts.items()}
        again = {by_path[r["path"]] for r in self.sent("PUT", r"^/contacts/", since)}
        self.assertEqual(again, {u["id"] for u in users[50:]})
        writes = [by_path[r["path"]] for r in self.sent("PUT", r"^/contacts/")]
        once = [u["id"] for u in users[:50] + users[100:]]
        self.assertEqual(sorted(w for w in writes if w in once), sorted(once))
        self.assertGreater(before, 50)      # the second batch had begun when it was killed
        for u in users:
            self.assertEqual(present(ws.contacts[contacts[u["id"]]["id"]]["custom_attributes"]),
                             contact_attrs(u))

    def test_product_write_during_push_is_kept(self):
        """The product changes a user while the push looks its contact up."""
        self.seed()
        gate = self.fake.hold("POST", r"^/contacts/search$")
        self.install(self.product, wait=False)
        gate.wait_arrived()
        self.api("PUT", "/users/u4", {"email": "u4@nowhere.test", "name": "Uma",
                                      "usage_health": "Good"}, expect=200)
        gate.release()
        self.wait_sync(None)
        user = self.get("/users/u4")
        self.assertEqual((user.get("name"), user["usage_health"]), ("Uma", "Good"))
        # Its change is newer than the lookup, so the next run looks it up again.
        since = self.mark()
        self.sync()
        self.assertEqual(len(self.sent("POST", r"^/contacts/search$", since)), 1)


# ---------------------------------------------------------------------------
# Intercom events as usage events
# ---------------------------------------------------------------------------

class EventsAsUsage(StartdeliverCase):
    defaults = {"events_as_usage": True}

    def test_events_imported_then_only_new_ones(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ca = ws.add_contact(email="a@usage.test", name="A", external_id="ua")
            cb = ws.add_contact(email="b@usage.test", name="B", external_id="ub")
            cc = ws.add_contact(email="c@usage.test", name="C", external_id="uc")   # no user
        for contact in (ca, cb, cc):
            conversations_of(ws, contact, 1, now - 3 * HOUR)
        names = ("login", "export", "invite")
        a_events = [(names[k % 3], now - 30 * 86400 + k * 20_000) for k in range(120)]
        old = [("login", now - 100 * 86400 + k) for k in range(5)]   # beyond Intercom's 90 days
        b_events = [("login", now - 5000), ("export", now - 4000), ("login", now - 3000)]
        self.fake.seed_events(WS, ws.contacts[ca["id"]], a_events + old)
        self.fake.seed_events(WS, ws.contacts[cb["id"]], b_events)
        self.fake.seed_events(WS, ws.contacts[cc["id"]], [("login", now - 100)])
        with ws.lock:
            for e in ws.events:
                e["metadata"] = {"seq": e["_seq"], "source": "app"}

        def product():
            self.push_customers([{"id": "acme"}])
            self.push_users([{"id": "ua", "customer_id": "acme"}, {"id": "ub"},
                             {"id": "ud", "email": "d@usage.test"}])    # ud: no contact
            self.map_every_event()
        last = self.install(product)
        self.assertEqual(last["counts"]["usage_events"], 123)
        reqs = self.sent("GET", r"^/events$")
        by_user = {}
        for r in reqs:
            self.assertEqual(r["query"]["type"], "user")
            by_user.setdefault(r["query"]["intercom_user_id"], []).append(r)
        self.assertEqual({k: len(v) for k, v in by_user.items()}, {ca["id"]: 3, cb["id"]: 1})
        # The later pages follow pages.next (a full URL on the same regional host).
        self.assertEqual([("before" in r["query"]) for r in by_user[ca["id"]]], [False, True, True])
        usage = self.all("/usage?user_id=ua")
        self.assertEqual(sorted((u["event"], u["at"]) for u in usage), sorted(a_events))
        seq = {(e["event_name"], e["created_at"]): e["_seq"] for e in ws.events}
        self.assertTrue(all(u["metadata"] == {"seq": seq[(u["event"], u["at"])], "source": "app"}
                            and (u["user_id"], u["customer_id"], u["contact_id"])
                            == ("ua", "acme", ca["id"]) for u in usage))
        self.assertEqual(sorted((u["event"], u["at"]) for u in self.all("/usage?user_id=ub")),
                         sorted(b_events))
        self.assertEqual(len(self.all("/usage")), 123)

        # New events: seven for ua, and for ub one in the very second of its newest
        # imported event (Intercom keeps both: they differ by name).
        a_new = [("upgrade", now - 60 + k) for k in range(7)]
        self.fake.seed_events(WS, ws.contacts[ca["id"]], a_new)
        self.fake.seed_events(WS, ws.contacts[cb["id"]], [("invite", now - 3000)])
        since = self.mark()
        last = self.sync()
        self.assertEqual(last["counts"]["usage_events"], 8)
        # Each walk stops at the first page that reaches what was imported before.
        self.assertEqual(sorted(r["query"]["intercom_user_id"]
                                for r in self.sent("GET", r"^/events$", since)),
                         sorted([ca["id"], cb["id"]]))
        self.assertEqual(sorted((u["event"], u["at"]) for u in self.all("/usage?user_id=ua")),
                         sorted(a_events + a_new))
        self.assertEqual(sorted((u["event"], u["at"]) for u in self.all("/usage?user_id=ub")),
                         sorted(b_events + [("invite", now - 3000)]))
        # Nothing new: nothing imported, one request per user.
        since = self.mark()
        last = self.sync()
        self.assertEqual(last["counts"]["usage_events"], 0)
        self.assertEqual(len(self.sent("GET", r"^/events$", since)), 2)
        self.assertEqual(len(self.all("/usage")), 131)


    def test_user_whose_contact_was_deleted_is_skipped(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            ca = ws.add_contact(email="a@usage.test", name="A", external_id="ua")
            cb = ws.add_contact(email="b@usage.test", name="B", external_id="ub")
        for contact in (ca, cb):
            conversations_of(ws, contact, 1, now - 3 * HOUR)
        self.fake.seed_events(WS, ws.contacts[ca["id"]], [("login", now - 500)])
        self.fake.seed_events(WS, ws.contacts[cb["id"]], [("login", now - 400)])
        first = self.install(lambda: (self.push_users([{"id": "ua"}, {"id": "ub"}]),
                                      self.map_every_event()))
        self.assertEqual(first["counts"]["usage_events"], 2)

        # ub's contact is deleted in Intercom; ua has a new event.
        self.fake.delete_contact(WS, cb["id"])
        self.fake.seed_events(WS, ws.contacts[ca["id"]], [("export", now - 60)])
        since = self.mark()
        last = self.sync()
        self.assertEqual((last["result"], last["counts"]["usage_events"]), ("ok", 1))
        statuses = {r["query"]["intercom_user_id"]: r["status"]
                    for r in self.sent("GET", r"^/events$", since)}
        self.assertEqual(statuses, {ca["id"]: 200, cb["id"]: 404})
        self.srv.wait_log(rf"contact {cb['id']} of user ub no longer exists in Intercom \(404\); "
                          r"no usage events imported for it")
        self.assertEqual(sorted(u["event"] for u in self.all("/usage?user_id=ua")),
                         ["export", "login"])
        self.assertEqual([u["event"] for u in self.all("/usage?user_id=ub")], ["login"])
        self.assertEqual([j for j in self.srv.admin("GET", "/jobs/dead").json()["jobs"]], [])


# ---------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------

OAUTH_PATHS = re.compile(r"^(/oauth|/auth/eagle/token|/me)$")   # before the region is known


class EuRegion(StartdeliverCase):
    """An EU workspace: every call after the install goes to the EU host."""
    region = "EU"
    defaults = {"eu_data_hosting": True, "advanced_push": True, "events_as_usage": True}

    def test_eu_host_links_and_region_check(self):
        ws, now = self.ws, int(time.time())
        with ws.lock:
            contact = ws.add_contact(email="eu@acme.test", name="Eu", external_id="eu-1")
            company = ws.upsert_company({"company_id": "eu-co", "name": "EU Co"})
            ws.attach_company(contact, company)
        convs = conversations_of(ws, contact, 160, now - 30 * HOUR, step=60)  # two pages
        self.fake.seed_events(WS, ws.contacts[contact["id"]],
                              [("login", now - 86400 + k) for k in range(60)])  # two pages

        def product():
            self.push_customers([{"id": "eu-co", "usage_health": "Good"}])
            self.push_users([{"id": "eu-1", "customer_id": "eu-co", "health_score": 9}])
            self.map_every_event()
        last = self.install(product)
        self.assertEqual((last["result"], last["counts"]["synced"], last["counts"]["usage_events"],
                          last["counts"]["contacts_updated"], last["counts"]["companies_updated"]),
                         ("ok", 160, 60, 1, 1))
        rest = [r for r in self.fake.requests if not OAUTH_PATHS.match(r["path"])]
        self.assertEqual({r["region"] for r in rest}, {"EU"})
        self.assertEqual({(r["method"], r["path"].split("/")[1]) for r in rest}, {
            ("GET", "companies"), ("GET", "conversations"), ("GET", "data_attributes"),
            ("POST", "data_attributes"), ("PUT", "contacts"), ("PUT", "companies"), ("GET", "events")})
        ticket = self.get(f"/tickets/{convs[0]['id']}")
        self.assertEqual(ticket["link"],
                         f"https://app.eu.intercom.com/a/inbox/{WS}/inbox/conversation/{convs[0]['id']}")
        s = self.status()
        self.assertEqual((s["region"], s["eu_data_hosting"], s["region_warning"]), ("EU", True, None))

        # The integrator says "not EU": requests still follow Intercom, and the status says why.
        self.set_settings(eu_data_hosting=False)
        s = self.status()
        self.assertEqual(s["region_warning"], "Intercom reports this workspace in the EU region but "
                         "eu_data_hosting is off; requests follow Intercom and go to the EU host")
        audit = self.srv.admin(
            "GET", f"/audit?installation={self.inst['id']}&subject=settings").json()["audit"]
        self.assertEqual([(a["action"], a["detail"]) for a in audit],
                         [("region_mismatch", s["region_warning"])])
        since = self.mark()
        self.sync()
        self.assertEqual({r["region"] for r in self.sent(since=since)}, {"EU"})


# ---------------------------------------------------------------------------
# What the integrator sees
# ---------------------------------------------------------------------------

class Status(StartdeliverCase):
    defaults = {"eu_data_hosting": True}      # a US workspace: the status warns about it
    # A failed run's job comes back after 1-2 s: the time in which the status shows it
    # interrupted. The client sends each request up to ATTEMPTS times.
    ATTEMPTS = 5
    server_settings = {"jobs": {"backoff_base_s": 2, "backoff_cap_s": 2},
                       "intercom": {"max_attempts": ATTEMPTS}}

    def seed(self, n=300):
        with self.ws.lock:
            contact = self.ws.add_contact(email="s@acme.test", name="S", external_id="s-1")
        conversations_of(self.ws, contact, n, int(time.time()) - 50 * HOUR, step=60)

    def test_last_sync_progress_and_failures(self):
        self.seed()
        t0 = int(time.time() * 1000)
        last = self.install(lambda: self.push_users([{"id": "s-1"}]))
        t1 = int(time.time() * 1000)
        s = self.status()
        self.assertEqual({k: s[k] for k in ("workspace_id", "workspace_name", "status", "authenticated",
                                             "revoke", "region", "eu_data_hosting", "running",
                                             "interrupted")},
                         {"workspace_id": WS, "workspace_name": "Acme Support", "status": "authenticated",
                          "authenticated": True, "revoke": "POST /api/startdeliver/revoke",
                          "region": "US", "eu_data_hosting": True, "running": None,
                          "interrupted": None})
        self.assertEqual(s["region_warning"], "eu_data_hosting is on but Intercom reports this "
                         "workspace outside the EU; requests follow Intercom and go to its regional host")
        self.assertEqual({r["region"] for r in self.fake.requests if not OAUTH_PATHS.match(r["path"])},
                         {"US"})
        self.assertTrue(t0 <= last["started_at"] <= last["finished_at"] <= t1, (t0, last, t1))
        self.assertEqual(last["run"], str(last["started_at"]))
        self.assertEqual((last["mode"], last["result"], last["error"], last["warnings"]),
                         ("full", "ok", None, []))
        self.assertEqual((last["counts"]["synced"], last["counts"]["skipped"],
                          last["counts"]["failed"], last["counts"]["created"]), (300, 0, 0, 0))
        self.assertEqual(last["totals"], {"tickets": 300, "skipped": 0, "users": 1, "customers": 0})

        # A running sync shows its progress; a second request to sync is refused meanwhile.
        gate = self.fake.hold("GET", r"^/conversations$", query="starting_after")
        r = self.api("POST", "/sync", {"full": True}, expect=202)
        self.assertEqual(r.json()["mode"], "full")
        gate.wait_arrived()
        running = self.status()["running"]
        self.assertEqual((running["mode"], running["phase"], running["progress"]),
                         ("full", "conversations", {"pages": 1, "conversations": 150, "total": 300}))
        self.assertEqual(running["counts"]["synced"], 150)
        # The sync job carries the same checkpoint, so the admin API shows the progress too.
        jobs = self.srv.admin("GET", "/jobs?plugin=startdeliver").json()["jobs"]
        self.assertEqual([j["checkpoint"]["progress"] for j in jobs if j["checkpoint"]],
                         [{"pages": 1, "conversations": 150, "total": 300}])
        busy = self.api("POST", "/sync", expect=409).json()
        self.assertEqual((busy["started"], busy["reason"]), (False, "a sync is already running"))
        gate.release()
        last = self.wait_sync(last["run"])
        self.assertEqual((last["mode"], last["counts"]["synced"]), ("full", 300))

        # Intercom keeps failing: the run fails, says why, and its job resumes it later.
        self.fake.inject("POST", r"^/conversations/search$", status=503, times=self.ATTEMPTS)
        self.api("POST", "/sync", expect=202)
        failed = wait_for(lambda: (s := self.status())["last_sync"]["result"] == "failed"
                          and s["running"] is None and s, message="a failed sync")
        self.assertEqual(failed["last_sync"]["error"],
                         "searching conversations: service_unavailable: Service Unavailable (HTTP 503)")
        self.assertEqual((failed["interrupted"]["mode"], failed["interrupted"]["phase"]),
                         ("incremental", "conversations"))
        self.assertNotIn("cursor", failed["interrupted"])
        again = self.wait_sync(last["run"])
        self.assertEqual((again["run"], again["result"]), (failed["last_sync"]["run"], "ok"))
        self.assertIsNone(self.status()["interrupted"])

        # Intercom refuses the token: the workspace must install the app again.
        self.fake.inject("GET", r"^/companies/scroll$", status=401)
        self.api("POST", "/sync", expect=202)
        s = wait_for(lambda: (s := self.status())["status"] == "needs_reinstall"
                     and s["last_sync"]["result"] == "failed" and s, message="needs_reinstall")
        self.assertEqual((s["authenticated"], s["revoke"]), (False, "POST /api/startdeliver/revoke"))
        self.assertIn("the installation needs to be installed again", s["last_sync"]["error"])
        self.assertIsNone(s["interrupted"])          # a permanent failure does not resume
        self.assertEqual(self.api("POST", "/sync", expect=409).json()["error"]["code"],
                         "installation_needs_reauth")
        # Installed again, it syncs again.
        self.assertEqual(self.srv.install(PLUGIN, WS).status, 200)
        self.assertEqual(self.status()["status"], "authenticated")
        self.assertEqual(self.sync()["result"], "ok")

    def test_revoke(self):
        self.seed(3)
        self.install(lambda: self.push_users([{"id": "s-1"}]))
        since = self.mark()
        self.assertEqual(self.api("POST", "/revoke", expect=200).json(), {"status": "revoked"})
        # Intercom is told (asynchronously, after the answer).
        told = wait_for(lambda: self.sent("POST", None, since), message="POST /auth/uninstall")
        self.assertEqual([r["path"] for r in told], ["/auth/uninstall"])
        s = self.status()
        self.assertEqual((s["status"], s["authenticated"], s["revoke"]), ("revoked", False, None))
        self.assertEqual(s["last_sync"]["counts"]["synced"], 3)      # the history stays readable
        self.assertEqual(self.api("POST", "/sync", expect=409).json()["error"]["code"],
                         "installation_revoked")
        self.assertEqual([x for x in self.srv.admin("GET", "/schedules").json()["schedules"]
                          if x["plugin"] == PLUGIN], [])
        self.assertEqual(len(self.all("/tickets")), 3)
        self.api("PUT", "/users/s-2", {"email": "s2@example.com"}, expect=200)   # kept for a re-install
        self.assertEqual(self.api("POST", "/revoke", expect=200).json(), {"status": "revoked"})
        self.assertEqual(len(self.sent("POST", r"^/auth/uninstall$", since)), 1)


# ---------------------------------------------------------------------------
# Companies: the scroll API
# ---------------------------------------------------------------------------

class Companies(StartdeliverCase):
    # A failing scroll page is retried by the host (fast, here) before the plugin sees it.
    ATTEMPTS = 5
    server_settings = {"intercom": {"retry_base_ms": 10, "retry_cap_ms": 40, "max_attempts": ATTEMPTS}}

    def scrolls(self, since=0):
        return self.sent("GET", r"^/companies/scroll$", since)

    def openings(self, since=0):
        return [r for r in self.scrolls(since) if "scroll_param" not in r["query"]]

    def seed_tickets(self):
        with self.ws.lock:
            contact = self.ws.add_contact(email="t@acme.test", name="T", external_id="t-1")
        conversations_of(self.ws, contact, 4, int(time.time()) - 5 * HOUR)

    def test_scroll_past_ten_thousand_companies(self):
        n = 10_050
        companies = self.fake.seed_companies(WS, n, prefix="co-")
        linked = [0, 1, 9_999, 10_000, n - 1]      # on both sides of the list endpoint's limit

        def product():
            self.push_customers([{"id": f"co-{k}", "name": f"Customer {k}"} for k in linked])
        last = self.install(product)
        self.assertEqual((last["result"], last["counts"]["companies"], last["counts"]["customers_created"]),
                         ("ok", n, 0))
        self.assert_no_list_requests()
        self.assertEqual(len(self.scrolls()), math.ceil(n / SCROLL_PAGE) + 1)   # + the empty end
        self.assertEqual(len(self.openings()), 1)
        self.assertEqual({r["query"]["scroll_param"] for r in self.scrolls()[1:]},
                         {self.scrolls()[1]["query"]["scroll_param"]})
        for k in linked:
            self.assertEqual(self.get(f"/customers/co-{k}")["intercom_company_id"], companies[k]["id"])
        self.assertEqual(len(self.all("/customers")), len(linked))    # create_users off
        # The scroll was finished: Intercom has none open for the app any more.
        self.assertIsNone(self.ws.scroll)

    def test_expired_scroll_starts_over(self):
        self.fake.seed_companies(WS, 300, prefix="co-")
        self.seed_tickets()
        self.install(lambda: self.push_customers([{"id": "co-5"}]))
        # Hold the third page of the next run's scroll and let the scroll expire meanwhile.
        since = self.mark()
        gate = self.fake.hold("GET", r"^/companies/scroll$", query="scroll_param", skip=1)
        self.api("POST", "/sync", expect=202)
        gate.wait_arrived()
        self.fake.expire_scroll(WS)
        gate.release()
        last = self.wait_sync(self.status()["last_sync"]["run"])
        self.assertEqual((last["result"], last["warnings"], last["counts"]["companies"]), ("ok", [], 300))
        self.assertEqual([r["status"] for r in self.scrolls(since)][:3], [200, 200, 404])
        self.assertEqual(len(self.openings(since)), 2)
        self.assertEqual(len(self.scrolls(since)), 3 + 300 // SCROLL_PAGE + 1)
        self.srv.wait_log(r"company scroll failed \(404 scroll_not_found\); starting it again")

    def test_failing_scroll_gives_up_without_looping(self):
        self.fake.seed_companies(WS, 120, prefix="co-")
        self.seed_tickets()
        # The second page of every scroll fails with Intercom's "restart the scroll" 500, for
        # each of the client's attempts; the plugin restarts the scroll twice, then gives up.
        attempts = self.ATTEMPTS
        self.fake.inject("GET", r"^/companies/scroll$", query="scroll_param", status=500,
                         times=3 * attempts)
        last = self.install(lambda: self.push_users([{"id": "t-1"}]))
        self.assertEqual(last["result"], "partial")
        self.assertEqual(last["warnings"], ["companies were not refreshed: the scroll failed 3 times "
                                            "(last: 500 server_error)"])
        self.assertEqual(len(self.openings()), 3)
        self.assertEqual([r["status"] for r in self.scrolls()], ([200] + [500] * attempts) * 3)
        self.assertEqual(last["counts"]["synced"], 4)         # the rest of the sync went on
        # The next run is a normal one.
        last = self.sync()
        self.assertEqual((last["result"], last["counts"]["companies"]), ("ok", 120))

    def test_crash_mid_scroll_leaves_it_open(self):
        """Intercom keeps one scroll per app open: a crashed run's scroll blocks the resumed one."""
        self.fake.seed_companies(WS, 200, prefix="co-")
        self.seed_tickets()
        gate = self.fake.hold("GET", r"^/companies/scroll$", query="scroll_param")
        self.install(lambda: self.push_users([{"id": "t-1"}]), wait=False)
        gate.wait_arrived()
        self.assertEqual(self.status()["running"]["phase"], "companies")
        self.srv.kill()
        gate.release()
        since = self.mark()
        self.srv.start()
        last = self.wait_sync(None)
        # The resumed run cannot open a scroll, says so once, and goes on with the tickets.
        self.assertEqual(last["result"], "partial")
        self.assertEqual(last["warnings"], ["companies were not refreshed: the scroll could not be "
                                            "opened (400 scroll_exists)"])
        self.assertEqual([r["status"] for r in self.scrolls(since)], [400])
        self.assertEqual(last["counts"]["synced"], 4)
        # Once Intercom let it expire, the next run reads every company.
        self.fake.expire_scroll(WS)
        last = self.sync()
        self.assertEqual((last["result"], last["counts"]["companies"]), ("ok", 200))


# ---------------------------------------------------------------------------
# Settings and the product API
# ---------------------------------------------------------------------------

class Settings(StartdeliverCase):
    options = {"incremental_overlap_s": 0}

    def test_schema_schedule_and_validation(self):
        plugin = self.srv.admin("GET", f"/plugins/{PLUGIN}").json()
        schema = {x["name"]: (x["type"], x["default"], x.get("min"), x.get("max"))
                  for x in plugin["settings"]}
        self.assertEqual(schema, {
            "create_users": ("bool", False, None, None),
            "eu_data_hosting": ("bool", False, None, None),
            "events_as_usage": ("bool", False, None, None),
            "advanced_push": ("bool", False, None, None),
            "include_notes": ("bool", False, None, None),
            "sync_interval_hours": ("int", 24, 1, 168),
            "overdue_threshold_hours": ("int", 24, 1, 8760),
            "health_fair_overdue": ("int", 1, 1, 1000000),
            "health_poor_overdue": ("int", 3, 1, 1000000),
            "health_fair_unresolved": ("int", 10, 0, 1000000)})
        self.assertEqual([x["name"] for x in plugin["schedules"]], ["sync"])

        first = self.install()
        schedule = lambda: next(x for x in self.srv.admin("GET", "/schedules").json()["schedules"]
                                if x["plugin"] == PLUGIN)
        s = schedule()
        self.assertEqual(s["interval_s"], 24 * HOUR)
        self.assertAlmostEqual(s["next_run_at"] - s["last_run_at"], 24 * HOUR * 1000, delta=1000)

        path = f"/installations/{self.inst['id']}/settings"
        r = self.srv.admin("PUT", path, json_body={"sync_interval_hours": 169, "overdue_threshold_hours": 0,
                                                   "health_fair_unresolved": -1, "create_users": "yes",
                                                   "region": "EU"})
        self.assertEqual(r.status, 422)
        for part in ("sync_interval_hours: must be between 1 and 168",
                     "overdue_threshold_hours: must be between 1 and 8760",
                     "health_fair_unresolved: must be between 0 and 1000000",
                     "create_users: must be true or false", "region: unknown setting"):
            self.assertIn(part, r.json()["error"]["message"])
        self.assertEqual(self.set_settings(sync_interval_hours=6)["settings"]["sync_interval_hours"], 6)
        s = schedule()
        self.assertEqual(s["interval_s"], 6 * HOUR)
        self.assertAlmostEqual(s["next_run_at"] - s["last_run_at"], 6 * HOUR * 1000, delta=1000)

        # options.incremental_overlap_s = 0: the next run asks from the second before the
        # last one started.
        since = self.mark()
        self.sync()
        # The first run was the schedule's; the second, asked for through the API, used the
        # same job key, so the two kinds never run side by side.
        jobs = lambda: self.srv.admin("GET", f"/jobs?plugin={PLUGIN}&limit=10").json()["jobs"]
        wait_for(lambda: all(j["state"] == "done" for j in jobs()), message="both jobs done")
        seen = sorted(jobs(), key=lambda j: j["id"])
        self.assertEqual([(j["type"], j["key"], sorted(j["payload"])) for j in seen],
                         [("sync", "schedule:sync", ["scheduled_at"]),
                          ("sync", "schedule:sync", ["full", "requested_by"])])
        self.assertEqual(seen[1]["payload"], {"full": False, "requested_by": "api"})
        search = self.sent("POST", r"^/conversations/search$", since)[0]["json"]
        self.assertEqual(search["query"], {"field": "updated_at", "operator": ">",
                                           "value": first["started_at"] // 1000 - 1})
        self.assertEqual(search["pagination"], {"per_page": PER_PAGE})

    def test_bad_options_are_configuration_errors(self):
        for options, message in (
                ({"incremental_overlap_s": -1}, "incremental_overlap_s must be an integer 0-86400"),
                ({"overlap": 5}, "unknown option 'overlap'")):
            srv = self.server(plugins={PLUGIN: Server.plugin_config(options=options)},
                              intercom=self.fake, plugin_dir=harness.BUNDLED_PLUGIN_DIR)
            code, out, err = srv.run_once(["--check-config"])
            self.assertEqual(code, 2, out + err)
            self.assertIn(message, out + err)


class ProductApi(StartdeliverCase):

    def test_records_validated_stored_and_paged(self):
        self.install()
        self.assertEqual(self.srv.api(PLUGIN, "GET", "/users", workspace=WS, key=None).status, 401)
        self.assertEqual(self.srv.api(PLUGIN, "GET", "/users", workspace=WS, key="wrong").status, 401)
        # No workspace: the plugin's refusal and the host's (for /sync) are the same one.
        for method, path in (("GET", "/users"), ("POST", "/sync")):
            r = self.srv.api(PLUGIN, method, path)
            self.assertEqual((r.status, r.json()["error"]["code"]), (400, "installation_required"))
            self.assertEqual(r.json()["error"]["request_id"], r.header("X-Request-Id"))

        bad = [
            ({"id": "a", "foo": 1}, "users[2]: unknown field 'foo'"),
            ({"id": "has space"}, "users[2]: id must be 1-128 characters of [A-Za-z0-9._:@+-]"),
            ({"id": "x" * 129}, "users[2]: id must be 1-128 characters"),
            ({"id": "a", "email": "not-an-address"}, "users[2]: email is not an address"),
            ({"id": "a", "last_login": -5}, "users[2]: last_login must be a Unix time in seconds"),
            ({"id": "a", "health_score": "high"}, "users[2]: health_score must be a number"),
            ({"id": "a", "custom_fields": {"last_login": 1}},
             "users[2]: custom field name 'last_login' is reserved"),
            ({"id": "a", "custom_fields": {"Bad": 1}},
             "users[2]: custom field name 'Bad' must be 1-40 of [a-z0-9_]"),
            ({"id": "a", "custom_fields": {"x": "y" * 256}}, "users[2]: custom field 'x' must be a string"),
            ({"id": "a", "custom_fields": {"x": [1]}}, "users[2]: custom field 'x' must be a string"),
            ({"id": "a", "customer_id": "no|pipes"}, "users[2]: customer_id must be 1-128 characters"),
        ]
        for record, message in bad:
            r = self.api("POST", "/users", {"users": [{"id": "ok-1"}, {"id": "ok-2"}, record]}, expect=422)
            self.assertEqual(r.json()["error"]["code"], "invalid_request")
            self.assertIn(message, r.json()["error"]["message"])
        self.assertEqual(self.all("/users"), [])                  # one bad record stores none
        too_many = {"users": [{"id": f"u{k}"} for k in range(1001)]}
        r = self.api("POST", "/users", too_many, expect=413)
        self.assertEqual((r.json()["error"]["code"], r.json()["error"]["message"]),
                         ("too_many_records", "at most 1000 users per request"))
        self.assertEqual(self.api("POST", "/users", {"people": []}).status, 422)
        self.assertEqual(self.api("PUT", "/users/u1", {"id": "u2"}).status, 422)
        self.assertEqual(self.api("POST", "/customers",
                                  {"customers": [{"id": "c", "email": "x@y.z"}]}).status, 422)

        users = [{"id": f"u{k:03d}", "email": f"U{k}@Example.COM", "name": f"User {k}",
                  "customer_id": "c1", "health_score": k / 2, "custom_fields": {"n": k, "on": k % 2 == 0}}
                 for k in range(25)]
        r = self.api("POST", "/users", {"users": users}, expect=200)
        self.assertEqual(r.json(), {"stored": 25, "created": 25})
        self.assertEqual(self.api("POST", "/users", {"users": users[:5]}, expect=200).json(),
                         {"stored": 5, "created": 0})
        one = self.get("/users/u007")
        self.assertEqual({k: one[k] for k in ("id", "email", "name", "customer_id", "health_score",
                                              "custom_fields", "origin")},
                         {"id": "u007", "email": "u7@example.com", "name": "User 7", "customer_id": "c1",
                          "health_score": 3.5, "custom_fields": {"n": 7, "on": False}, "origin": "product"})
        # PUT replaces the product's fields.
        self.api("PUT", "/users/u007", {"email": "seven@example.com"}, expect=200)
        one = self.get("/users/u007")
        self.assertEqual((one["email"], one.get("name"), one.get("customer_id")),
                         ("seven@example.com", None, None))
        r = self.api("GET", "/users/nobody", expect=404)
        self.assertEqual((r.json()["error"]["code"], r.json()["error"]["message"]),
                         ("unknown_user", "no user 'nobody'"))
        # Pages of 10 with next, in id order.
        seen, after = [], None
        while True:
            page = self.get("/users?limit=10" + (f"&after={after}" if after else ""))
            seen += [u["id"] for u in page["data"]]
            after = page["next"]
            if not after:
                break
        self.assertEqual(seen, sorted(u["id"] for u in users))
        for limit in ("0", "1001", "x"):
            self.assertEqual(self.api("GET", f"/users?limit={limit}").status, 400)
        self.assertEqual(self.get("/customers"), {"data": [], "next": None})
        self.assertEqual(self.get("/tickets"), {"data": [], "next": None})
        self.assertEqual(self.api("GET", "/tickets/123", expect=404).json()["error"]["code"],
                         "unknown_ticket")
