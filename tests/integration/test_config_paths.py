"""Configuration files as an integrator writes them: relative paths, @includes, warnings.

Relative paths resolve against the folder of the file that names them, also
when the server is started from that folder with a bare file name
(`switchboard -c switchboard.conf`) and when the file is @included.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness
from harness import Server, ServerTestCase

NO_CREDENTIALS = "has no client_id/client_secret"


class FolderServer(Server):
    """A server started as `switchboard -c switchboard.conf` from the configuration's folder."""

    def __init__(self, text, **kwargs):
        super().__init__(**kwargs)
        self.text = text
        self.config_path = Path("switchboard.conf")  # handed to -c as it is; cwd is workdir

    def write_config(self, public_port=None):
        (self.workdir / self.config_path).write_text(self.text)


def check_config(cwd, config):
    p = subprocess.run([str(harness.BIN), "-c", config, "--check-config"], cwd=cwd,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class ConfigPaths(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-paths-")).resolve()
        self.addCleanup(shutil.rmtree, self.dir, True)

    def copy_plugin(self, name, into):
        into.mkdir(parents=True, exist_ok=True)
        shutil.copy(harness.TEST_PLUGIN_DIR / f"{name}.so", into / f"{name}.so")

    def test_bare_config_name_finds_a_relative_plugin_and_data(self):
        self.copy_plugin("testplug", self.dir)
        srv = FolderServer(
            'storage: { path = "data/switchboard.db"; };\n'
            'security: { key_file = "data/secret.key"; admin_token_file = "admin.token"; };\n'
            'plugins: {\n'
            '  testplug: { path = "testplug.so"; };\n'
            '};\n',
            workdir=self.dir)
        self.servers.append(srv)
        srv.start()
        r = srv.admin("GET", "/plugins/testplug")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["state"], "running")
        self.assertEqual(r.json()["path"], str(self.dir / "testplug.so"))
        self.assertTrue((self.dir / "data" / "switchboard.db").is_file())
        self.assertTrue((self.dir / "data" / "secret.key").is_file())

    def test_included_file_resolves_its_paths_from_another_folder(self):
        site = self.dir / "site"
        self.copy_plugin("testplug", site / "lib")
        (site / "plugins").mkdir()
        (site / "testplug.secret").write_text("from-a-file\n")
        (site / "plugins" / "testplug.conf").write_text(
            "# included by ../switchboard.conf\n"
            "testplug: {\n"
            '  path = "../lib/testplug.so";\n'
            "};\n")
        (site / "switchboard.conf").write_text(
            'storage: { path = "data/switchboard.db"; };\n'
            "plugins: {\n"
            '@include "plugins/testplug.conf"\n'
            "};\n")
        code, out, err = check_config(self.dir, "site/switchboard.conf")
        self.assertEqual(code, 0, err)
        self.assertIn("configuration OK (1 plugins, 1 warnings)", out)
        # The warning names the included file (as reachable from here) and the group's line.
        self.assertRegex(err, r"(?m)^site/plugins/testplug\.conf:2: plugin 'testplug' "
                              + re.escape(NO_CREDENTIALS))

    def test_refused_plugin_in_an_included_file_is_located_there(self):
        site = self.dir / "site"
        (site / "plugins").mkdir(parents=True)
        (site / "plugins" / "ghost.conf").write_text(
            "\n"
            "ghost: {\n"
            '  path = "../lib/ghost.so";\n'
            "};\n")
        (site / "switchboard.conf").write_text(
            "plugins: {\n"
            '@include "plugins/ghost.conf"\n'
            "};\n")
        code, _, err = check_config(self.dir, "site/switchboard.conf")
        self.assertEqual(code, 2, err)
        self.assertRegex(err, r"(?m)^site/plugins/ghost\.conf:2: plugin 'ghost' cannot be loaded: "
                              r"cannot read the file")

    def test_empty_inline_client_secret_is_a_configuration_error(self):
        (self.dir / "switchboard.conf").write_text(
            f'plugin_dir = "{harness.TEST_PLUGIN_DIR}";\n'
            "plugins: {\n"
            "  testplug: {\n"
            '    client_id = "abc";\n'
            '    client_secret = "";\n'
            "  };\n"
            "};\n")
        code, _, err = check_config(self.dir, "switchboard.conf")
        self.assertEqual(code, 2, err)
        self.assertIn("switchboard.conf:5: plugins.testplug.client_secret is empty", err)
        self.assertNotIn("cannot be loaded", err)

    def test_each_warning_is_a_log_line_of_its_own(self):
        srv = self.server(plugins={"testplug": Server.plugin_config(credentials=False),
                                   "old_minor": Server.plugin_config(credentials=False)}).start()
        lines = srv.log_text().splitlines()
        warned = [line for line in lines if NO_CREDENTIALS in line]
        self.assertEqual(len(warned), 2, "\n".join(warned))
        self.assertTrue(all(re.search(r" WARN +\[config\] \S+switchboard\.conf:\d+: plugin '", line)
                            for line in warned), "\n".join(warned))
        self.assertEqual(sorted(re.search(r"plugin '(\w+)'", line).group(1) for line in warned),
                         ["old_minor", "testplug"])


if __name__ == "__main__":
    unittest.main()


class EmbeddedDefaultLocations(unittest.TestCase):
    def test_warnings_name_the_included_file_and_its_line(self):
        """The embedded default has its @includes pasted in; its messages still name
        etc/plugins/<name>.conf and the line there, not the main file."""
        etc = harness.REPO / "etc"
        with tempfile.TemporaryDirectory() as cwd:
            p = subprocess.run([str(harness.BIN), "--check-config"], cwd=cwd, capture_output=True,
                               timeout=60)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 0, err)
            located = 0
            for conf in sorted((etc / "plugins").glob("*.conf")):
                name = conf.stem
                lines = conf.read_text().splitlines()
                group_line = next(i for i, text in enumerate(lines, 1)
                                  if re.match(rf"\s*{name}\s*[:=]\s*\{{", text))
                if NO_CREDENTIALS not in err:
                    continue
                self.assertIn(f"{cwd}/etc/plugins/{name}.conf:{group_line}: plugin '{name}' "
                              f"{NO_CREDENTIALS}", err)
                located += 1
            self.assertGreater(located, 0, err)
            self.assertNotRegex(err, r"etc/switchboard\.conf:\d+: plugin")


PG_PASSWORD = "pw-" + os.urandom(12).hex()  # found anywhere in the output: a leak
PG_URL = f"postgresql://switchboard:{PG_PASSWORD}@db.internal:5432/switchboard?sslmode=require"
PG_SHOWN = ("postgresql://db.internal:5432/switchboard "
            "(user, password and parameters hidden)")
NOT_A_CONNECTION_STRING = ("storage.url: not a PostgreSQL connection string (a postgresql:// or "
                           "postgres:// URI, or key=value pairs, as libpq reads them)")


class StorageConfig(unittest.TestCase):
    """The storage group: SQLite by default, PostgreSQL with a url given inline, in a file
    or in the environment. --check-config validates it without connecting (libpq's parser)
    and never prints the url's password."""

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-storage-")).resolve()
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_switchboard(self, storage, *args, env=None):
        (self.dir / "switchboard.conf").write_text(
            "storage: {\n" + storage + "};\n"
            'security: { key_file = "data/secret.key"; admin_token_file = "data/admin.token"; };\n')
        p = subprocess.run([str(harness.BIN), "-c", "switchboard.conf", *args], cwd=self.dir,
                           capture_output=True, timeout=60, env={**os.environ, **(env or {})})
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertNotIn(PG_PASSWORD, out + err)
        return p.returncode, out, err

    def check(self, storage, env=None):
        return self.run_switchboard(storage, "--check-config", env=env)

    def test_sqlite_is_the_default_and_its_file_is_shown(self):
        code, out, err = self.check('  path = "data/sb.db";\n')
        self.assertEqual(code, 0, err)
        self.assertIn(f"storage: sqlite at {self.dir}/data/sb.db\n", out)
        self.assertFalse((self.dir / "data").exists(), "--check-config created the data folder")

    def test_postgresql_url_inline_in_a_file_and_in_the_environment(self):
        url_file = self.dir / "pg.url"
        url_file.write_text(PG_URL + "\n")
        url_file.chmod(0o600)
        for storage, env in (
                (f'  driver = "postgresql";\n  url = "{PG_URL}";\n', None),
                ('  driver = "postgresql";\n  url_file = "pg.url";\n', None),
                ('  driver = "postgresql";\n  url_env = "SB_TEST_PG_URL";\n',
                 {"SB_TEST_PG_URL": PG_URL})):
            with self.subTest(storage=storage):
                code, out, err = self.check(storage, env)
                self.assertEqual(code, 0, err)
                self.assertIn("configuration OK", out)
                self.assertIn(f"storage: postgresql at {PG_SHOWN}, node <hostname>-<port>, "
                              "job leases of 30 s\n", out)
        code, out, err = self.check('  driver = "postgresql";\n  url = "host=/run/pg dbname=sb '
                                    f'password={PG_PASSWORD}";\n  node = "eu-1";\n  lease_s = 90;\n')
        self.assertEqual(code, 0, err)
        self.assertIn("storage: postgresql at host=/run/pg dbname=sb (user, password and "
                      "parameters hidden), node eu-1, job leases of 90 s\n", out)

    def test_each_storage_error_names_file_and_line(self):
        open_file = self.dir / "open.url"
        open_file.write_text(PG_URL + "\n")
        open_file.chmod(0o644)
        cases = [
            ('  driver = "mysql";\n',
             'switchboard.conf:2: storage.driver must be "sqlite" or "postgresql", not "mysql"'),
            ('  path = "x.db";\n  driver = "postgresql";\n',
             'switchboard.conf:3: storage.driver "postgresql" needs storage.url '
             '(or url_file / url_env)'),
            (f'  url = "{PG_URL}";\n',
             'switchboard.conf:2: storage.url is for driver "postgresql" '
             '(storage.driver is "sqlite")'),
            (f'  driver = "postgresql";\n  url = "{PG_URL}";\n  url_file = "open.url";\n',
             "switchboard.conf:4: url given twice (use one of url, url_file, url_env)"),
            ('  driver = "postgresql";\n  url_file = "missing.url";\n',
             f"switchboard.conf:3: url_file: cannot read {self.dir}/missing.url: "
             "No such file or directory"),
            ('  driver = "postgresql";\n  url_file = "open.url";\n',
             f"switchboard.conf:3: url_file: {self.dir}/open.url is readable by group or others "
             "(mode 644); use chmod 600"),
            ('  driver = "postgresql";\n  url_env = "SB_TEST_PG_EMPTY";\n',
             "switchboard.conf:3: url_env: environment variable SB_TEST_PG_EMPTY is empty"),
            (f'  driver = "postgresql";\n  url = "mysql://u:{PG_PASSWORD}@db/sb";\n',
             "switchboard.conf:3: " + NOT_A_CONNECTION_STRING),
            (f'  driver = "postgresql";\n  url = "host=db password {PG_PASSWORD}";\n',
             "switchboard.conf:3: " + NOT_A_CONNECTION_STRING),
            (f'  driver = "postgresql";\n  url = "{PG_URL}";\n  lease_s = 3601;\n',
             "switchboard.conf:4: storage.lease_s = 3601 is out of range [5, 3600]"),
        ]
        for storage, expect in cases:
            with self.subTest(expect=expect):
                code, out, err = self.check(storage, {"SB_TEST_PG_EMPTY": ""})
                self.assertEqual(code, 2, err)
                self.assertIn(expect + "\n", err)
                self.assertIn("switchboard: configuration has 1 error\n", err)

    def test_start_on_postgresql_fails_without_showing_the_password(self):
        """Nothing listens on the url's port (or, before the engine, the driver is refused):
        start-up fails with exit status 1, and no line shows the password."""
        url = f"postgresql://switchboard:{PG_PASSWORD}@127.0.0.1:1/sb?connect_timeout=5"
        code, out, err = self.run_switchboard(f'  driver = "postgresql";\n  url = "{url}";\n',
                                              "--listen", "127.0.0.1:0")
        self.assertEqual(code, 1, err)
        self.assertIn("[main] database: ", err)
