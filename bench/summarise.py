"""Summarises one bench/run.sh run: medians over repetitions, every figure
as a fraction of its ceiling, checked against the performance targets.

    summarise.py WORK_DIR RUNS OUT_JSON   (prints a Markdown report)
"""

import json
import os
import statistics
import sys

# The tuned Node stack's VerifyAccess rate from the performance targets'
# reference table (another 2-vCPU machine): the target is 5x that.
NODE_TUNED_VERIFY = 2836.0


def load(path):
    with open(path) as f:
        return json.load(f)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# The closed-loop runs of bench/run.sh, by name.
CLOSED_LOOP = ("noop", "issue", "refresh", "verify", "mix", "issue_claims1k", "refresh_claims1k")


def main():
    work, runs, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    meta = load(os.path.join(work, "meta.json"))
    per_run = []
    for r in range(1, runs + 1):
        entry = {"ceilings": load(os.path.join(work, "r%d-ceilings.json" % r)), "bench": {}}
        for name in ("noop", "issue", "refresh", "verify", "mix",
                     "issue_half", "refresh_half", "verify_half",
                     "issue_claims1k", "refresh_claims1k"):
            path = os.path.join(work, "r%d-%s.json" % (r, name))
            if os.path.exists(path):
                entry["bench"][name] = load(path)
        per_run.append(entry)

    def ceiling(key):
        return median([run["ceilings"].get(key) for run in per_run])

    def bench(name, field):
        values = []
        for run in per_run:
            b = run["bench"].get(name)
            if b is None:
                continue
            total = b["total"]
            if field == "throughput":
                values.append(total["throughput"])
            elif field == "errors":
                values.append(sum(total["errors"].values()))
            else:
                values.append(total["latency_ms"][field])
        return median(values)

    sign = ceiling("rsa_sign_per_s")
    verify_rsa = ceiling("rsa_verify_per_s")
    pg_issue = ceiling("pg_issue_tps")
    pg_refresh = ceiling("pg_refresh_tps")
    noop = bench("noop", "throughput")
    med = {
        "ceilings": {"rsa_sign_per_s": sign, "rsa_verify_per_s": verify_rsa,
                     "pg_issue_tps": pg_issue, "pg_refresh_tps": pg_refresh,
                     "grpc_noop_per_s": noop,
                     "sign_plus_pg_issue_per_s":
                         1 / (1 / sign + 1 / pg_issue) if sign and pg_issue else None,
                     "sign_plus_pg_refresh_per_s":
                         1 / (1 / sign + 1 / pg_refresh) if sign and pg_refresh else None},
        "throughput": {n: bench(n, "throughput") for n in CLOSED_LOOP},
        "p50_ms": {n: bench(n, "p50") for n in CLOSED_LOOP},
        "p99_ms": {n: bench(n, "p99") for n in CLOSED_LOOP},
        "p99_9_ms": {n: bench(n, "p99_9") for n in CLOSED_LOOP},
        "half_rate": {n: bench(n + "_half", "throughput") for n in ("issue", "refresh", "verify")},
        "half_p50_ms": {n: bench(n + "_half", "p50") for n in ("issue", "refresh", "verify")},
        "half_p99_ms": {n: bench(n + "_half", "p99") for n in ("issue", "refresh", "verify")},
        "errors": {n: bench(n, "errors") for n in CLOSED_LOOP + (
            "issue_half", "refresh_half", "verify_half")},
    }

    def frac(a, b):
        return a / b if a is not None and b else None

    def combined(a, b):
        return 1.0 / (1.0 / a + 1.0 / b) if a and b else None

    tp = med["throughput"]
    targets = [
        {"what": "IssueTokens throughput / RS256 sign ceiling", "value": frac(tp["issue"], sign),
         "target": 0.70, "kind": "min"},
        {"what": "RefreshTokens throughput / RS256 sign ceiling",
         "value": frac(tp["refresh"], sign), "target": 0.70, "kind": "min"},
        {"what": "VerifyAccess throughput / no-op gRPC call", "value": frac(tp["verify"], noop),
         "target": 0.60, "kind": "min"},
        {"what": "VerifyAccess throughput / tuned Node stack (2,836/s)",
         "value": frac(tp["verify"], NODE_TUNED_VERIFY), "target": 5.0, "kind": "min"},
        {"what": "IssueTokens p99 at half of peak (ms)", "value": med["half_p99_ms"]["issue"],
         "target": 5.0, "kind": "max"},
        {"what": "RefreshTokens p99 at half of peak (ms)", "value": med["half_p99_ms"]["refresh"],
         "target": 5.0, "kind": "max"},
        {"what": "VerifyAccess p99 at half of peak (ms)", "value": med["half_p99_ms"]["verify"],
         "target": 1.0, "kind": "max"},
    ]
    for t in targets:
        v = t["value"]
        t["met"] = None if v is None else (v >= t["target"] if t["kind"] == "min"
                                           else v <= t["target"])

    result = {"meta": meta, "runs": per_run, "median": med, "targets": targets}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")

    def fmt(v, digits=0):
        return "–" if v is None else ("{:,.%df}" % digits).format(v)

    def pct(v):
        return "–" if v is None else "{:.0f} %".format(100 * v)

    loads = [run["ceilings"].get("loadavg_1m_before") for run in per_run]
    print("Machine: %s, %s vCPU (%s), %s GiB; %s; %s; gRPC %s." % (
        meta["cpu_model"], meta["nproc"], meta["hypervisor"] or "bare metal",
        meta["mem_total_gib"], meta["openssl"], meta["postgresql"], meta["grpc"]))
    print("Load average (1 min) when each run started: %s; at the end: %s.%s\n" % (
        ", ".join(str(x) for x in loads), meta["loadavg_1m_at_end"],
        " Pinned: server and PostgreSQL on CPU 0, load generators on CPU 1."
        if meta["pinned"] else " Not pinned: load generator, server and PostgreSQL share "
        "every core."))
    print("### Ceilings (median of %d runs)\n" % runs)
    print("| ceiling | per second |")
    print("|---|---|")
    print("| RS256 sign, `openssl speed -multi %s rsa2048` | %s |" % (meta["nproc"], fmt(sign)))
    print("| RS256 verify, same command | %s |" % fmt(verify_rsa))
    print("| gRPC no-op (health Check), %s in flight | %s |" % (meta["concurrency"], fmt(noop)))
    print("| PostgreSQL, IssueTokens statements, pgbench -c %s | %s |" % (meta["pool"],
                                                                        fmt(pg_issue)))
    print("| PostgreSQL, RefreshTokens statements, pgbench -c %s | %s |" % (meta["pool"],
                                                                          fmt(pg_refresh)))
    print()
    print("### Throughput at %s in flight (median of %d runs)\n" % (meta["concurrency"], runs))
    print("| operation | calls/s | p50 ms | p99 ms | p99.9 ms | errors | of RS256 sign "
          "| of PostgreSQL | of sign + PostgreSQL | of gRPC no-op |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [("IssueTokens", "issue", sign, pg_issue), ("RefreshTokens", "refresh", sign,
                                                       pg_refresh),
            ("VerifyAccess", "verify", None, None), ("mix 10/20/70", "mix", None, None),
            ("no-op (health)", "noop", None, None)]
    for label, key, sign_ceiling, pg_ceiling in rows:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, fmt(tp[key]), fmt(med["p50_ms"][key], 2), fmt(med["p99_ms"][key], 2),
            fmt(med["p99_9_ms"][key], 2), fmt(med["errors"][key]),
            pct(frac(tp[key], sign_ceiling)), pct(frac(tp[key], pg_ceiling)),
            pct(frac(tp[key], combined(sign_ceiling, pg_ceiling))), pct(frac(tp[key], noop))))
    print()
    print("\"sign + PostgreSQL\" is 1 / (1/sign + 1/PostgreSQL): the rate at which the same "
          "cores could both sign and run the statements, each measured alone on the whole "
          "machine.")
    print()
    print("### Custom claims: a 1 KiB claims object on every session vs none "
          "(same run, median of %d runs)\n" % runs)
    print("| operation | calls/s without | calls/s with 1 KiB | ratio | p99 ms without "
          "| p99 ms with |")
    print("|---|---|---|---|---|---|")
    for label, key in (("IssueTokens", "issue"), ("RefreshTokens", "refresh")):
        claims = key + "_claims1k"
        print("| %s | %s | %s | %s | %s | %s |" % (
            label, fmt(tp[key]), fmt(tp[claims]), pct(frac(tp[claims], tp[key])),
            fmt(med["p99_ms"][key], 2), fmt(med["p99_ms"][claims], 2)))
    print()
    print("### Latency at half of peak (open loop, median of %d runs)\n" % runs)
    print("| operation | offered calls/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for label, key in (("IssueTokens", "issue"), ("RefreshTokens", "refresh"),
                       ("VerifyAccess", "verify")):
        print("| %s | %s | %s | %s |" % (label, fmt(med["half_rate"][key]),
                                        fmt(med["half_p50_ms"][key], 2),
                                        fmt(med["half_p99_ms"][key], 2)))
    print()
    print("### Against the performance targets\n")
    print("| target | measured | required | met |")
    print("|---|---|---|---|")
    for t in targets:
        v = t["value"]
        shown = "–" if v is None else ("{:.2f}".format(v) if t["kind"] == "max" else
                                       ("{:.0f} %".format(100 * v) if t["target"] < 1.5
                                        else "{:.1f}x".format(v)))
        need = ("<= {:g}".format(t["target"]) if t["kind"] == "max" else
                (">= {:.0f} %".format(100 * t["target"]) if t["target"] < 1.5
                 else ">= {:g}x".format(t["target"])))
        print("| %s | %s | %s | %s |" % (t["what"], shown, need,
                                         {True: "yes", False: "**no**", None: "–"}[t["met"]]))


if __name__ == "__main__":
    main()
