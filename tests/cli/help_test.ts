/** `--help` of every CLI task: usage, examples and the documented exit codes. */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

for (const task of ["backtest", "optimize", "fetch", "convert"]) {
  Deno.test(`deno task ${task} --help lists examples and the exit codes 0, 1, 2`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`cli/${task}.ts`, ROOT).pathname, "--help"],
      cwd: ROOT.pathname,
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0);
    assert.match(text, new RegExp(`Usage: deno task ${task}`));
    assert.match(text, /Examples:\n( {2}deno task .*\n)/);
    const examples = text.split("Examples:\n")[1].split("\n\n")[0];
    assert.ok(examples.split("\n").filter((l) => l.startsWith(`  deno task ${task} `)).length >= 2);
    assert.match(text, /Exit codes:\n\s+0\s+ok\n\s+1\s+failure.*\n(.*\n)*?\s+2\s+bad input/);
    if (task !== "convert") assert.match(text, /--quiet/);
  });
}
