"""siit's workflows end to end on the fake Intercom: the two workflows of Siit's guide
("Customer issue escalation" on a service, "Specialist handoff" on a tag with an approval
that is approved, rejected or times out), a kill -9 in the middle of an approval wait, and
--check-config on the configuration's workflows (the commented example passes; a broken one
is reported with its file and line). The request's timeline must tell the whole story.
Every request the plugin sends to the fake is checked against Intercom's OpenAPI description
in tearDown (ServerTestCase.assert_openapi_valid)."""

import http.server
import json
import re
import subprocess
import threading

import harness
from harness import REPO, LibconfigList, Server, ServerTestCase, wait_for

WS = "ws-siit"
SEED_CONF = REPO / "etc" / "plugins" / "siit.conf"


class ProductSink:
    """Siit's side of the product events: records every delivery's JSON body, answers 204."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    sink.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/switchboard"

    def types(self, request_id):
        """Event types about one request, in delivery order, each once (deliveries may repeat)."""
        with self.lock:
            seen, out = set(), []
            for e in self.events:
                data = e.get("data") or {}
                key = (e["type"], json.dumps(data, sort_keys=True))
                if data.get("request_id") == request_id and key not in seen:
                    seen.add(key)
                    out.append(e["type"])
            return out

    def first(self, type_, request_id):
        with self.lock:
            for e in self.events:
                if e["type"] == type_ and (e.get("data") or {}).get("request_id") == request_id:
                    return e["data"]
        return None

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def seed_workflows(customer_team, specialist_team, ticket_type, approval_timeout="48h"):
    """The two workflows of Siit's guide, as etc/plugins/siit.conf's example writes them (the
    handoff's ticket takes the installation's default ticket type)."""
    return LibconfigList([
        {"name": "Customer issue escalation",
         "trigger": {"service": "Customer issue"},
         "actions": LibconfigList([
             {"type": "create_intercom_ticket", "team_id": customer_team,
              "ticket_type_id": ticket_type, "priority": "high"},
             {"type": "set_priority", "priority": "high"},
             {"type": "notify_requester",
              "message": "Hi {{requester.name}}, our customer success team has "
                         "\"{{request.subject}}\" now."}])},
        {"name": "Specialist handoff",
         "trigger": {"tag": "customer-support"},
         "actions": LibconfigList([
             {"type": "approval", "approver": "Support manager", "timeout": approval_timeout},
             {"type": "create_intercom_ticket", "team_id": specialist_team},
             {"type": "notify_requester",
              "message": "Hi {{requester.name}}, a specialist is looking at your request."}])},
    ])


class SiitWorkflowsTestCase(ServerTestCase):
    approval_timeout = "48h"

    def setUp(self):
        super().setUp()
        self.sink = ProductSink()
        self.addCleanup(self.sink.stop)
        self.fake = self.fake_intercom()
        ws = self.fake.add_workspace(id_code=WS, name="Acme", region="US")
        teams = {t["name"]: t["id"] for t in ws.teams.values()}
        self.support_team = teams["Support"]
        ticket_type = next(t["id"] for t in ws.ticket_types.values() if t["name"] == "Escalation")
        workflows = seed_workflows(self.support_team, self.support_team, ticket_type,
                                   self.approval_timeout)
        cfg = Server.plugin_config(
            options={"workflows": workflows},
            settings={"selectable_teams": [self.support_team],
                      "default_ticket_type": ticket_type,
                      "request_url_template": "https://acme.siit.io/requests/{request_id}"},
            product={"webhook_url": self.sink.url, "webhook_secret_file": "product.secret",
                     "timeout_s": 5})
        self.srv = self.server(plugins={"siit": cfg}, intercom=self.fake,
                               plugin_dir=harness.BUNDLED_PLUGIN_DIR)
        (self.srv.workdir / "product.secret").write_text(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
        self.srv.start()
        self.assertEqual(self.srv.install("siit", WS).status, 200)
        # The install re-syncs teams and ticket types by itself; escalations need them.
        wait_for(lambda: (self.api("GET", "/teams").json().get("sync") or {}).get("state") == "ok",
                 timeout=20, message="the teams re-sync after the install")

    # ---- helpers ----

    def api(self, method, path, body=None):
        return self.srv.api("siit", method, path, workspace=WS, json_body=body)

    def report(self, request_id, service):
        r = self.api("POST", "/requests", {
            "id": request_id, "service": service, "subject": "Refund for order 1881",
            "url": f"https://acme.siit.io/requests/{request_id}",
            "requester": {"email": "ada@example.com", "name": "Ada Lovelace"}})
        self.assertIn(r.status, (200, 201), r)
        return r.json()

    def tag(self, request_id, tag):
        r = self.api("POST", f"/requests/{request_id}/tags", {"tag": tag})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def runs(self, request_id):
        r = self.api("GET", f"/requests/{request_id}/workflows")
        self.assertEqual(r.status, 200, r)
        return r.json()["runs"]

    def wait_state(self, request_id, state, index=0, timeout=20):
        def reached():
            runs = self.runs(request_id)
            return len(runs) > index and runs[index]["state"] == state
        wait_for(reached, timeout=timeout,
                 message=f"run {index} of {request_id} {state}: {self.runs(request_id)}")
        return self.runs(request_id)[index]

    def timeline(self, request_id):
        r = self.api("GET", f"/requests/{request_id}/timeline")
        self.assertEqual(r.status, 200, r)
        return r.json()["entries"]

    def kinds(self, request_id):
        return [e["kind"] for e in self.timeline(request_id)]

    def assert_in_order(self, kinds, expected):
        """expected appear in kinds in this order (other entries may come between)."""
        at = 0
        for kind in expected:
            self.assertIn(kind, kinds[at:], f"{kind} after position {at} in {kinds}")
            at = kinds.index(kind, at) + 1

    def tickets_created(self):
        return [r for r in self.fake.requests if r["method"] == "POST" and r["path"] == "/tickets"]

    def wait_events(self, request_id, *types):
        wait_for(lambda: all(t in self.sink.types(request_id) for t in types), timeout=20,
                 message=f"product events {types}: {self.sink.types(request_id)}")


class SeedWorkflows(SiitWorkflowsTestCase):
    def test_customer_issue_escalation_on_its_service(self):
        started = self.report("R-100", "Customer issue")["workflows_started"]
        self.assertEqual(len(started), 1)
        run = self.wait_state("R-100", "completed")
        self.assertEqual(run["workflow"], "Customer issue escalation")
        self.assertEqual(run["outcome"], "completed")
        self.assertEqual(len(self.tickets_created()), 1)
        kinds = self.kinds("R-100")
        self.assert_in_order(kinds, ["workflow_started", "ticket_created", "priority_set",
                                     "requester_notified", "workflow_finished"])
        self.wait_events("R-100", "workflow.started", "escalation.created", "request.priority_set",
                         "requester.notified", "workflow.finished")
        self.assertEqual(self.sink.first("request.priority_set", "R-100")["priority"], "high")
        notified = self.sink.first("requester.notified", "R-100")
        self.assertEqual(notified["message"], "Hi Ada Lovelace, our customer success team has "
                                              "\"Refund for order 1881\" now.")
        self.assertEqual(notified["requester"]["email"], "ada@example.com")
        # Siit reporting the request again starts nothing and creates no second ticket.
        self.assertEqual(self.report("R-100", "Customer issue")["workflows_started"], [])
        self.assertEqual(len(self.runs("R-100")), 1)
        self.assertEqual(len(self.tickets_created()), 1)
        # A request of another service starts nothing.
        self.assertEqual(self.report("R-101", "IT")["workflows_started"], [])

    def test_specialist_handoff_approved(self):
        self.report("R-200", "IT")
        self.assertEqual(len(self.tag("R-200", "customer-support")["workflows_started"]), 1)
        run = self.wait_state("R-200", "waiting_approval")
        self.assertEqual(run["approval"]["approver"], "Support manager")
        self.wait_events("R-200", "approval.requested")
        self.assertEqual(self.tickets_created(), [])
        # The same tag reported again starts no second run.
        self.assertEqual(self.tag("R-200", "customer-support")["workflows_started"], [])
        r = self.api("POST", "/requests/R-200/approve", {"by": "Grace Hopper", "comment": "ok"})
        self.assertEqual(r.status, 200, r)
        run = self.wait_state("R-200", "completed")
        self.assertEqual(run["approval"]["decision"], "approved")
        self.assertEqual(len(self.tickets_created()), 1)
        self.assert_in_order(self.kinds("R-200"), [
            "workflow_started", "approval_requested", "approved", "ticket_created",
            "requester_notified", "workflow_finished"])
        approved = next(e for e in self.timeline("R-200") if e["kind"] == "approved")
        self.assertIn("Grace Hopper", approved["text"])
        self.wait_events("R-200", "workflow.started", "approval.requested", "escalation.created",
                         "requester.notified", "workflow.finished")
        r = self.api("POST", "/requests/R-200/approve", {})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["error"]["code"], "no_pending_approval")

    def test_specialist_handoff_rejected(self):
        self.report("R-300", "IT")
        self.tag("R-300", "customer-support")
        self.wait_state("R-300", "waiting_approval")
        r = self.api("POST", "/requests/R-300/reject", {"by": "Grace Hopper"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["run"]["state"], "rejected")
        self.wait_events("R-300", "workflow.finished")
        self.assertEqual(self.sink.first("workflow.finished", "R-300")["outcome"], "rejected")
        self.assertEqual(self.kinds("R-300"), ["workflow_started", "approval_requested",
                                               "rejected", "workflow_finished"])
        self.assertEqual(self.tickets_created(), [])
        self.assertNotIn("requester.notified", self.sink.types("R-300"))

    def test_bad_input_is_refused(self):
        cases = [
            ("POST", "/requests", b"{\"id\": ", 400, "malformed_json"),  # the host's answer
            ("POST", "/requests", b"[1]", 400, "invalid_json"),
            ("POST", "/requests", b"{\"id\": \"a/b\"}", 400, "invalid_request_id"),
            ("POST", "/requests", b"{\"id\": \"R-1\", \"url\": \"ftp://x\"}", 400,
             "invalid_request"),
            ("POST", "/requests/R-404/tags", b"{\"tag\": \"x\"}", 404, "unknown_request"),
            ("POST", "/requests/R-404/approve", b"", 404, "unknown_request"),
            ("GET", "/requests/R-404/workflows", None, 404, "unknown_request"),
        ]
        for method, path, body, status, code in cases:
            r = self.srv.api("siit", method, path, workspace=WS, body=body,
                             headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, status, (path, body, r))
            self.assertEqual(r.json()["error"]["code"], code, (path, body, r))


class ApprovalTimeout(SiitWorkflowsTestCase):
    approval_timeout = "3s"

    def test_no_decision_in_time_rejects(self):
        self.report("R-400", "IT")
        self.tag("R-400", "customer-support")
        self.wait_state("R-400", "waiting_approval")
        run = self.wait_state("R-400", "rejected", timeout=30)
        self.assertEqual(run["approval"]["decision"], "timed_out")
        self.assertIn("within 3s", run["reason"])
        self.assertEqual(self.kinds("R-400"), ["workflow_started", "approval_requested",
                                               "approval_timed_out", "workflow_finished"])
        self.assertEqual(self.tickets_created(), [])
        r = self.api("POST", "/requests/R-400/approve", {})
        self.assertEqual(r.status, 409, r)

    def test_the_deadline_holds_across_a_kill(self):
        self.report("R-500", "IT")
        self.tag("R-500", "customer-support")
        self.wait_state("R-500", "waiting_approval")
        self.srv.kill()
        self.srv.start()
        run = self.wait_state("R-500", "rejected", timeout=30)
        self.assertEqual(run["approval"]["decision"], "timed_out")
        self.assertEqual(self.kinds("R-500"), ["workflow_started", "approval_requested",
                                               "approval_timed_out", "workflow_finished"])


class RestartDuringApproval(SiitWorkflowsTestCase):
    def test_kill_during_the_wait_then_approve(self):
        self.report("R-600", "IT")
        self.tag("R-600", "customer-support")
        before = self.wait_state("R-600", "waiting_approval")
        kinds_before = self.kinds("R-600")
        self.srv.kill()
        self.srv.start()
        # The run and its story are where they were.
        after = self.runs("R-600")[0]
        self.assertEqual(after["state"], "waiting_approval")
        self.assertEqual(after["approval"], before["approval"])
        self.assertEqual(self.kinds("R-600"), kinds_before)
        r = self.api("POST", "/requests/R-600/approve", {"by": "Grace Hopper"})
        self.assertEqual(r.status, 200, r)
        self.wait_state("R-600", "completed")
        self.assertEqual(len(self.tickets_created()), 1)
        self.assert_in_order(self.kinds("R-600"), [
            "workflow_started", "approval_requested", "approved", "ticket_created",
            "requester_notified", "workflow_finished"])
        self.assertEqual(self.kinds("R-600").count("workflow_started"), 1)

    def test_a_run_keeps_its_actions_when_the_configuration_changes(self):
        self.report("R-700", "IT")
        self.tag("R-700", "customer-support")
        self.wait_state("R-700", "waiting_approval")
        self.srv.stop()
        # The handoff is now configured without its ticket, and under another tag.
        options = self.srv.plugins["siit"]["options"]
        options["workflows"][1]["trigger"] = {"tag": "specialists"}
        del options["workflows"][1]["actions"][1]
        self.srv.start()
        r = self.api("POST", "/requests/R-700/approve", {})
        self.assertEqual(r.status, 200, r)
        run = self.wait_state("R-700", "completed")
        self.assertEqual([a["type"] for a in run["actions"]],
                         ["approval", "create_intercom_ticket", "notify_requester"])
        self.assertEqual(len(self.tickets_created()), 1)
        # New runs follow the new configuration.
        self.report("R-701", "IT")
        self.assertEqual(self.tag("R-701", "customer-support")["workflows_started"], [])
        self.assertEqual(len(self.tag("R-701", "specialists")["workflows_started"]), 1)
        run = self.wait_state("R-701", "waiting_approval")
        self.assertEqual([a["type"] for a in run["actions"]], ["approval", "notify_requester"])


def uncommented_example():
    """etc/plugins/siit.conf with its commented workflows example (the options group) uncommented."""
    out, inside = [], False
    for line in SEED_CONF.read_text().splitlines():
        if line.strip() == "# options: {":
            inside = True
        if inside:
            out.append(re.sub(r"^(\s*)# ?", r"\1", line, count=1))
            if line.strip() == "# };":
                inside = False
        else:
            out.append(line)
    return "\n".join(out) + "\n"


class CheckConfig(ServerTestCase):
    def check(self, siit_conf):
        srv = self.server(plugins={}, plugin_dir=harness.BUNDLED_PLUGIN_DIR)
        (srv.workdir / "siit.conf").write_text(siit_conf)
        srv.write_config()
        # The plugins group includes siit's own file, as etc/switchboard.conf does.
        text = srv.config_path.read_text().replace("plugins: {", 'plugins: {\n@include "siit.conf"')
        srv.config_path.write_text(text)
        p = subprocess.run([str(harness.BIN), "-c", str(srv.config_path), "--check-config"],
                           capture_output=True, cwd=srv.workdir, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_the_commented_example_passes(self):
        example = uncommented_example()
        self.assertIn('name = "Specialist handoff";', example)
        self.assertNotIn("# options", example)
        code, out, err = self.check(example)
        self.assertEqual(code, 0, out + err)

    def test_a_broken_workflow_is_reported_with_file_and_line(self):
        example = uncommented_example()
        broken = example.replace('timeout = "48h";', 'timeout = "48x";')
        self.assertNotEqual(broken, example)
        line = next(i for i, text in enumerate(broken.splitlines(), 1) if '"48x"' in text)
        code, out, err = self.check(broken)
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out + err, rf"siit\.conf:{line}: .*workflow \"Specialist handoff\", "
                                    r"action 1 \(approval\): timeout must be")
