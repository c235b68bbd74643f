// Bundles the UI with esbuild: content-hashed files under assets/, index.html pointing at them,
// public/ copied as is. Usage: node scripts/build.mjs [--outDir DIR] [--emptyOutDir]
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const at = args.indexOf("--outDir");
const outDir = resolve(root, at >= 0 && args[at + 1] ? args[at + 1] : "dist");
if (args.includes("--emptyOutDir")) rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/main.tsx"],
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(outDir, "assets"),
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  publicPath: "/assets",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

// The entry's script and its CSS bundle, as URL paths.
const url = (file) => "/" + relative(outDir, resolve(root, file)).split("\\").join("/");
const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === "src/main.tsx");
if (!entry) throw new Error("esbuild produced no output for src/main.tsx");
const [script, meta] = entry;
const css = meta.cssBundle ? `<link rel="stylesheet" href="${url(meta.cssBundle)}" />\n    ` : "";
const html = readFileSync(join(root, "index.html"), "utf8").replace(
  /<script type="module" src="\/src\/main.tsx"><\/script>/,
  `${css}<script type="module" src="${url(script)}"></script>`,
);
if (html.includes("/src/main.tsx")) throw new Error("index.html: entry script tag not found");
writeFileSync(join(outDir, "index.html"), html);
if (existsSync(join(root, "public"))) cpSync(join(root, "public"), outDir, { recursive: true });

let total = 0;
for (const [file, o] of Object.entries(result.metafile.outputs)) {
  total += o.bytes;
  console.log(`${url(file).padEnd(40)} ${(o.bytes / 1024).toFixed(1).padStart(7)} KiB`);
}
console.log(`built ${outDir} (${(total / 1024).toFixed(1)} KiB of assets)`);
