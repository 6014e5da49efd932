"""The fake Intercom's data: workspaces and the REST objects they hold.

Objects are kept as plain dicts shaped like Intercom's 2.14 REST objects, so
handlers can return them as they are. Ids are numeric strings for
conversations, admins, teams, tags and tickets, and 24-hex-digit strings for
contacts and companies, as Intercom hands them out.
"""

import base64
import itertools
import json
import os
import threading
import time


class ApiError(Exception):
    """An Intercom error answer: HTTP status plus one error.list entry."""

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.field:
            err["field"] = self.field
        return {"type": "error.list", "request_id": os.urandom(8).hex(), "errors": [err]}


def not_found(what="Resource Not Found"):
    return ApiError(404, "not_found", what)


def invalid(message, field=None):
    return ApiError(400, "parameter_invalid", message, field)


_hex_ids = itertools.count(int.from_bytes(os.urandom(3), "big") << 40)


def hex_id():
    return f"{next(_hex_ids):024x}"


def encode_cursor(sort_value, object_id):
    """Intercom's cursors are opaque base64 of the last row's sort key and id."""
    return base64.b64encode(json.dumps([sort_value, str(object_id)]).encode()).decode()


def decode_cursor(cursor):
    try:
        value, object_id = json.loads(base64.b64decode(cursor, validate=True))
        return value, str(object_id)
    except Exception:
        raise invalid("starting_after is not a valid cursor", "starting_after")


def page_after(rows, key, per_page, starting_after=None):
    """Keyset pagination over rows sorted by key(row): (page, next_cursor or None)."""
    if starting_after:
        after = decode_cursor(starting_after)
        rows = [r for r in rows if (key(r), r["id"]) > after]
    page = rows[:per_page]
    cursor = encode_cursor(key(page[-1]), page[-1]["id"]) if len(rows) > per_page else None
    return page, cursor


def cursor_pages(page_number, per_page, total, cursor):
    pages = {"type": "pages", "page": page_number, "per_page": per_page,
             "total_pages": max(1, -(-total // per_page))}
    if cursor:
        pages["next"] = {"per_page": per_page, "starting_after": cursor}
    return pages


# ---- search (POST /contacts/search, /conversations/search) ----

def _field(obj, dotted):
    value = obj
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _compare(actual, operator, expected):
    if operator in ("IN", "NIN"):
        if not isinstance(expected, list):
            raise invalid(f"operator {operator} needs an array value")
        hit = actual in expected or str(actual) in [str(e) for e in expected]
        return hit if operator == "IN" else not hit
    if isinstance(actual, list):  # contact_ids, tag_ids: any element matches
        return any(_compare(a, operator, expected) for a in actual)
    if operator in (">", "<", ">=", "<="):
        try:
            a, e = float(actual), float(expected)
        except (TypeError, ValueError):
            return False
        return {">": a > e, "<": a < e, ">=": a >= e, "<=": a <= e}[operator]
    a = "" if actual is None else str(actual)
    e = "" if expected is None else str(expected)
    if isinstance(actual, bool):
        a = "true" if actual else "false"
    if operator == "=":
        return (actual is None and expected is None) or a == e
    if operator == "!=":
        return a != e
    if operator == "~":
        return e.lower() in a.lower()
    if operator == "!~":
        return e.lower() not in a.lower()
    if operator == "^":
        return a.startswith(e)
    if operator == "$":
        return a.endswith(e)
    raise invalid(f"unknown operator {operator!r}", "query.operator")


def matches(obj, query, depth=0):
    """Evaluate an Intercom search query (filters and AND/OR groups) on one object."""
    if not isinstance(query, dict) or "operator" not in query:
        raise invalid("query must be an object with an operator", "query")
    op = query["operator"]
    if op in ("AND", "OR"):
        if depth >= 2:
            raise invalid("queries nest at most two levels", "query")
        parts = query.get("value")
        if not isinstance(parts, list) or not parts or len(parts) > 15:
            raise invalid("a group holds between 1 and 15 filters", "query.value")
        results = [matches(obj, q, depth + 1) for q in parts]
        return all(results) if op == "AND" else any(results)
    if "field" not in query or "value" not in query:
        raise invalid("a filter needs field, operator and value", "query")
    return _compare(_field(obj, query["field"]), op, query["value"])


# ---- workspaces ----

class Workspace:
    """One Intercom workspace: everything the API can read or write in it."""

    _numeric = itertools.count(int(time.time()) % 100000 * 1000 + 1000)

    def __init__(self, id_code, name, region="US", timezone="Europe/Dublin",
                 conversation_attributes=None):
        self.id_code = id_code
        self.name = name
        self.region = region
        self.timezone = timezone
        self.created_at = int(time.time()) - 86400 * 400
        self.lock = threading.RLock()
        # None accepts any conversation custom attribute; a set makes unknown ones an error.
        self.conversation_attributes = conversation_attributes
        self.admins = {}
        self.without_admin_rights = set()  # admin ids of teammates who may not install apps
        self.teams = {}
        self.tags = {}
        self.contacts = {}
        self.contacts_version = 0
        self.contacts_sorted = None  # (version, rows, keys): GET /contacts' order, cached
        self.contacts_by_email = {}
        self.contacts_by_external = {}
        self.companies = {}
        self.companies_by_remote = {}
        self.conversations = {}
        self.data_attributes = []
        self.events = []
        self.ticket_types = {}
        self.ticket_states = {}
        self.tickets = {}
        self.scroll = None  # (param, position, last_used)
        self._add_standard_data_attributes()
        owner = self.add_admin("Ada Owner", "ada@" + id_code + ".example")
        self.add_admin("Ben Support", "ben@" + id_code + ".example")
        self.add_team("Support", [owner["id"]])
        self.add_team("Billing", [])
        for name in ("VIP", "Bug", "Feedback"):
            self.add_tag(name)
        self._add_standard_ticket_types()

    def next_id(self):
        return str(next(self._numeric))

    # ---- admins, teams, tags ----

    def add_admin(self, name, email, workspace_admin=True):
        """A teammate; workspace_admin=False: one without the rights to install apps."""
        admin = {"type": "admin", "id": self.next_id(), "name": name, "email": email,
                 "email_verified": True, "job_title": "Support", "away_mode_enabled": False,
                 "away_mode_reassign": False, "has_inbox_seat": True, "team_ids": [],
                 "avatar": {"type": "avatar", "image_url": None}}
        self.admins[admin["id"]] = admin
        if not workspace_admin:
            self.without_admin_rights.add(admin["id"])
        return admin

    def owner(self):
        return next(iter(self.admins.values()))

    def add_team(self, name, admin_ids):
        team = {"type": "team", "id": self.next_id(), "name": name,
                "admin_ids": [int(a) for a in admin_ids], "admin_priority_level": None,
                "assignment_limit": None, "distribution_method": "round_robin"}
        self.teams[team["id"]] = team
        for a in admin_ids:
            self.admins[a]["team_ids"].append(int(team["id"]))
        return team

    def add_tag(self, name):
        for tag in self.tags.values():
            if tag["name"] == name:
                return tag
        tag = {"type": "tag", "id": self.next_id(), "name": name}
        self.tags[tag["id"]] = tag
        return tag

    # ---- contacts ----

    def add_contact(self, email=None, name=None, external_id=None, role="user",
                    custom_attributes=None, created_at=None):
        if email is None and external_id is None and role is None:
            raise invalid("at least one of email, external_id or role is required")
        if email and email.lower() in self.contacts_by_email:
            raise ApiError(409, "conflict", "A contact matching those details already exists with "
                           f"id={self.contacts_by_email[email.lower()]['id']}")
        if external_id and str(external_id) in self.contacts_by_external:
            raise ApiError(409, "conflict", "A contact matching those details already exists")
        self.check_attributes("contact", custom_attributes or {})
        now = created_at or int(time.time())
        contact = {
            "type": "contact", "id": hex_id(), "workspace_id": self.id_code,
            "external_id": str(external_id) if external_id is not None else None,
            "role": role or "user", "email": email, "email_domain": email.split("@")[-1] if email else None,
            "phone": None, "name": name, "avatar": None, "owner_id": None,
            "social_profiles": {"type": "list", "data": []}, "has_hard_bounced": False,
            "marked_email_as_spam": False, "unsubscribed_from_emails": False,
            "created_at": now, "updated_at": now, "signed_up_at": now if role == "user" else None,
            "last_seen_at": None, "last_replied_at": None, "last_contacted_at": None,
            "last_email_opened_at": None, "last_email_clicked_at": None, "language_override": None,
            "browser": None, "browser_version": None, "browser_language": None, "os": None,
            "android_app_name": None, "ios_app_name": None,
            "custom_attributes": dict(custom_attributes or {}),
            "tags": {"type": "list", "data": [], "url": "", "total_count": 0, "has_more": False},
            "notes": {"type": "list", "data": [], "url": "", "total_count": 0, "has_more": False},
            "companies": {"type": "list", "data": [], "url": "", "total_count": 0, "has_more": False},
            "location": {"type": "location", "country": None, "region": None, "city": None,
                         "country_code": None, "continent_code": None},
        }
        for key in ("tags", "notes", "companies"):
            contact[key]["url"] = f"/contacts/{contact['id']}/{key}"
        self._index_contact(contact)
        return contact

    def _index_contact(self, contact):
        self.contacts[contact["id"]] = contact
        self.contacts_version += 1  # GET /contacts' sorted view is stale
        if contact.get("email"):
            self.contacts_by_email[contact["email"].lower()] = contact
        if contact.get("external_id"):
            self.contacts_by_external[contact["external_id"]] = contact

    def update_contact(self, contact, fields):
        self.check_attributes("contact", fields.get("custom_attributes") or {})
        if contact.get("email"):
            self.contacts_by_email.pop(contact["email"].lower(), None)
        if contact.get("external_id"):
            self.contacts_by_external.pop(contact["external_id"], None)
        for key in ("email", "name", "phone", "role", "avatar", "signed_up_at", "last_seen_at",
                    "owner_id", "unsubscribed_from_emails"):
            if key in fields:
                contact[key] = fields[key]
        if "external_id" in fields:
            contact["external_id"] = None if fields["external_id"] is None else str(fields["external_id"])
        contact["custom_attributes"].update(fields.get("custom_attributes") or {})
        contact["updated_at"] = int(time.time())
        self._index_contact(contact)
        return contact

    def delete_contact(self, contact):
        """Forget a contact (its email and external id become free); conversations keep its id."""
        del self.contacts[contact["id"]]
        self.contacts_version += 1
        if contact.get("email") and self.contacts_by_email.get(contact["email"].lower()) is contact:
            del self.contacts_by_email[contact["email"].lower()]
        if contact.get("external_id") and self.contacts_by_external.get(contact["external_id"]) is contact:
            del self.contacts_by_external[contact["external_id"]]

    def contact(self, contact_id):
        c = self.contacts.get(str(contact_id))
        if not c:
            raise not_found("User Not Found")
        return c

    # ---- companies ----

    def upsert_company(self, fields):
        remote = fields.get("company_id")
        if remote is None and "name" not in fields:
            raise invalid("company_id or name is required", "company_id")
        self.check_attributes("company", fields.get("custom_attributes") or {})
        now = int(time.time())
        company = self.companies_by_remote.get(str(remote)) if remote is not None else None
        if company is None:
            company = {"type": "company", "company_id": str(remote) if remote is not None else hex_id(),
                       "id": hex_id(), "app_id": self.id_code, "name": None,
                       "remote_created_at": None, "created_at": now, "updated_at": now,
                       "last_request_at": None, "monthly_spend": 0, "session_count": 0,
                       "user_count": 0, "size": None, "website": None, "industry": None,
                       "tags": {"type": "tag.list", "tags": []},
                       "segments": {"type": "segment.list", "segments": []},
                       "plan": {}, "custom_attributes": {}}
            self.companies[company["id"]] = company
            self.companies_by_remote[company["company_id"]] = company
        self.update_company(company, fields)
        return company

    def update_company(self, company, fields):
        self.check_attributes("company", fields.get("custom_attributes") or {})
        for key in ("name", "remote_created_at", "monthly_spend", "size", "website", "industry"):
            if key in fields:
                company[key] = fields[key]
        if "plan" in fields:
            company["plan"] = {"type": "plan", "id": self.next_id(), "name": fields["plan"]}
        company["custom_attributes"].update(fields.get("custom_attributes") or {})
        company["updated_at"] = int(time.time())
        return company

    def company(self, company_id):
        c = self.companies.get(str(company_id))
        if not c:
            raise ApiError(404, "company_not_found", "Company Not Found")
        return c

    def attach_company(self, contact, company):
        data = contact["companies"]["data"]
        if not any(c["id"] == company["id"] for c in data):
            data.append({"type": "company", "id": company["id"], "url": f"/companies/{company['id']}"})
            contact["companies"]["total_count"] = len(data)
            company["user_count"] += 1

    # ---- data attributes ----

    def _add_standard_data_attributes(self):
        standard = {"contact": [("name", "string"), ("email", "string"), ("external_id", "string"),
                                ("last_seen_at", "date"), ("signed_up_at", "date")],
                    "company": [("name", "string"), ("company_id", "string"),
                                ("monthly_spend", "float"), ("size", "integer")],
                    "conversation": [("state", "string"), ("priority", "string")]}
        for model, rows in standard.items():
            for name, data_type in rows:
                self.data_attributes.append({
                    "type": "data_attribute", "name": name, "full_name": name,
                    "label": name.replace("_", " ").title(), "description": "", "data_type": data_type,
                    "api_writable": model != "conversation", "ui_writable": False,
                    "messenger_writable": False, "custom": False, "archived": False, "model": model})

    def add_data_attribute(self, fields, admin_id):
        name, model, data_type = fields.get("name"), fields.get("model"), fields.get("data_type")
        if not name or not model or not data_type:
            raise ApiError(400, "parameter_missing", "name, model and data_type are required")
        if model not in ("contact", "company"):
            raise invalid("model must be one of contact, company", "model")
        types = ("string", "integer", "float", "boolean", "datetime", "date", "options")
        if data_type not in types:
            raise invalid(f"data_type must be one of {', '.join(types)}", "data_type")
        if data_type == "options" and len(fields.get("options") or []) < 2:
            raise invalid("options needs at least two options", "options")
        if any(a["model"] == model and a["name"] == name for a in self.data_attributes):
            raise invalid(f"You already have '{name}' in your person data. To save this as new "
                          "people data, use a different name.", "name")
        attr = {"type": "data_attribute", "id": int(self.next_id()), "model": model, "name": name,
                "full_name": f"custom_attributes.{name}", "label": name,
                "description": fields.get("description", ""), "data_type": data_type,
                "options": [o.get("value") for o in fields.get("options") or []] or None,
                "api_writable": True, "ui_writable": True,
                "messenger_writable": bool(fields.get("messenger_writable", False)),
                "custom": True, "archived": False, "admin_id": admin_id,
                "created_at": int(time.time()), "updated_at": int(time.time())}
        if attr["options"] is None:
            del attr["options"]
        self.data_attributes.append(attr)
        return attr

    def check_attributes(self, model, values):
        """Custom attributes must exist as data attributes before they can be written."""
        if not isinstance(values, dict):
            raise invalid("custom_attributes must be an object", "custom_attributes")
        if model == "conversation" and self.conversation_attributes is None:
            return
        if model == "conversation":
            known = self.conversation_attributes
        else:
            known = {a["name"] for a in self.data_attributes
                     if a["model"] == model and a.get("custom") and not a["archived"]}
        for name in values:
            if name not in known:
                raise invalid(f"Custom attribute '{name}' does not exist", "custom_attributes")

    # ---- conversations ----

    def add_conversation(self, text, contact=None, created_at=None, subject="", state="open"):
        if contact is None:
            n = len(self.contacts) + 1
            contact = self.add_contact(email=f"customer{n}.{os.urandom(2).hex()}@example.com",
                                       name=f"Customer {n}")
        now = int(time.time())
        created = int(created_at or now)
        conv_id = self.next_id()
        conv = {
            "type": "conversation", "id": conv_id, "title": None, "created_at": created,
            "updated_at": max(created, int(created_at or now)), "waiting_since": created,
            "snoozed_until": None, "open": state == "open", "state": state, "read": False,
            "priority": "not_priority", "admin_assignee_id": None, "team_assignee_id": None,
            "tags": {"type": "tag.list", "tags": []}, "conversation_rating": None,
            "source": {
                "type": "conversation", "id": self.next_id(), "delivered_as": "customer_initiated",
                "subject": subject, "body": f"<p>{text}</p>",
                "author": {"type": contact["role"], "id": contact["id"], "name": contact["name"],
                           "email": contact["email"]},
                "attachments": [], "url": None, "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}]},
            "teammates": {"type": "admin.list", "admins": []},
            "custom_attributes": {}, "first_contact_reply": {"created_at": created, "type": "conversation",
                                                              "url": None},
            "sla_applied": None,
            "statistics": {"type": "conversation_statistics", "time_to_assignment": None,
                           "time_to_admin_reply": None, "time_to_first_close": None,
                           "time_to_last_close": None, "median_time_to_reply": None,
                           "first_contact_reply_at": created, "first_assignment_at": None,
                           "first_admin_reply_at": None, "first_close_at": None,
                           "last_assignment_at": None, "last_assignment_admin_reply_at": None,
                           "last_contact_reply_at": created, "last_admin_reply_at": None,
                           "last_close_at": None, "last_closed_by_id": None, "count_reopens": 0,
                           "count_assignments": 0, "count_conversation_parts": 0},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [],
                                   "total_count": 0},
            "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
            "ai_agent_participated": False,
        }
        self.conversations[conv_id] = conv
        return conv

    def conversation(self, conv_id):
        c = self.conversations.get(str(conv_id))
        if not c:
            raise not_found("Resource Not Found")
        return c

    def add_part(self, conv, part_type, author, body=None, at=None):
        at = int(at or time.time())
        part = {"type": "conversation_part", "id": self.next_id(), "part_type": part_type,
                "body": body, "created_at": at, "updated_at": at, "notified_at": at,
                "assigned_to": None, "author": author, "attachments": [], "external_id": None,
                "redacted": False, "state": conv["state"], "tags": [], "event_details": None,
                "app_package_code": None}
        if part_type == "comment" and author.get("type") == "admin":
            conv["waiting_since"] = None  # answered: the customer no longer waits
            conv["statistics"]["last_admin_reply_at"] = at
        parts = conv["conversation_parts"]
        parts["conversation_parts"].append(part)
        parts["total_count"] = len(parts["conversation_parts"])
        conv["statistics"]["count_conversation_parts"] = parts["total_count"]
        conv["updated_at"] = max(conv["updated_at"], at)
        return part

    def author_of_contact(self, contact):
        return {"type": contact["role"], "id": contact["id"], "name": contact["name"],
                "email": contact["email"], "from_ai_agent": False, "is_ai_answer": False}

    def author_of_admin(self, admin):
        return {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"],
                "from_ai_agent": False, "is_ai_answer": False}

    def list_view(self, conv):
        """GET /conversations leaves the parts out."""
        out = dict(conv)
        del out["conversation_parts"]
        return out

    def get_view(self, conv):
        """GET /conversations/{id} returns at most the 500 most recent parts."""
        out = dict(conv)
        parts = conv["conversation_parts"]["conversation_parts"]
        out["conversation_parts"] = {"type": "conversation_part.list",
                                     "conversation_parts": parts[-500:],
                                     "total_count": len(parts)}
        return out

    # ---- tickets ----

    def _add_standard_ticket_types(self):
        for category, label in (("submitted", "Submitted"), ("in_progress", "In progress"),
                                ("waiting_on_customer", "Waiting on customer"),
                                ("resolved", "Resolved")):
            sid = self.next_id()
            self.ticket_states[sid] = {"type": "ticket_state", "id": sid, "category": category,
                                       "internal_label": label, "external_label": label}
        for name, category in (("Bug Report", "Customer"), ("Escalation", "Back-office")):
            tid = self.next_id()
            attrs = [{"type": "ticket_type_attribute", "id": self.next_id(), "name": n,
                      "description": "", "data_type": "string", "input_options": None,
                      "order": i, "required_to_create": False, "required_to_create_for_contacts": False,
                      "visible_on_create": True, "visible_to_contacts": True, "default": True,
                      "ticket_type_id": int(tid), "archived": False, "created_at": self.created_at,
                      "updated_at": self.created_at}
                     for i, n in enumerate(("_default_title_", "_default_description_"))]
            self.ticket_types[tid] = {
                "type": "ticket_type", "id": tid, "name": name, "description": "", "icon": "🎟️",
                "workspace_id": self.id_code, "category": category, "is_internal": False,
                "archived": False, "created_at": self.created_at, "updated_at": self.created_at,
                "ticket_type_attributes": {"type": "list", "data": attrs}}

    def state_of(self, category):
        return next(s for s in self.ticket_states.values() if s["category"] == category)
