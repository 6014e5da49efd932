"""Secrets at rest: no token or secret in clear in the data folder, and
`switchboard --rotate-key`, including a kill -9 at each of its steps.

Tokens come from the real OAuth flow against the fake Intercom; "a token
works" means a product-API call that makes Switchboard call the fake with it
succeeds. The crash tests stop the rotation at a named step with the
test-only hook SWITCHBOARD_TEST_PAUSE_AT (core/keyrotate.h: the process stops
itself with SIGSTOP there) and kill it with SIGKILL.
"""

import os
import signal
import subprocess

import harness
from harness import BIN, Server, ServerTestCase, wait_for

PLUGIN = "testplug"
WORKSPACES = ("ws-secret-1", "ws-secret-2")
WORKSPACE_NAME = "Canary Workspace 7f3a"  # stored in clear: proves the scan reads the data
CRASH_STEPS = ("key-writing", "key-written", "before-commit", "committed", "renamed")


def hooks_compiled():
    """The pause hook exists only in builds with the tests (BUILD_TESTING)."""
    cache = harness.BUILD / "CMakeCache.txt"
    return not cache.exists() or "BUILD_TESTING:BOOL=OFF" not in cache.read_text()


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


class SecretsTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        from fake_intercom import FakeIntercom
        # Long random secrets, so that finding one in a file cannot be a coincidence.
        self.client_secret = "cs-" + os.urandom(24).hex()
        self.fake = FakeIntercom(client_id=harness.CLIENT_ID, client_secret=self.client_secret)
        self.fake.start()
        self.fakes.append(self.fake)
        for ws in WORKSPACES:
            self.fake.add_workspace(id_code=ws, name=WORKSPACE_NAME, region="US")
        self.srv = self.server(
            plugins={PLUGIN: Server.plugin_config(client_secret=self.client_secret)},
            intercom=self.fake)
        self.srv.admin_token = "admin-" + os.urandom(24).hex()
        (self.srv.workdir / "admin.token").write_text(self.srv.admin_token + "\n")
        self.data = self.srv.workdir / "data"
        self.key_file = self.data / "secret.key"
        self.srv.start()
        for ws in WORKSPACES:
            page = self.srv.install(PLUGIN, ws)
            self.assertEqual(page.status, 200, page.text)

    # ---- helpers ----

    def tokens(self):
        """The access tokens the fake issued, one per workspace (the latest)."""
        latest = {}
        for token, (ws, _admin) in self.fake.tokens.items():
            latest[ws] = token
        self.assertEqual(sorted(latest), sorted(WORKSPACES))
        return latest

    def assert_tokens_work(self):
        for ws, token in self.tokens().items():
            r = self.srv.api(PLUGIN, "POST", "/intercom", workspace=ws,
                             json_body={"method": "GET", "path": "/admins"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], 200, r)
            self.assertEqual(self.fake.requests[-1]["headers"]["authorization"], f"Bearer {token}")
        for ws in WORKSPACES:
            self.assertEqual(self.srv.installation(PLUGIN, ws)["state"], "active")

    def data_files(self):
        """Every file in the data folder but the key file (and its .new, while it exists);
        on PostgreSQL also the database's rows, as "database"."""
        files = {}
        for path in sorted(self.data.iterdir()):
            if path.is_file() and not path.name.startswith(self.key_file.name):
                files[path.name] = path.read_bytes()
        if self.srv.storage == "postgresql":
            files["database"] = self.srv.db_dump()
        return files

    def assert_no_secret_in_clear(self):
        files = self.data_files()
        self.assertIn("switchboard.db" if self.srv.storage == "sqlite" else "database", files)
        everything = b"".join(files.values())
        self.assertIn(WORKSPACE_NAME.encode(), everything, "the scan does not see the data")
        needles = {f"token of {ws}": t for ws, t in self.tokens().items()}
        needles.update(client_secret=self.client_secret, admin_token=self.srv.admin_token)
        for name, data in files.items():
            for what, secret in needles.items():
                self.assertNotIn(secret.encode(), data, f"{what} in clear in {name}")
        return files

    def sealed_tokens(self):
        return [row[0] for row in self.srv.db_rows(
            "SELECT token FROM installations WHERE token IS NOT NULL ORDER BY id")]

    def rotate(self, env=None):
        self.srv.write_config(public_port=self.srv.port)
        return subprocess.run([str(BIN), "-c", str(self.srv.config_path), "--rotate-key"],
                              capture_output=True, text=True, timeout=60, cwd=self.srv.workdir,
                              env=env)

    def rotate_and_kill_at(self, step):
        """Run --rotate-key until it stops itself at step, then kill -9 it there."""
        env = dict(os.environ, SWITCHBOARD_TEST_PAUSE_AT=step)
        self.srv.write_config(public_port=self.srv.port)
        proc = subprocess.Popen([str(BIN), "-c", str(self.srv.config_path), "--rotate-key"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=self.srv.workdir, env=env)
        try:
            wait_for(lambda: process_state(proc.pid) == "T" or proc.poll() is not None,
                     timeout=30, message=f"--rotate-key to stop at {step}")
            self.assertIsNone(proc.poll(), f"--rotate-key ran to the end instead of stopping at {step}")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self.assertEqual(proc.returncode, -signal.SIGKILL)


class NoSecretInClear(SecretsTestCase):
    def test_data_folder_holds_no_token_or_secret(self):
        self.assert_tokens_work()
        # A webhook and admin reads put more rows (and WAL frames) on disk.
        envelope = harness.envelope("ping", WORKSPACES[0], {"type": "ping", "message": "hi"})
        self.assertEqual(self.srv.webhook(PLUGIN, envelope, secret=self.client_secret).status, 200)
        self.assertEqual(self.srv.admin("GET", "/installations").status, 200)
        running = self.assert_no_secret_in_clear()
        if self.srv.storage == "sqlite":
            self.assertIn("switchboard.db-wal", running)  # the log is scanned while it holds the writes
        self.srv.stop()
        self.assert_no_secret_in_clear()
        self.assertNotIn(self.client_secret, self.srv.log_text())
        for token in self.tokens().values():
            self.assertNotIn(token, self.srv.log_text())


class LostKey(SecretsTestCase):
    def test_start_refuses_a_key_that_opens_no_token(self):
        """A lost key file is made anew at start; with tokens sealed under the old one the
        server must refuse to run rather than fail every installation at its first call."""
        self.srv.stop()
        old_key = self.key_file.read_text()
        self.key_file.unlink()
        p = subprocess.run([str(BIN), "-c", str(self.srv.config_path), "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30, cwd=self.srv.workdir)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"opens none of the {len(WORKSPACES)} stored tokens", p.stderr)
        self.assertIn("Restore that key file", p.stderr)
        self.assertNotIn(old_key.strip(), p.stderr)
        # Restored, everything works again.
        self.key_file.write_text(old_key)
        self.key_file.chmod(0o600)
        self.srv.start()
        self.assert_tokens_work()


class RotateKey(SecretsTestCase):
    def test_rotate_on_stopped_server(self):
        old_key = self.key_file.read_text()
        refused = self.rotate()
        self.assertEqual(refused.returncode, 1, refused)
        # SQLite: the file's lock; PostgreSQL: the running node's heartbeat.
        self.assertIn("in use by another switchboard process"
                      if self.srv.storage == "sqlite"
                      else "1 switchboard node is running on this database", refused.stderr)
        self.assertEqual(self.key_file.read_text(), old_key)

        self.srv.stop()
        old_sealed = self.sealed_tokens()
        self.assertEqual(len(old_sealed), len(WORKSPACES))
        done = self.rotate()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"re-sealed {len(WORKSPACES)} tokens under a new key", done.stdout)
        new_key = self.key_file.read_text()
        self.assertRegex(new_key, r"^[0-9a-f]{64}\n$")
        self.assertNotEqual(new_key, old_key)
        self.assertEqual(self.key_file.stat().st_mode & 0o777, 0o600)
        self.assertFalse(self.key_file.with_name("secret.key.new").exists())
        new_sealed = self.sealed_tokens()
        self.assertEqual(len(new_sealed), len(old_sealed))
        files = self.assert_no_secret_in_clear()
        for name, data in files.items():  # the old sealed copies left the pages and the log
            for blob in old_sealed:
                self.assertNotIn(blob, data, f"a token sealed under the old key is still in {name}")
                # (pg_dump writes a bytea in hex)
                self.assertNotIn(blob.hex().encode(), data, f"an old sealed token in hex in {name}")
        for secret in (old_key.strip(), new_key.strip()):
            self.assertNotIn(secret, done.stdout + done.stderr)

        self.srv.start()
        self.assert_tokens_work()
        self.srv.stop()
        self.assert_no_secret_in_clear()

    def test_rotate_with_a_revoked_installation(self):
        inst = self.srv.installation(PLUGIN, WORKSPACES[1])
        self.assertEqual(self.srv.admin("POST", f"/installations/{inst['id']}/revoke").status, 200)
        self.srv.stop()
        done = self.rotate()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("re-sealed 1 token under a new key", done.stdout)
        self.srv.start()
        r = self.srv.api(PLUGIN, "POST", "/intercom", workspace=WORKSPACES[0],
                         json_body={"method": "GET", "path": "/admins"})
        self.assertEqual(r.json()["status"], 200, r)

    def test_kill_at_each_step(self):
        if not hooks_compiled():
            self.skipTest("built without tests: no SWITCHBOARD_TEST_PAUSE_AT hook")
        self.srv.stop()
        new_key_file = self.key_file.with_name("secret.key.new")
        counts = []
        for step in CRASH_STEPS:
            with self.subTest(step=step):
                before = self.key_file.read_text()
                self.rotate_and_kill_at(step)
                pending = new_key_file.read_text() if new_key_file.exists() else None
                # What the kill left: the step says which key the tokens are under.
                if step == "key-writing":
                    self.assertIsNotNone(pending)
                    self.assertLess(len(pending), 65)  # torn
                    expected_key, recovery = before, "discarding an unfinished key rotation"
                elif step in ("key-written", "before-commit"):
                    self.assertRegex(pending, r"^[0-9a-f]{64}\n$")
                    expected_key, recovery = before, "undid an interrupted key rotation"
                elif step == "committed":
                    self.assertRegex(pending, r"^[0-9a-f]{64}\n$")
                    expected_key, recovery = pending, "finished an interrupted key rotation"
                else:  # renamed: the new key is in place, only the folder's fsync was missing
                    self.assertIsNone(pending)
                    self.assertNotEqual(self.key_file.read_text(), before)
                    expected_key, recovery = self.key_file.read_text(), None
                since = len(self.srv.lines)
                self.srv.start()
                if recovery:
                    self.srv.wait_log(recovery, since=since)
                self.assertEqual(self.key_file.read_text(), expected_key)
                self.assertFalse(new_key_file.exists())
                self.assert_tokens_work()
                self.srv.stop()
                self.assert_no_secret_in_clear()
                # A whole rotation still completes after the crash and its recovery.
                done = self.rotate()
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertIn(f"re-sealed {len(WORKSPACES)} tokens", done.stdout)
                counts.append(step)
        print(f"\n  kill -9 at {len(counts)} of {len(CRASH_STEPS)} steps: every token opened "
              f"after each ({', '.join(counts)})")
        self.srv.start()
        self.assert_tokens_work()

    def test_rotate_recovers_an_interrupted_rotation_first(self):
        if not hooks_compiled():
            self.skipTest("built without tests: no SWITCHBOARD_TEST_PAUSE_AT hook")
        self.srv.stop()
        self.rotate_and_kill_at("committed")
        pending = self.key_file.with_name("secret.key.new").read_text()
        done = self.rotate()  # no server start in between: the rotation settles it itself
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("finished an interrupted key rotation", done.stderr)
        self.assertNotEqual(self.key_file.read_text(), pending)
        self.srv.start()
        self.assert_tokens_work()

    def test_failed_commit_keeps_the_new_key_for_the_next_start(self):
        self.srv.stop()
        old_key = self.key_file.read_text()
        # A deferred foreign key broken by the re-sealing: the statements pass, COMMIT fails.
        lift = self.srv.fail_commits_in_store("AFTER UPDATE OF token ON installations")
        failed = self.rotate()
        self.assertEqual(failed.returncode, 1, failed)
        self.assertIn("cannot commit the re-sealed tokens", failed.stderr)
        self.assertTrue(self.key_file.with_name("secret.key.new").exists())
        lift()
        since = len(self.srv.lines)
        self.srv.start()
        self.srv.wait_log("undid an interrupted key rotation", since=since)
        self.assertEqual(self.key_file.read_text(), old_key)
        self.assertFalse(self.key_file.with_name("secret.key.new").exists())
        self.assert_tokens_work()

    def test_second_server_on_the_same_database_is_refused(self):
        self.sqlite_only("one process per database file (its lock); PostgreSQL takes several nodes")
        second = subprocess.run([str(BIN), "-c", str(self.srv.config_path),
                                 "--listen", "127.0.0.1:0"],
                                capture_output=True, text=True, timeout=30, cwd=self.srv.workdir)
        self.assertEqual(second.returncode, 1, second)
        self.assertIn("in use by another switchboard process", second.stderr)
        self.assert_tokens_work()  # the first one is undisturbed

    def test_rotate_without_database_or_key(self):
        self.srv.stop()
        self.key_file.rename(self.data / "elsewhere.key")
        missing_key = self.rotate()
        self.assertEqual(missing_key.returncode, 1)
        self.assertIn("cannot read", missing_key.stderr)
        self.assertIn("secret.key", missing_key.stderr)
        (self.data / "elsewhere.key").rename(self.key_file)
        if self.srv.storage != "sqlite":
            return  # a database file that is not there: SQLite's
        self.srv.settings["storage"] = {"path": "nowhere/switchboard.db"}
        missing_db = self.rotate()
        self.assertEqual(missing_db.returncode, 1)
        self.assertIn("no database at", missing_db.stderr)
        self.assertFalse((self.srv.workdir / "nowhere").exists())
