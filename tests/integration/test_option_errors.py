"""A plugin's check_config names the bad element of its options (sb_result.where), and
--check-config and start-up report that element's file and line, also when the options
are spread over an @included file."""

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness

MAIN = """\
storage: {{ path = "data/switchboard.db"; }};
security: {{ key_file = "data/secret.key"; admin_token_file = "admin.token"; }};
plugins: {{
  testplug: {{
    path = "{plugin}";
    client_id = "x";
    client_secret = "y";
    options: {{
      mode = "strict";
      @include "testplug-rules.conf"
{more}    }};
  }};
}};
"""


class OptionErrors(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-options-")).resolve()
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.main = self.dir / "switchboard.conf"
        self.rules = self.dir / "testplug-rules.conf"

    def write(self, rules, more=""):
        self.main.write_text(MAIN.format(plugin=harness.TEST_PLUGIN_DIR / "testplug.so",
                                         more=more))
        self.rules.write_text(rules)

    def run_server(self, *args):
        p = subprocess.run([str(harness.BIN), "-c", str(self.main), *args], cwd=self.dir,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stderr

    @staticmethod
    def line_of(path, text):
        lines = path.read_text().splitlines()
        return next(i + 1 for i, line in enumerate(lines) if text in line)

    def test_the_element_in_the_included_file(self):
        self.write("# the rules, kept apart\n"
                   "rules = (\n"
                   '  { name = "first"; },\n'
                   "  {\n"
                   '    name = "";\n'
                   "  }\n"
                   ");\n")
        code, err = self.run_server("--check-config")
        self.assertEqual(code, 2, err)
        self.assertIn(f"{self.rules}:5: plugins.testplug.options.rules[1].name: "
                      "a rule needs a non-empty name", err)
        # Start-up refuses it the same way.
        code, err = self.run_server()
        self.assertEqual(code, 2, err)
        self.assertIn(f"{self.rules}:5: plugins.testplug.options.rules[1].name: ", err)

    def test_a_missing_element_falls_back_to_its_parent(self):
        self.write("rules = (\n"
                   '  { name = "first"; },\n'
                   '  { title = "no name"; }\n'
                   ");\n")
        code, err = self.run_server("--check-config")
        self.assertEqual(code, 2, err)
        self.assertIn(f"{self.rules}:3: plugins.testplug.options.rules[1].name: "
                      "a rule needs a non-empty name", err)

    def test_an_element_of_the_main_file(self):
        self.write("# nothing here\n", more='      rules = "all of them";\n')
        code, err = self.run_server("--check-config")
        self.assertEqual(code, 2, err)
        line = self.line_of(self.main, "rules = ")
        self.assertIn(f"{self.main}:{line}: plugins.testplug.options.rules: "
                      "must be a list of rules", err)

    def test_without_where_the_plugin_group(self):
        self.write("reject = true;\n")
        code, err = self.run_server("--check-config")
        self.assertEqual(code, 2, err)
        line = self.line_of(self.main, "testplug: {")
        self.assertIn(f"{self.main}:{line}: plugins.testplug.options: options.reject is set", err)

    def test_good_options_pass(self):
        self.write('rules = ( { name = "first"; }, { name = "second"; } );\n')
        code, err = self.run_server("--check-config")
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main()
