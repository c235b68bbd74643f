import { useEffect, useState } from "preact/hooks";

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/** Runs `load` whenever `deps` change (and every `refreshMs` if given); aborts stale runs. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], refreshMs = 0): Async<T> {
  const [state, setState] = useState<Async<T>>({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    const ctl = new AbortController();
    const run = () => {
      setState((s) => ({ ...s, loading: true }));
      load(ctl.signal).then(
        (data) => !ctl.signal.aborted && setState({ data, error: undefined, loading: false }),
        (error: Error) => !ctl.signal.aborted && setState({ data: undefined, error, loading: false }),
      );
    };
    run();
    const timer = refreshMs > 0 ? setInterval(run, refreshMs) : undefined;
    return () => {
      ctl.abort();
      if (timer) clearInterval(timer);
    };
  }, deps);
  return state;
}
