// Measures the UI's first screen (the Overview that `/` shows) on a server holding many spans:
// the time from navigation until every panel shows its data (no "Loading…" left), in Debian's
// Chromium, plus the time of each API call the page made. Not part of `npm test`: loading
// 10 M spans takes minutes.
//
//   SEXTANT_BIN=$CARGO_TARGET_DIR/release/sextant node scripts/first-screen.mjs
//
//   SEXTANT_DATA_DIR    data directory; filled with demo traffic when it has no blocks yet, and
//                       kept (default: a fresh temporary one, deleted afterwards)
//   FIRST_SCREEN_SPANS       spans to load (default 10000000), over the last FIRST_SCREEN_SPREAD
//                       seconds (default 3600: all of them in the Overview's default range)
//   FIRST_SCREEN_RUNS        page loads to time (default 5), each in a fresh browser context
//   FIRST_SCREEN_SETTLE      seconds to wait after the server is ready, e.g. for compaction (default 0)
//   FIRST_SCREEN_RANGE       the Overview's range, e.g. 3h, when the data is older than the
//                       default last hour (default: none, as `/` opens)
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { binary, launchBrowser, startServer } from "../tests/harness.mjs";

const run = promisify(execFile);
const env = (k, d) => Number(process.env[k] ?? d);
const SPANS = env("FIRST_SCREEN_SPANS", 10_000_000);
const SPREAD = env("FIRST_SCREEN_SPREAD", 3600);
const RUNS = env("FIRST_SCREEN_RUNS", 5);
const SETTLE = env("FIRST_SCREEN_SETTLE", 0);
const RANGE = process.env.FIRST_SCREEN_RANGE;

function blockCount(dir) {
  const blocks = join(dir, "tenants", "single-tenant", "blocks");
  return existsSync(blocks) ? readdirSync(blocks).filter((n) => !n.startsWith(".")).length : 0;
}

async function load(dir) {
  if (blockCount(dir) > 0) {
    console.log(`using the blocks already in ${dir}`);
    return;
  }
  const args = ["demo", "--into-data-dir", dir, "--spans", String(SPANS), "--over", String(SPREAD), "--seed", "7", "--quiet"];
  console.log(`loading: sextant ${args.join(" ")}`);
  const t0 = Date.now();
  const { stderr } = await run(binary(), args, { maxBuffer: 64 << 20 });
  console.log(stderr.trim().split("\n").at(-1), `(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

/** One cold page load of `/`: ms until no panel is loading, and each API call's ms. */
async function measure(browser, api) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const calls = [];
  page.on("requestfinished", (r) => {
    const path = new URL(r.url()).pathname;
    if (!path.startsWith("/api/") && !path.startsWith("/sextant/")) return;
    const t = r.timing();
    calls.push({ url: r.url().replace(api, ""), ms: t.responseEnd - t.requestStart });
  });
  const t0 = Date.now();
  await page.goto(RANGE ? `${api}/?range=${encodeURIComponent(RANGE)}` : `${api}/`);
  await page.waitForSelector('[data-testid="overview-stats"]', { timeout: 120_000 });
  await page.waitForFunction(() => !document.querySelector('[data-testid="loading"]'), null, { timeout: 120_000 });
  const ms = Date.now() - t0;
  const stats = await page.locator('[data-testid="overview-stats"]').innerText();
  await context.close();
  return { ms, calls, stats: stats.replace(/\s+/g, " ") };
}

async function main() {
  const own = !process.env.SEXTANT_DATA_DIR;
  const dir = process.env.SEXTANT_DATA_DIR ?? mkdtempSync(join(tmpdir(), "sextant-first-screen-"));
  let server;
  let browser;
  try {
    await load(dir);
    process.env.SEXTANT_DATA_DIR = dir;
    const t0 = Date.now();
    server = await startServer();
    console.log(`server ready in ${Date.now() - t0} ms on ${blockCount(dir)} blocks`);
    if (SETTLE > 0) await new Promise((r) => setTimeout(r, SETTLE * 1000));
    browser = await launchBrowser();
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const m = await measure(browser, server.api);
      times.push(m.ms);
      console.log(`run ${i + 1}: first screen in ${m.ms} ms`);
      for (const c of m.calls) console.log(`  ${c.ms.toFixed(0).padStart(6)} ms  ${c.url}`);
      if (i === 0) console.log(`  shows: ${m.stats}`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`first screen with ${SPANS} spans: best ${sorted[0]} ms, median ${median} ms, worst ${sorted.at(-1)} ms over ${RUNS} loads`);
  } finally {
    await browser?.close();
    await server?.stop();
    if (own) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
