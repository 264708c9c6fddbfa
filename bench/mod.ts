/**
 * `deno task bench`: runs every `bench/*_bench.ts` in its own process, one after another, so
 * that each measures its ratios side by side in one run without the others' noise.
 * `deno task bench engine` runs only the files whose name contains "engine".
 *
 * @module
 */
const filter = Deno.args[0] ?? "";
const dir = new URL("./", import.meta.url);
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts") && n.includes(filter))
  .sort();
let failed = 0;
for (const name of files) {
  console.log(`\n=== ${name} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(name, dir).pathname],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.log(`${name} exited with code ${code}`);
    failed++;
  }
}
if (failed > 0) Deno.exit(1);
