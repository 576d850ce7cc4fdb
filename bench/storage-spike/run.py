#!/usr/bin/env python3
"""Driver for the storage spike (python3 stdlib only).

Builds `spike` with `cargo build --release` in this directory, then for each run, scale and
engine runs load, open, read (warm), read --cold, scan, update, each as its own process in a
fresh data directory under this directory (deleted after the engine's steps). Raw results go to
raw/<stamp>.jsonl (one JSON object per step), the tables to raw/<stamp>.tables.md (copied by
hand into bench/results/2026-12-07-storage-spike.md with the observations).

  python3 bench/storage-spike/run.py [--runs 2] [--scales 20,100] [--engines ...]
  python3 bench/storage-spike/run.py --report raw/A.jsonl [raw/B.jsonl ...]   # tables only
"""
import argparse, json, os, shutil, subprocess, sys, time, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "target", "release", "spike")
ENGINES = ["redb", "fjall", "fjall-flush", "pages", "memory"]
STEP_TIMEOUT_S = 330  # the binary itself stops reads/updates after SPIKE_BUDGET_S (240 s)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def step(log, meta, args):
    t = time.time()
    env = dict(os.environ, SPIKE_BUDGET_S="240")
    try:
        p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, env=env)
        wall = time.time() - t
        rec = {"ok": p.returncode == 0, "rc": p.returncode}
        for line in p.stdout.splitlines():
            if line.startswith("RESULT "):
                rec.update(json.loads(line[7:]))
        if p.returncode != 0:
            rec["stderr"] = p.stderr[-2000:]
    except subprocess.TimeoutExpired:
        wall = time.time() - t
        rec = {"ok": False, "timeout": True}
    rec.update(meta)
    rec["argv"] = "spike " + " ".join(args)
    rec["process_wall_s"] = round(wall, 3)
    print(json.dumps(rec), flush=True)
    log.write(json.dumps(rec) + "\n")
    log.flush()
    return rec


def run_matrix(first, runs, scales, engines, warm_n, cold_n, upd_n, log):
    for run in range(first, first + runs):
        for scale in scales:
            free_gb = shutil.disk_usage("/work").free / 1e9
            if scale >= 100 and free_gb < 20:
                log.write(json.dumps({"run": run, "scale": scale, "skipped": f"only {free_gb:.1f} GB free"}) + "\n")
                continue
            rows = scale * 100_000
            log.write(json.dumps({"run": run, "scale": scale, "uptime_before": sh("uptime"), "free_gb": round(free_gb, 1)}) + "\n")
            for eng in engines:
                d = os.path.join(HERE, f"data-r{run}-s{scale}-{eng}")
                shutil.rmtree(d, ignore_errors=True)
                m = {"run": run, "scale": scale, "engine": eng}
                r = step(log, m, ["load", eng, d, str(rows)])
                if r.get("ok"):
                    step(log, m, ["open", eng, d])
                    step(log, m, ["read", eng, d, str(warm_n)])
                    step(log, m, ["read", eng, d, str(cold_n), "--cold"])
                    step(log, m, ["scan", eng, d])
                    step(log, m, ["update", eng, d, str(upd_n)])
                shutil.rmtree(d, ignore_errors=True)
            log.write(json.dumps({"run": run, "scale": scale, "uptime_after": sh("uptime")}) + "\n")
            log.flush()


def run_crash(scales, engines, n, log):
    """load, `crash` (n non-durable updates, a durable commit, n more, _exit), then open."""
    for scale in scales:
        rows = scale * 100_000
        log.write(json.dumps({"crash": True, "scale": scale, "uptime_before": sh("uptime")}) + "\n")
        for eng in engines:
            d = os.path.join(HERE, f"data-crash-s{scale}-{eng}")
            shutil.rmtree(d, ignore_errors=True)
            m = {"run": "crash", "scale": scale, "engine": eng}
            if step(log, m, ["load", eng, d, str(rows)]).get("ok"):
                step(log, m, ["open", eng, d])
                if step(log, m, ["crash", eng, d, str(n)]).get("ok"):
                    r = step(log, m, ["open", eng, d])
                    r2 = step(log, m, ["open", eng, d])
            shutil.rmtree(d, ignore_errors=True)
        log.write(json.dumps({"crash": True, "scale": scale, "uptime_after": sh("uptime")}) + "\n")


def fmt(x, nd=0):
    if x is None:
        return "-"
    return f"{x:,.{nd}f}"


def report(paths, cmdline):
    recs = []
    for p in paths:
        with open(p) as f:
            recs += [json.loads(l) for l in f if l.strip()]
    by = {}
    notes = []
    crash = {}
    for r in recs:
        if r.get("run") == "crash":
            crash.setdefault((r["scale"], r["engine"]), []).append(r)
            continue
        if "cmd" in r or "timeout" in r or r.get("ok") is False:
            key = (r["run"], r["scale"], r["engine"])
            by.setdefault(key, {})[r.get("cmd") or r["argv"]] = r
            if not r.get("ok"):
                notes.append(f"run {r['run']} scale {r['scale']} {r['engine']}: `{r['argv']}` failed: "
                             + ("timeout" if r.get("timeout") else (r.get("stderr", "")[-300:].replace("\n", " "))))
        elif r.get("crash"):
            notes.append(f"crash run scale {r['scale']}: " + (f"uptime before: `{r['uptime_before']}`" if "uptime_before" in r else f"uptime after: `{r['uptime_after']}`"))
        elif "uptime_before" in r:
            notes.append(f"run {r['run']} scale {r['scale']}: uptime before: `{r['uptime_before']}`; /work free {r['free_gb']} GB")
        elif "uptime_after" in r:
            notes.append(f"run {r['run']} scale {r['scale']}: uptime after: `{r['uptime_after']}`")
        elif "skipped" in r:
            notes.append(f"run {r['run']} scale {r['scale']}: skipped: {r['skipped']}")
    out = []
    for run, scale in sorted({(k[0], k[1]) for k in by}):
        out.append(f"### Run {run}, scale {scale} ({scale * 100_000:,} accounts + {scale * 100_000:,} index entries)\n")
        out.append("| engine | load s | disk MB (B/row) | RSS after load MB (peak) | open+first read ms | RSS after open MB "
                   "| warm read mean/p99 us (n) | cold read mean/p99 us (n) | scan s / peak RSS MB | updates/s (n; excl. final commit) "
                   "| disk MB after updates |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for eng in ENGINES:
            s = by.get((run, scale, eng))
            if not s:
                continue
            g = lambda c, k: s.get(c, {}).get(k)
            L, O, W, C, S, U = (s.get(c, {}) for c in ["load", "open", "read_warm", "read_cold", "scan", "update"])
            cell = lambda r, a, b, n: (f"{fmt(r.get(a), 1)} / {fmt(r.get(b), 1)} ({fmt(r.get(n))})" if r else "-")
            out.append("| " + " | ".join([
                eng,
                fmt(L.get("load_s"), 1),
                f"{fmt(L.get('disk_mb'))} ({fmt(L.get('bytes_per_row'))})" if L else "-",
                f"{fmt(L.get('rss_end_mb'))} ({fmt(L.get('peak_rss_mb'))})" if L else "-",
                fmt(O.get("open_first_read_ms"), 1),
                fmt(O.get("rss_mb")),
                cell(W, "mean_us", "p99_us", "done"),
                cell(C, "mean_us", "p99_us", "done"),
                f"{fmt(S.get('secs'), 2)} / {fmt(S.get('peak_rss_mb'))}" if S else "-",
                f"{fmt(U.get('updates_per_s'))} ({fmt(U.get('done'))}; {fmt(U.get('updates_per_s_excl_checkpoint'))})" if U else "-",
                fmt(U.get("disk_mb_after")),
            ]) + " |")
        out.append("")
        # secondary figures, also measured in the same processes
        out.append("<details><summary>more figures from the same processes</summary>\n")
        out.append("| engine | load: close s | warm reads, 2nd half mean/p99 us | cold: open ms, 2nd half mean/p99 us, resident after evict | scan RSS at end MB | update: final durable commit s, RSS MB | load extra |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        for eng in ENGINES:
            s = by.get((run, scale, eng))
            if not s:
                continue
            L, W, C, S, U = (s.get(c, {}) for c in ["load", "read_warm", "read_cold", "scan", "update"])
            ev = C.get("evicted") or {}
            out.append("| " + " | ".join([
                eng,
                fmt(L.get("close_s"), 2),
                f"{fmt(W.get('mean_us_2nd_half'), 1)} / {fmt(W.get('p99_us_2nd_half'), 1)}",
                f"{fmt(C.get('open_ms'), 1)}, {fmt(C.get('mean_us_2nd_half'), 1)} / {fmt(C.get('p99_us_2nd_half'), 1)}, {fmt(ev.get('resident_after'))} B of {fmt(ev.get('bytes'))} B",
                fmt(S.get("rss_mb")),
                f"{fmt(U.get('checkpoint_s'), 2)}, {fmt(U.get('rss_mb'))}",
                L.get("extra", "") or "",
            ]) + " |")
        out.append("\n</details>\n")
    if crash:
        out.append("### Restart after an unclean exit (`python3 bench/storage-spike/run.py --crash N`)\n")
        out.append("load; open (clean); `spike crash`: N non-durable updates, one durable commit, N more "
                   "non-durable updates, `_exit(0)` with the engine not closed; then open twice.\n")
        out.append("| scale | engine | clean open+first read ms | open+first read ms after the crash (RSS MB) | next open ms |")
        out.append("|---:|---|---:|---:|---:|")
        for (scale, eng), rs in sorted(crash.items(), key=lambda kv: (kv[0][0], ENGINES.index(kv[0][1]))):
            opens = [r for r in rs if r.get("cmd") == "open"]
            bad = [r for r in rs if not r.get("ok")]
            c = lambda i: (f"{fmt(opens[i].get('open_first_read_ms'), 1)}" if len(opens) > i else "-")
            cr = (f"{c(1)} ({fmt(opens[1].get('rss_mb'))})" if len(opens) > 1 else "-")
            out.append(f"| {scale} | {eng} | {c(0)} | {cr} | {c(2)} |" + (" FAILED" if bad else ""))
            for b in bad:
                notes.append(f"crash scale {scale} {eng}: `{b['argv']}` failed: " + (b.get("stderr", "") or "timeout")[-300:].replace("\n", " "))
        out.append("")
    body = "\n".join(out)
    return body, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--first-run", type=int, default=1, help="number of the first run (to label a later invocation)")
    ap.add_argument("--scales", default="20,100")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--warm", type=int, default=1_000_000)
    ap.add_argument("--cold", type=int, default=100_000)
    ap.add_argument("--updates", type=int, default=100_000)
    ap.add_argument("--crash", type=int, default=0, help="instead of the matrix: restart after _exit with N+N updates")
    ap.add_argument("--report", nargs="*", help="only write the tables from these raw files")
    a = ap.parse_args()
    cmdline = "python3 bench/storage-spike/run.py " + " ".join(sys.argv[1:])
    if a.report:
        paths = a.report
    else:
        print(sh(f"df -h /work"), flush=True)
        b = subprocess.run(["cargo", "build", "--release"], cwd=HERE)
        if b.returncode != 0:
            sys.exit("build failed")
        os.makedirs(os.path.join(HERE, "raw"), exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(HERE, "raw", f"{stamp}.jsonl")
        with open(path, "w") as log:
            log.write(json.dumps({"cmdline": cmdline, "uptime_start": sh("uptime"), "df": sh("df -h /work")}) + "\n")
            if a.crash:
                run_crash([int(x) for x in a.scales.split(",")], a.engines.split(","), a.crash, log)
            else:
                run_matrix(a.first_run, a.runs, [int(x) for x in a.scales.split(",")], a.engines.split(","), a.warm, a.cold, a.updates, log)
            log.write(json.dumps({"uptime_end": sh("uptime")}) + "\n")
        paths = [path]
    body, notes = report(paths, cmdline)
    out = os.path.splitext(paths[-1])[0] + ".tables.md"
    with open(out, "w") as f:
        f.write(body + "\n\n### Notes from the driver\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    print(body)
    print("\n".join(notes))
    print(f"tables written to {out} (raw: {', '.join(paths)})")


if __name__ == "__main__":
    main()
