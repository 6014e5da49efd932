#!/usr/bin/env python3
"""Intake, build against build, in alternating phases: the fair comparison of two commits.

    python3 tests/bench/ab.py [--seconds 8] [--rounds 3] [--phases delivery,stored] [--threads]
                              [--ids random|ordered] BUILD_A BUILD_B [BUILD ...]

The machine's speed drifts by more than a change moves intake (verifying baselines minutes apart
differ by 15 % and more), so one run of each build says little. Here each round runs every phase
of every build in turn, each on a fresh server (the test plugin installed in one workspace, as in
`run.py`'s intake), with `run.py`'s load generator: 64 connections, closed loop; "delivery" sends
a topic the test plugin takes, "stored" one it does not. Each phase prints its rate, p99 and the
server's CPU per answered webhook (user + system, from /proc) and the load generator's (which
shares the machine's CPUs), with --threads each server thread's share and how the store's one
connection was shared (`run.connection_sharing`), the log's syncs and checkpoints
(`run.log_syncs`, `run.log_checkpoints`); the summary gives every round's rate and the means.

A BUILD is a build folder (`cmake -B DIR`, with bench_loadgen built in the first one); the test
plugin comes from the first build, so the builds must share its SDK major version.
"""

import argparse
import importlib.util
import os
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_run(first_build):
    """run.py as a module, its harness pointed at the first build (plugins, load generator)."""
    os.environ.setdefault("SWITCHBOARD_BUILD", str(first_build))
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    return run


def thread_ticks(pid):
    """Each thread's user + system clock ticks so far, by "name/id" (the loop is the first)."""
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        ticks[f"{name}/{tid}"] = int(fields[11]) + int(fields[12])
    return ticks


def children_cpu():
    """CPU seconds of this process's children that have ended (the load generator, once done)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_phase(run, build, phase, seconds, show_threads):
    """A fresh server of build, one load phase: (req/s, p99 ms, server and load generator CPU µs
    per answered webhook)."""
    run.harness.BIN = Path(build) / "switchboard"
    fake = run.new_fake()
    fake.add_workspace("ws0", "Bench")
    srv = run.BenchServer(plugins={"testplug": run.harness.Server.plugin_config()},
                          intercom=fake, settings=run.bench_settings())
    try:
        srv.start()
        if srv.install("testplug", "ws0").status != 200:
            raise SystemExit(f"{build}: the test plugin's install failed")
        run.wait_jobs_idle(srv)
        topic = {} if phase == "delivery" else {"topic": "conversation.admin.noted"}
        cpu_before, ticks_before = run.cpu_seconds(srv.proc.pid), thread_ticks(srv.proc.pid)
        loadgen_before = children_cpu()
        metrics_before = run.metrics(srv)
        load = run.loadgen(srv.port, "/webhooks/testplug", run.CLIENT_SECRET, 64, seconds, **topic)
        cpu = run.cpu_seconds(srv.proc.pid) - cpu_before
        metrics_after = run.metrics(srv)
        sharing = run.connection_sharing(metrics_before, metrics_after, load["seconds"])
        loadgen_cpu = children_cpu() - loadgen_before
        answered = max(1, load["status_2xx"])
        if show_threads:
            hz, after = os.sysconf("SC_CLK_TCK"), thread_ticks(srv.proc.pid)
            shares = [f"{name} {(t - ticks_before.get(name, 0)) / hz / answered * 1e6:.1f}"
                      for name, t in sorted(after.items(), key=lambda kv: int(kv[0].split("/")[1]))
                      if t > ticks_before.get(name, 0)]
            print("    CPU µs per webhook by thread: " + ", ".join(shares), flush=True)
            print("    store connection held by turn gathers / commit thread; loop waited: "
                  + sharing, flush=True)
            print("    log syncs: " + run.log_syncs(metrics_before, metrics_after, load["seconds"])
                  + "; checkpoints: "
                  + run.log_checkpoints(metrics_before, metrics_after, load["seconds"]), flush=True)
        run.wait_jobs_idle(srv, timeout=300)
        return load["rps"], load["p99_ms"], cpu / answered * 1e6, loadgen_cpu / answered * 1e6
    finally:
        srv.stop()
        srv.close()
        fake.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builds", nargs="+", type=Path)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--phases", default="delivery,stored")
    ap.add_argument("--threads", action="store_true", help="each thread's CPU per webhook")
    ap.add_argument("--ids", choices=("random", "ordered"), default="random",
                    help="the notifications' ids: as Intercom's (default), or in order")
    args = ap.parse_args()
    if len(args.builds) < 2:
        ap.error("two builds or more")
    phases = args.phases.split(",")
    if any(p not in ("delivery", "stored") for p in phases):
        ap.error("phases are delivery and stored")
    for build in args.builds:
        if not (build / "switchboard").exists():
            ap.error(f"{build}/switchboard is missing: build it first")
    run = load_run(args.builds[0].resolve())
    run.LOAD_IDS = args.ids
    results = {}
    for round_no in range(1, args.rounds + 1):
        for build in args.builds:
            for phase in phases:
                rps, p99, cpu, loadgen = one_phase(run, build.resolve(), phase, args.seconds,
                                                   args.threads)
                results.setdefault((str(build), phase), []).append((rps, cpu))
                print(f"round {round_no}  {str(build):30s} {phase:8s} {rps:8.0f} req/s  "
                      f"p99 {p99:6.2f} ms  CPU {cpu:6.1f} µs/webhook "
                      f"(load generator {loadgen:4.1f})", flush=True)
    print("\nsummary (req/s by round; means)")
    for (build, phase), values in results.items():
        rates = " ".join(f"{rps:7.0f}" for rps, _ in values)
        mean_rps = sum(rps for rps, _ in values) / len(values)
        mean_cpu = sum(cpu for _, cpu in values) / len(values)
        print(f"{build:30s} {phase:8s} {rates}   mean {mean_rps:7.0f} req/s, "
              f"{mean_cpu:6.1f} µs/webhook")


if __name__ == "__main__":
    sys.exit(main())
