"""Install rules: `cmake --install BUILD --prefix P` writes only under P.

Installs the build under test into a temporary prefix (DESTDIR unset) and checks
every path cmake reports and records, the files that appeared under P, that
nothing under the prefix the build was configured with changed, that the plugin
folder holds only the bundled plugin modules, and that pkg-config from P reports
the SDK header's version and ABI.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import BUILD, sdk_header_version

CMAKE = shutil.which("cmake")
PKG_CONFIG = shutil.which("pkg-config")


def cache_value(name):
    text = (BUILD / "CMakeCache.txt").read_text()
    m = re.search(rf"^{name}:[A-Z]+=(.*)$", text, re.M)
    return m.group(1) if m else None


def snapshot(root):
    """Every path under root with 'switchboard' in it, with its size and mtime."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if "switchboard" in path:
                st = os.lstat(path)
                seen[path] = (st.st_size, st.st_mtime_ns)
    return seen


@unittest.skipUnless(CMAKE and PKG_CONFIG, "skipped: needs cmake and pkg-config")
class InstallIntoPrefix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="switchboard-install-"))
        cls.prefix = cls.tmp / "prefix"
        configured = cache_value("CMAKE_INSTALL_PREFIX")
        cls.configured_prefix = Path(configured) if configured else None
        before = snapshot(cls.configured_prefix) if cls.configured_prefix else {}
        env = {k: v for k, v in os.environ.items() if k != "DESTDIR"}
        env["HOME"] = str(cls.tmp / "home")  # nothing may land in the real home either
        cls.run_result = subprocess.run([CMAKE, "--install", str(BUILD), "--prefix", str(cls.prefix)],
                                        capture_output=True, text=True, env=env, timeout=300)
        after = snapshot(cls.configured_prefix) if cls.configured_prefix else {}
        cls.configured_changes = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        manifest = BUILD / "install_manifest.txt"
        cls.manifest = manifest.read_text().split("\n") if manifest.exists() else []
        cls.manifest = [line for line in cls.manifest if line]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def under_prefix(self, path):
        return Path(path).resolve().is_relative_to(self.prefix.resolve())

    def test_install_succeeds(self):
        self.assertEqual(self.run_result.returncode, 0, self.run_result.stderr)

    def test_every_written_path_is_under_the_prefix(self):
        reported = re.findall(r"^-- (?:Installing|Up-to-date): (.*)$", self.run_result.stdout, re.M)
        self.assertTrue(reported, self.run_result.stdout)
        self.assertEqual([p for p in reported if not self.under_prefix(p)], [])
        self.assertTrue(self.manifest)
        self.assertEqual([p for p in self.manifest if not self.under_prefix(p)], [])
        # And nothing appeared under the prefix that the rules do not account for.
        files = {str(p) for p in self.prefix.rglob("*") if not p.is_dir()}
        self.assertEqual(files - set(self.manifest), set())
        self.assertTrue((self.prefix / "lib/systemd/system/switchboard.service").is_file())

    def test_systemd_unit_points_into_the_prefix(self):
        unit = (self.prefix / "lib/systemd/system/switchboard.service").read_text()
        exec_start = re.search(r"^ExecStart=(\S+) -c (\S+)$", unit, re.M)
        self.assertIsNotNone(exec_start, unit)
        binary, config = exec_start.groups()
        self.assertTrue(self.under_prefix(binary), binary)
        self.assertTrue(Path(binary).is_file(), binary)
        self.assertTrue(self.under_prefix(config), config)
        self.assertTrue(Path(config).is_file(), config)

    def test_nothing_changed_under_the_configured_prefix(self):
        self.assertEqual(self.configured_changes, set())

    def test_plugin_folder_holds_only_the_bundled_modules(self):
        folder = self.prefix / cache_value("CMAKE_INSTALL_LIBDIR") / "switchboard" / "plugins"
        entries = sorted(p.name for p in folder.iterdir())
        self.assertTrue(all(name.endswith(".so") for name in entries), entries)
        self.assertTrue(all((folder / name).is_file() for name in entries), entries)
        self.assertIn("sigsentry.so", entries)
        self.assertIn("startdeliver.so", entries)
        self.assertNotIn("testplug.so", entries)  # test plugins are never installed

    def test_pkg_config_reports_the_header_version(self):
        release, abi = sdk_header_version()
        pc_dirs = {str(p.parent) for p in self.prefix.glob("**/pkgconfig/switchboard-sdk.pc")}
        self.assertEqual(len(pc_dirs), 1, pc_dirs)
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dirs.pop())

        def pkg(*args):
            out = subprocess.run([PKG_CONFIG, *args, "switchboard-sdk"], capture_output=True,
                                 text=True, env=env)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout.strip()

        self.assertEqual(pkg("--modversion"), release)
        self.assertEqual(pkg("--variable=abi"), abi)
        plugindir = Path(pkg("--variable=plugindir"))
        self.assertTrue(self.under_prefix(plugindir), plugindir)
        self.assertTrue((plugindir / "sigsentry.so").is_file())
        includedir = Path(pkg("--variable=includedir"))
        self.assertTrue((includedir / "switchboard" / "switchboard.h").is_file())


if __name__ == "__main__":
    unittest.main()
