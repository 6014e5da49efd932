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
