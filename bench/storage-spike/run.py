#!/usr/bin/env python3
"""Driver for the storage spike (python3 stdlib only).

Builds `spike` with `cargo build --release` in this directory, then for each run, scale and
engine runs load, open, read (warm), read --cold, scan, update, each as its own process in a
fresh data directory under this directory (deleted after the engine's steps). Raw results go to
raw/<stamp>.jsonl (one JSON object per step), the tables to raw/<stamp>.tables.md (copied by
hand into bench/results/2026-12-07-storage-spike.md with the observations).

  python3 bench/storage-spike/run.py [--runs 2] [--scales 20,100] [--engines ...]
  python3 bench/storage-spike/run.py --report raw/A.jsonl [raw/B.jsonl ...]   # tables only

redb as a checkpoint-only base (engines `redb` and `redb-quick` = set_quick_repair(true)):
  python3 bench/storage-spike/run.py --ckpt-crash 100000 --runs 2 --scales 20,100
  python3 bench/storage-spike/run.py --ckpt-rounds 5 --runs 2 --scales 20,100
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


def run_ckpt_crash(first, runs, scales, n, log):
    """Q1: load, one durable checkpoint transaction of n random row overwrites, _exit, open twice."""
    for scale in scales:
        free_gb = shutil.disk_usage("/work").free / 1e9
        if scale >= 100 and free_gb < 15:
            log.write(json.dumps({"q": "crash", "scale": scale, "skipped": f"only {free_gb:.1f} GB free"}) + "\n")
            continue
        rows = scale * 100_000
        for run in range(first, first + runs):
            log.write(json.dumps({"q": "crash", "run": run, "scale": scale, "uptime_before": sh("uptime"), "free_gb": round(free_gb, 1)}) + "\n")
            for eng in ["redb", "redb-quick"]:
                d = os.path.join(HERE, f"data-ckc-r{run}-s{scale}-{eng}")
                shutil.rmtree(d, ignore_errors=True)
                m = {"q": "crash", "run": run, "scale": scale, "engine": eng}
                if step(log, m, ["load", eng, d, str(rows)]).get("ok"):
                    if step(log, m, ["ckpt", eng, d, str(n), "1", "--crash", "--seed", str(100 + run)]).get("ok"):
                        step(log, m, ["open", eng, d])
                        step(log, m, ["open", eng, d])
                shutil.rmtree(d, ignore_errors=True)
            log.write(json.dumps({"q": "crash", "run": run, "scale": scale, "uptime_after": sh("uptime")}) + "\n")
            log.flush()


CKPT_CONFIGS = {  # scale -> [(engine, n, order)]
    20: [("redb", 10_000, "random"), ("redb", 100_000, "random"), ("redb", 1_000_000, "random"),
         ("redb", 100_000, "sorted"), ("redb-quick", 100_000, "random")],
    100: [("redb", 100_000, "random"), ("redb", 1_000_000, "random"), ("redb", 100_000, "sorted"),
          ("redb-quick", 100_000, "random")],
}


def run_ckpt_rounds(first, runs, scales, k, log, configs=None):
    """Q2: per configuration, a fresh load, then one process of k durable checkpoint transactions.
    configs: "engine:n:order,..." for every scale instead of CKPT_CONFIGS."""
    for scale in scales:
        free_gb = shutil.disk_usage("/work").free / 1e9
        if scale >= 100 and free_gb < 15:
            log.write(json.dumps({"q": "rounds", "scale": scale, "skipped": f"only {free_gb:.1f} GB free"}) + "\n")
            continue
        rows = scale * 100_000
        for run in range(first, first + runs):
            log.write(json.dumps({"q": "rounds", "run": run, "scale": scale, "uptime_before": sh("uptime"), "free_gb": round(free_gb, 1)}) + "\n")
            cfgs = [(c.split(":")[0], int(c.split(":")[1]), c.split(":")[2]) for c in configs.split(",")] if configs else CKPT_CONFIGS[scale]
            for eng, n, order in cfgs:
                d = os.path.join(HERE, f"data-ckr-r{run}-s{scale}-{eng}-{n}-{order}")
                shutil.rmtree(d, ignore_errors=True)
                m = {"q": "rounds", "run": run, "scale": scale, "engine": eng}
                if step(log, m, ["load", eng, d, str(rows)]).get("ok"):
                    args = ["ckpt", eng, d, str(n), str(k), "--seed", str(200 + run)]
                    if order == "sorted":
                        args.append("--sorted")
                    step(log, m, args)
                shutil.rmtree(d, ignore_errors=True)
            log.write(json.dumps({"q": "rounds", "run": run, "scale": scale, "uptime_after": sh("uptime")}) + "\n")
            log.flush()


def report_ckpt(recs):
    out, notes = [], []
    crash = [r for r in recs if r.get("q") == "crash" and ("cmd" in r or r.get("ok") is False)]
    rounds = [r for r in recs if r.get("q") == "rounds" and ("cmd" in r or r.get("ok") is False)]
    for r in recs:
        if r.get("q") and not ("cmd" in r or r.get("ok") is False):
            k = [x for x in ("uptime_before", "uptime_after", "skipped") if x in r]
            if k:
                notes.append(f"{r['q']} run {r.get('run', '-')} scale {r['scale']}: {k[0]}: `{r[k[0]]}`")
    for r in crash + rounds:
        if not r.get("ok"):
            notes.append(f"{r['q']} run {r['run']} scale {r['scale']} {r['engine']}: `{r['argv']}` failed: "
                         + ("timeout" if r.get("timeout") else r.get("stderr", "")[-300:].replace("\n", " ")))
    if crash:
        out.append("| scale | engine | run | load s | checkpoint txn s (commit s) | file MB du / len after checkpoint "
                   "| open+first read ms after the crash (repair callback calls) | RSS MB after that open (peak) | next open+first read ms (repair calls) |")
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        groups = {}
        for r in crash:
            groups.setdefault((r["scale"], r["run"], r["engine"]), []).append(r)
        for (scale, run, eng), rs in sorted(groups.items()):
            L = next((r for r in rs if r.get("cmd") == "load"), {})
            C = next((r for r in rs if r.get("cmd") == "ckpt"), {})
            O = [r for r in rs if r.get("cmd") == "open"]
            rd = (C.get("rounds") or [{}])[0]
            o = lambda i: (f"{fmt(O[i].get('open_first_read_ms'), 1)} ({O[i].get('repair_callback_calls')})" if len(O) > i else "-")
            out.append("| " + " | ".join([
                str(scale), eng, str(run), fmt(L.get("load_s"), 1),
                f"{fmt(rd.get('txn_s'), 2)} ({fmt(rd.get('commit_s'), 2)})",
                f"{fmt(rd.get('du_mb'))} / {fmt(rd.get('len_mb'))}",
                o(0),
                (f"{fmt(O[0].get('rss_mb'))} ({fmt(O[0].get('peak_rss_mb'))})" if O else "-"),
                o(1),
            ]) + " |")
        out.append("")
    if rounds:
        out.append("| scale | engine | N | order | run | load s; file MB du / len after load | txn s per round (commit s) | du MB after each round | len MB after each round | RSS MB peak | close s; du / len MB after close |")
        out.append("|---:|---|---:|---|---:|---|---|---|---|---:|---|")
        groups = {}
        for r in rounds:
            groups.setdefault((r["scale"], r["run"], r["engine"]), []).append(r)
        rows = []
        for (scale, run, eng), rs in groups.items():
            # a load followed by its ckpt, in log order
            L = None
            for r in rs:
                if r.get("cmd") == "load":
                    L = r
                elif r.get("cmd") == "ckpt" or not r.get("ok"):
                    rows.append((scale, r.get("n", 0), r.get("order", "?"), eng, run, L or {}, r))
        for scale, n, order, eng, run, L, C in sorted(rows, key=lambda x: (x[0], x[3], x[1], x[2], x[4])):
            rd = C.get("rounds") or []
            out.append("| " + " | ".join([
                str(scale), eng, fmt(n), order, str(run),
                f"{fmt(L.get('load_s'), 1)}; {fmt(C.get('du_mb_before'))} / {fmt(C.get('len_mb_before'))}",
                " / ".join(f"{x['txn_s']:.2f} ({x['commit_s']:.2f})" for x in rd),
                " / ".join(fmt(x["du_mb"]) for x in rd),
                " / ".join(fmt(x["len_mb"]) for x in rd),
                fmt(C.get("peak_rss_mb")),
                f"{fmt(C.get('close_s'), 2)}; {fmt(C.get('du_mb_after_close'))} / {fmt(C.get('len_mb_after_close'))}",
            ]) + " |" + ("" if C.get("ok") else " FAILED"))
        out.append("")
    return "\n".join(out), notes


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
    if any(r.get("q") for r in recs):
        return report_ckpt(recs)
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
    ap.add_argument("--ckpt-crash", type=int, default=0, help="Q1: redb vs redb-quick, one durable checkpoint of N updates, _exit, open twice")
    ap.add_argument("--ckpt-rounds", type=int, default=0, help="Q2: K durable checkpoint rounds per configuration (CKPT_CONFIGS)")
    ap.add_argument("--ckpt-configs", default=None, help="with --ckpt-rounds: engine:n:order,... (default CKPT_CONFIGS)")
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
            if a.ckpt_crash:
                run_ckpt_crash(a.first_run, a.runs, [int(x) for x in a.scales.split(",")], a.ckpt_crash, log)
            elif a.ckpt_rounds:
                run_ckpt_rounds(a.first_run, a.runs, [int(x) for x in a.scales.split(",")], a.ckpt_rounds, log, a.ckpt_configs)
            elif a.crash:
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
