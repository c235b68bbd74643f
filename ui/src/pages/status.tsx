// Status: ingest rates (from two scrapes of /metrics), rejected spans by reason, storage use,
// retention activity and the version. Refreshes every 5 seconds.
import { useEffect, useRef, useState } from "preact/hooks";
import { getJson, getText, type BuildInfo } from "../lib/api";
import { byLabel, parseMetrics, sum, type Sample } from "../lib/metrics";
import { fmtBytes, fmtInt, fmtRate } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { ErrorNote, Loading, Stat } from "../components/common";

const REFRESH_MS = 5000;

interface Scrape {
  at: number;
  samples: Sample[];
}

function useScrapes(): { now?: Scrape; prev?: Scrape; error?: Error } {
  const [state, setState] = useState<{ now?: Scrape; prev?: Scrape; error?: Error }>({});
  const last = useRef<Scrape>();
  useEffect(() => {
    const ctl = new AbortController();
    const scrape = () =>
      getText("/metrics", ctl.signal).then(
        (text) => {
          const now = { at: performance.now(), samples: parseMetrics(text) };
          setState({ now, prev: last.current });
          last.current = now;
        },
        (error: Error) => !ctl.signal.aborted && setState((s) => ({ ...s, error })),
      );
    scrape();
    const t = setInterval(scrape, REFRESH_MS);
    return () => {
      ctl.abort();
      clearInterval(t);
    };
  }, []);
  return state;
}

function rate(now: Scrape, prev: Scrape | undefined, name: string, match: Record<string, string> = {}): number | undefined {
  if (!prev) return undefined;
  const dt = (now.at - prev.at) / 1000;
  if (dt <= 0) return undefined;
  return Math.max(0, sum(now.samples, name, match) - sum(prev.samples, name, match)) / dt;
}

export function StatusPage() {
  const { now, prev, error } = useScrapes();
  const build = useAsync((signal) => getJson<BuildInfo>("/api/status/buildinfo", signal), []);
  if (error && !now) return <ErrorNote error={error} what="Metrics" />;
  if (!now) return <Loading />;
  const s = now.samples;
  const rejected = [...byLabel(s, "sextant_spans_rejected_total", "reason")].sort((a, b) => b[1] - a[1]);
  const outcomes = [...byLabel(s, "sextant_ingest_requests_total", "outcome")].sort((a, b) => b[1] - a[1]);
  const pending = prev ? "" : "measuring…";
  return (
    <section>
      <h1>Status</h1>
      <h2>Ingest</h2>
      <div class="stats">
        <Stat label="Spans accepted / s" value={fmtRate(rate(now, prev, "sextant_spans_accepted_total"))} hint={pending} testid="rate-accepted" />
        <Stat label="Spans rejected / s" value={fmtRate(rate(now, prev, "sextant_spans_rejected_total"))} hint={pending} />
        <Stat label="Requests / s" value={fmtRate(rate(now, prev, "sextant_ingest_requests_total"))} hint={pending} />
        <Stat label="Spans received" value={fmtInt(sum(s, "sextant_spans_received_total"))} testid="spans-received" />
        <Stat label="Spans accepted" value={fmtInt(sum(s, "sextant_spans_accepted_total"))} testid="spans-accepted" />
        <Stat label="Spans rejected" value={fmtInt(sum(s, "sextant_spans_rejected_total"))} testid="spans-rejected" />
      </div>
      <div class="two-col">
        <div>
          <h3>Rejected spans by reason</h3>
          {rejected.length === 0 ? (
            <p class="note muted">None rejected.</p>
          ) : (
            <table class="kv" data-testid="rejected-reasons">
              <tbody>
                {rejected.map(([reason, n]) => (
                  <tr>
                    <th scope="row">{reason || "unknown"}</th>
                    <td class="num">{fmtInt(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h3>Requests by outcome</h3>
          <table class="kv">
            <tbody>
              {outcomes.map(([outcome, n]) => (
                <tr>
                  <th scope="row">{outcome || "unknown"}</th>
                  <td class="num">{fmtInt(n)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <h2>Storage</h2>
      <div class="stats">
        <Stat label="On disk" value={fmtBytes(sum(s, "sextant_disk_bytes"))} testid="disk-bytes" />
        <Stat label="Blocks" value={fmtInt(sum(s, "sextant_blocks"))} />
        <Stat label="Spans in memory (head)" value={fmtInt(sum(s, "sextant_head_spans"))} />
        <Stat label="Unflushed" value={fmtBytes(sum(s, "sextant_unflushed_bytes"))} />
        <Stat label="WAL written" value={fmtBytes(sum(s, "sextant_wal_written_bytes_total"))} />
        <Stat label="Flushes" value={fmtInt(sum(s, "sextant_flushes_total"))} />
        <Stat label="Compactions" value={fmtInt(sum(s, "sextant_compactions_total"))} />
        <Stat label="Blocks deleted by retention" value={fmtInt(sum(s, "sextant_retention_deleted_blocks_total"))} />
      </div>
      <h2>Version</h2>
      {build.error ? (
        <ErrorNote error={build.error} what="Build info" />
      ) : (
        <p data-testid="version">
          Sextant {build.data?.version ?? "…"}
          {build.data?.revision ? ` (${build.data.revision})` : ""}
        </p>
      )}
    </section>
  );
}
