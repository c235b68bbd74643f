// Starts the real `sextant` binary on free loopback ports, loads demo traffic, drives Debian's
// Chromium through playwright-core, and stops everything afterwards.
//
//   SEXTANT_BIN              the sextant binary (required)
//   SEXTANT_DATA_DIR         data directory (default: a fresh temporary one, deleted afterwards)
//   SEXTANT_CHROMIUM         browser executable (default /usr/bin/chromium)
//   SEXTANT_UI_SCREENSHOTS   where screenshots go (default: a fresh temporary folder, printed)
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);

/** Our own variables, which sextant would reject as unknown config keys. */
const OWN_VARS = ["SEXTANT_BIN", "SEXTANT_DATA_DIR", "SEXTANT_CHROMIUM", "SEXTANT_UI_SCREENSHOTS"];

function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of OWN_VARS) delete env[k];
  return env;
}

export function binary() {
  const bin = process.env.SEXTANT_BIN;
  if (!bin) throw new Error("set SEXTANT_BIN to the sextant binary, e.g. SEXTANT_BIN=$CARGO_TARGET_DIR/release/sextant npm test");
  if (!existsSync(bin)) throw new Error(`SEXTANT_BIN=${bin} does not exist`);
  return bin;
}

/** Starts `sextant serve`; resolves once it prints its addresses and answers /ready. */
export async function startServer() {
  const bin = binary();
  const own = !process.env.SEXTANT_DATA_DIR;
  const dataDir = process.env.SEXTANT_DATA_DIR ?? mkdtempSync(join(tmpdir(), "sextant-ui-data-"));
  const child = spawn(bin, ["serve", "--data-dir", dataDir], {
    env: childEnv({
      SEXTANT_SERVER_HTTP_LISTEN: "127.0.0.1:0",
      SEXTANT_SERVER_OTLP_GRPC_LISTEN: "127.0.0.1:0",
      SEXTANT_SERVER_OTLP_HTTP_LISTEN: "127.0.0.1:0",
      SEXTANT_LOG_LEVEL: "warn",
      // The transcript view and the hostile-prompt test need prompts kept (off by default).
      SEXTANT_GENAI_CAPTURE_CONTENT: "true",
    }),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const addrs = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("sextant printed no addresses within 60 s"));
    }, 60_000);
    const found = {};
    const lines = createInterface({ input: child.stdout });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (own) rmSync(dataDir, { recursive: true, force: true });
      reject(new Error(`sextant exited (${code}) before printing its addresses`));
    });
    lines.on("line", (line) => {
      const addr = line.trim().split(/\s+/)[2]?.replace("http://", "");
      if (line.includes("otlp http:")) found.otlp = addr;
      if (line.includes("query api:")) found.api = addr;
      if (found.otlp && found.api) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  const server = {
    child,
    dataDir,
    api: `http://${addrs.api}`,
    otlp: `http://${addrs.otlp}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      if (own) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(server.api);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

async function waitReady(api) {
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    try {
      if ((await fetch(`${api}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("sextant not ready after 30 s");
}

/** Sends `count` traces of demo traffic (fixed seed) and waits for it to finish. */
export async function runDemo(server, count = 150) {
  const { stdout } = await run(binary(), ["demo", "--endpoint", server.otlp, "--count", String(count), "--rate", "2000", "--seed", "7", "--quiet"], { env: childEnv() });
  return stdout;
}

export async function launchBrowser() {
  const executablePath = process.env.SEXTANT_CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no browser at ${executablePath}: apt-get install chromium (or set SEXTANT_CHROMIUM)`);
  return chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
}

export function screenshotDir() {
  const dir = process.env.SEXTANT_UI_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "sextant-ui-screenshots-"));
  mkdirSync(dir, { recursive: true });
  console.log(`screenshots: ${dir}`);
  return dir;
}

export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

/** Whether the server has an API (404/501 mean "not yet"). */
export async function hasApi(url) {
  const res = await fetch(url);
  return res.status !== 404 && res.status !== 501;
}
